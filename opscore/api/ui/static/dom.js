// Building DOM nodes from data: text always goes in as text, never as markup.

/** An element with attributes (null/false ones left out) and children (strings are text). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined && value !== false) {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return node;
}

/** A state or status as a labelled badge, coloured by ui.css from data-state. */
export function badge(state) {
  return el("span", { class: "state", "data-state": state }, state ?? "");
}

/**
 * A step's status as the page shows it: the current step's attempt status (waiting,
 * sleeping, retrying...) says more than its record's "running".
 */
export function stepStatus(run, step) {
  return run.pending && run.pending.step === step.name ? run.pending.status : step.status;
}

const WHEN = {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZoneName: "short",
};

/** An RFC 3339 timestamp as a local date, time and zone; the timestamp itself as its title. */
export function time(timestamp) {
  if (!timestamp) {
    return "";
  }
  return el("time", { datetime: timestamp, title: timestamp }, new Date(timestamp).toLocaleString(undefined, WHEN));
}

/** A transition record as a history table row: #, event, from, to, at. */
export function historyRow(record) {
  return el(
    "tr",
    { "data-seq": record.seq },
    el("td", {}, String(record.seq)),
    el("td", {}, record.event),
    el("td", {}, record.source),
    el("td", {}, record.dest),
    el("td", {}, time(record.at)),
  );
}

/**
 * On a page of one instance (`what`: run, agent): say it does not exist instead of
 * showing an empty skeleton, or (message null) show its details again.
 */
export function showMissing(what, message) {
  const missing = document.getElementById(`${what}-missing`);
  missing.textContent = message || "";
  missing.hidden = !message;
  document.getElementById(`${what}-details`).hidden = Boolean(message);
}

/** Replace the rows of a table's body. */
export function fillTable(table, rows) {
  table.tBodies[0].replaceChildren(...rows);
}

/** Show a problem above the content, or hide it (message null). */
export function showProblem(message) {
  const problem = document.getElementById("problem");
  problem.textContent = message || "";
  problem.hidden = !message;
}

/**
 * Wrap an async function so calls never overlap: a call made while one runs makes
 * exactly one more run after it.
 */
export function coalesce(task) {
  let running = null;
  let again = false;
  return async function run() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await task();
      } while (again);
    })();
    try {
      await running;
    } finally {
      running = null;
    }
  };
}
