// One run: its facts, its diagram, its steps and its history.

import { ApiError, getJson, getText } from "./api.js";
import { drawDiagram } from "./diagram.js";
import { badge, el, fillTable, historyRow, showMissing, stepStatus, time } from "./dom.js";

function stepRow(run, step) {
  const last = step.attempts.at(-1);
  const error = step.error ? `${step.error.name}: ${step.error.message}` : "";
  return el(
    "tr",
    { "data-step": step.name },
    el("td", {}, step.name),
    el("td", { class: "step-status" }, badge(stepStatus(run, step))),
    el(
      "td",
      { class: "attempts" },
      el("span", { class: "attempt-count" }, String(step.attempts.length)),
      last ? el("span", { class: "attempt-time" }, " · last started ", time(last.started_at)) : null,
    ),
    el("td", {}, error),
  );
}

function showFacts(run) {
  const text = (id, value) => {
    document.getElementById(id).textContent = value;
  };
  text("run-id", run.id);
  text("run-workflow", `${run.workflow.name} v${run.workflow.version}`);
  const state = document.getElementById("run-state");
  state.textContent = run.state;
  state.dataset.state = run.state;
  const current = document.getElementById("run-current");
  current.replaceChildren(...(run.pending ? [run.current_step, " ", badge(run.pending.status)] : ["—"]));
  const agent = document.getElementById("run-agent");
  agent.replaceChildren(
    run.agent_id ? el("a", { href: `/ui/agents/${encodeURIComponent(run.agent_id)}` }, el("code", {}, run.agent_id)) : "—",
  );
  document.getElementById("run-updated").replaceChildren(time(run.updated_at));
  const error = document.getElementById("run-error");
  error.hidden = !run.error;
  error.textContent = run.error ? `${run.error.name} in ${run.error.step}: ${run.error.message}` : "";
  document.getElementById("run-input").textContent = JSON.stringify(run.input, null, 2);
  fillTable(document.getElementById("steps"), run.steps.map((step) => stepRow(run, step)));
}

/** The run page's refresh and what it does on a change; the id comes from the URL. */
export function runPage() {
  const runId = decodeURIComponent(location.pathname.split("/").pop());
  const base = `/v1/runs/${encodeURIComponent(runId)}`;
  let etag = null;

  async function refresh() {
    let answer;
    try {
      answer = await getJson(base, { headers: etag ? { "If-None-Match": etag } : {} });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        showMissing("run", `There is no run ${runId}: check the id, or find the run on the overview.`);
        return;
      }
      throw error;
    }
    if (answer.notModified) {
      return;
    }
    etag = answer.etag;
    showMissing("run", null);
    showFacts(answer.body);
    const [diagram, history] = await Promise.all([
      getText(`${base}/diagram`),
      getJson(`${base}/history?page_size=500`),
    ]);
    fillTable(document.getElementById("history"), history.body.map(historyRow));
    await drawDiagram(document.getElementById("diagram"), diagram);
  }
  return {
    refresh,
    concerns: (event) => event === null || (event.kind === "run" && event.instance_id === runId),
  };
}
