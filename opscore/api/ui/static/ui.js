// The page's entry point: log in with an API key, then show the page and keep it live.

import { ApiError, Unauthorized, apiKey, request } from "./api.js";
import { coalesce, showProblem } from "./dom.js";
import { followChanges } from "./live.js";
import { agentPage } from "./agent.js";
import { overviewPage } from "./overview.js";
import { runPage } from "./run.js";

const PAGES = { overview: overviewPage, run: runPage, agent: agentPage };
const MODES = { stream: "live", polling: "live (polling)", reconnecting: "reconnecting…", stopped: "not updating" };

const loginForm = document.getElementById("login");
const content = document.getElementById("content");
const logoutButton = document.getElementById("logout");
const liveStatus = document.getElementById("live-status");
let stopFollowing = () => {};

function showLogin(message = "") {
  stopFollowing();
  content.hidden = true;
  logoutButton.hidden = true;
  loginForm.hidden = false;
  document.getElementById("login-error").textContent = message;
  setMode("idle");
  loginForm.elements.key.focus();
}

function setMode(mode) {
  liveStatus.dataset.mode = mode;
  liveStatus.textContent = MODES[mode] || "not connected";
}

async function logIn(event) {
  event.preventDefault();
  const key = loginForm.elements.key.value.trim();
  apiKey.set(key);
  try {
    await request("/v1/agents?page_size=1");
  } catch (error) {
    apiKey.clear();
    showLogin(error instanceof Unauthorized ? "That key was not accepted." : `Cannot reach the service: ${error.message}`);
    return;
  }
  loginForm.reset();
  showPage();
}

function logOut() {
  apiKey.clear();
  showLogin();
}

function showPage() {
  loginForm.hidden = true;
  content.hidden = false;
  logoutButton.hidden = false;
  const page = PAGES[document.body.dataset.page]();
  const refresh = coalesce(async () => {
    try {
      await page.refresh();
      showProblem(null);
    } catch (error) {
      if (error instanceof Unauthorized) {
        apiKey.clear();
        showLogin("The key is no longer accepted: log in again.");
      } else {
        showProblem(error instanceof ApiError ? error.message : `Cannot reach the service: ${error.message}`);
      }
    }
  });
  refresh();
  stopFollowing = followChanges((event) => (page.concerns(event) ? refresh() : undefined), setMode);
}

loginForm.addEventListener("submit", logIn);
logoutButton.addEventListener("click", logOut);
if (apiKey.get()) {
  showPage();
} else {
  showLogin();
}
