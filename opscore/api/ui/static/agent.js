// One agent: its facts, its machine with the current state, its sessions and its history.

import { ApiError, getJson, getText } from "./api.js";
import { drawDiagram } from "./diagram.js";
import { badge, el, fillTable, historyRow, showMissing, time } from "./dom.js";

function sessionRow(session) {
  return el(
    "tr",
    { "data-session-id": session.id },
    el("td", {}, el("code", {}, session.id)),
    el("td", { class: "session-state" }, badge(session.state)),
    el("td", {}, `${session.machine.name} v${session.machine.version}`),
    el("td", {}, time(session.created_at)),
    el("td", {}, time(session.updated_at)),
  );
}

function showFacts(agent) {
  const text = (id, value) => {
    document.getElementById(id).textContent = value;
  };
  text("agent-id", agent.id);
  text("agent-name", agent.name || "");
  text("agent-machine", `${agent.machine.name} v${agent.machine.version}`);
  const state = document.getElementById("agent-state");
  state.textContent = agent.state;
  state.dataset.state = agent.state;
  text("agent-events", agent.allowed_events.join(", ") || "—");
  text("agent-capabilities", agent.capabilities.join(", ") || "—");
  document.getElementById("agent-created").replaceChildren(time(agent.created_at));
  document.getElementById("agent-updated").replaceChildren(time(agent.updated_at));
}

/** The agent page's refresh and what it does on a change; the id comes from the URL. */
export function agentPage() {
  const agentId = decodeURIComponent(location.pathname.split("/").pop());
  const base = `/v1/agents/${encodeURIComponent(agentId)}`;
  let etag = null;

  async function refresh() {
    let answer;
    try {
      answer = await getJson(base, { headers: etag ? { "If-None-Match": etag } : {} });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        showMissing("agent", `There is no agent ${agentId}: it was never registered, or it was deleted.`);
        return;
      }
      throw error;
    }
    if (answer.notModified) {
      return;
    }
    etag = answer.etag;
    showMissing("agent", null);
    showFacts(answer.body);
    const [diagram, history, sessions] = await Promise.all([
      getText(`${base}/diagram`),
      getJson(`${base}/history?page_size=500`),
      getJson(`${base}/sessions?page_size=500`),
    ]);
    fillTable(document.getElementById("history"), history.body.map(historyRow));
    fillTable(document.getElementById("sessions"), [...sessions.body].reverse().map(sessionRow));
    const total = sessions.pagination ? sessions.pagination.total : sessions.body.length;
    document.getElementById("sessions-empty").hidden = total > 0;
    document.getElementById("sessions-count").textContent = `(${total})`;
    await drawDiagram(document.getElementById("diagram"), diagram);
  }
  return {
    refresh,
    concerns: (event) => event === null || event.agent_id === agentId,
  };
}
