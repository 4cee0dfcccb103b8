// The overview: agents with their states, runs with their steps.

import { getJson } from "./api.js";
import { badge, el, fillTable, stepStatus, time } from "./dom.js";

const PAGE_SIZE = 100;

/** The newest items of a list endpoint (its last page), newest first, and the total. */
async function newest(path) {
  const first = await getJson(`${path}?page_size=${PAGE_SIZE}`);
  const pages = first.pagination ? first.pagination.total_pages : 1;
  const last = pages > 1 ? await getJson(`${path}?page_size=${PAGE_SIZE}&page=${pages}`) : first;
  const total = first.pagination ? first.pagination.total : first.body.length;
  return { items: [...last.body].reverse(), total };
}

function agentRow(agent) {
  return el(
    "tr",
    { "data-agent-id": agent.id },
    el("td", {}, el("a", { href: `/ui/agents/${encodeURIComponent(agent.id)}` }, el("code", {}, agent.id)), agent.name ? ` ${agent.name}` : ""),
    el("td", { class: "agent-state" }, badge(agent.state)),
    el("td", {}, `${agent.machine.name} v${agent.machine.version}`),
    el("td", {}, agent.capabilities.join(", ")),
    el("td", {}, time(agent.updated_at)),
  );
}

function stepChips(run) {
  return el(
    "ol",
    { class: "steps" },
    run.steps.map((step) => el("li", { "data-step": step.name }, step.name, " ", badge(stepStatus(run, step)))),
  );
}

function runRow(run) {
  const current = run.pending ? [run.current_step, " ", badge(run.pending.status)] : ["—"];
  return el(
    "tr",
    { "data-run-id": run.id },
    el("td", {}, el("a", { href: `/ui/runs/${encodeURIComponent(run.id)}` }, el("code", {}, run.id))),
    el("td", {}, `${run.workflow.name} v${run.workflow.version}`),
    el("td", { class: "run-state" }, badge(run.state)),
    el("td", { class: "run-current" }, ...current),
    el("td", {}, stepChips(run)),
    el("td", {}, run.agent_id ? el("a", { href: `/ui/agents/${encodeURIComponent(run.agent_id)}` }, el("code", {}, run.agent_id)) : "—"),
    el("td", {}, time(run.updated_at)),
  );
}

function showList(name, { items, total }, row) {
  fillTable(document.getElementById(name), items.map(row));
  document.getElementById(`${name}-empty`).hidden = total > 0;
  document.getElementById(`${name}-count`).textContent =
    total > items.length ? `(newest ${items.length} of ${total})` : `(${total})`;
}

/** The overview's refresh and what it does on a change. */
export function overviewPage() {
  async function refresh() {
    const [agents, runs] = await Promise.all([newest("/v1/agents"), newest("/v1/runs")]);
    showList("agents", agents, agentRow);
    showList("runs", runs, runRow);
  }
  return {
    refresh,
    concerns: (event) => event === null || ["agent", "run"].includes(event.kind),
  };
}
