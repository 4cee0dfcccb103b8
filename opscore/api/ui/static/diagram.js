// Drawing Mermaid text with the Mermaid build the service serves (vendor/mermaid.min.js).

import { el } from "./dom.js";

let drawn = 0;
let initialized = false;
const sources = new WeakMap();

/** Draw `text` into `container` unless it already shows exactly that text. */
export async function drawDiagram(container, text) {
  if (sources.get(container) === text) {
    return;
  }
  sources.set(container, text);
  const mermaid = globalThis.mermaid;
  if (!mermaid) {
    container.replaceChildren(
      el("p", { class: "note" }, "Mermaid is not installed on the service (make ui-assets); the diagram as text:"),
      el("pre", { class: "mermaid-source" }, text),
    );
    return;
  }
  if (!initialized) {
    // "strict": labels are encoded and the SVG sanitized; no click handlers, no HTML.
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default" });
    initialized = true;
  }
  try {
    drawn += 1;
    const { svg } = await mermaid.render(`opscore-diagram-${drawn}`, text);
    container.innerHTML = svg; // Mermaid's own sanitized SVG (securityLevel "strict")
    container.dataset.drawn = String(drawn);
  } catch (error) {
    sources.delete(container);
    container.replaceChildren(
      el("p", { class: "error" }, `Mermaid could not draw this diagram: ${error.message || error}`),
      el("pre", { class: "mermaid-source" }, text),
    );
  }
}
