// How the page learns that something changed: the service's event stream when it has
// one (GET /v1/events/stream), else polling. Pages only ever call followChanges().
//
// The stream needs the X-API-Key header, which EventSource cannot send, so it is read
// with fetch() and a streaming body reader.

import { apiKey } from "./api.js";

const STREAM_PATH = "/v1/events/stream";
const POLL_INTERVAL_MS = 1500;
const RECONNECT_MS = 2000;

/**
 * Call onChange(event) for every transition the stream reports, or onChange(null)
 * ("anything may have changed") on every poll. onChange may be async: polls wait for it.
 * onMode(mode) tells "stream", "polling" or "reconnecting". Returns a function that stops.
 */
export function followChanges(onChange, onMode = () => {}) {
  const stop = new AbortController();
  follow(onChange, onMode, stop.signal).catch((error) => {
    if (!stop.signal.aborted) {
      console.error("live updates stopped", error);
      onMode("stopped");
    }
  });
  return () => stop.abort();
}

async function follow(onChange, onMode, signal) {
  while (!signal.aborted) {
    const outcome = await followStream(onChange, onMode, signal);
    if (outcome === "unavailable") {
      return followByPolling(onChange, onMode, signal);
    }
    onMode("reconnecting");
    await pause(RECONNECT_MS, signal);
  }
}

/** Poll: onChange(null) every POLL_INTERVAL_MS, never two at once. */
async function followByPolling(onChange, onMode, signal) {
  onMode("polling");
  while (!signal.aborted) {
    await pause(POLL_INTERVAL_MS, signal);
    if (!signal.aborted) {
      await onChange(null);
    }
  }
}

/**
 * Read the Server-Sent Events stream until it ends. Resolves "unavailable" when the
 * service has no stream (or refuses it), "ended" when an open stream closes or breaks.
 */
async function followStream(onChange, onMode, signal) {
  let response;
  try {
    response = await fetch(STREAM_PATH, {
      headers: { "X-API-Key": apiKey.get() || "", Accept: "text/event-stream" },
      cache: "no-store",
      signal,
    });
  } catch {
    return signal.aborted ? "ended" : "unavailable";
  }
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok || !type.startsWith("text/event-stream") || !response.body) {
    return "unavailable";
  }
  onMode("stream");
  onChange(null); // catch up on what changed before the stream opened
  try {
    for await (const message of serverSentEvents(response.body)) {
      if (message.event === "transition" && message.data) {
        onChange(JSON.parse(message.data));
      }
    }
  } catch (error) {
    if (!signal.aborted) {
      console.warn("event stream broke", error);
    }
  }
  return "ended";
}

/** Parse a text/event-stream body into {id, event, data} messages. */
export async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let message = { id: null, event: "message", data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return;
    }
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === "") {
        if (message.data.length) {
          yield { id: message.id, event: message.event, data: message.data.join("\n") };
        }
        message = { id: message.id, event: "message", data: [] };
        continue;
      }
      if (line.startsWith(":")) {
        continue; // a comment: keep-alive
      }
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") {
        message.data.push(value);
      } else if (field === "event") {
        message.event = value;
      } else if (field === "id") {
        message.id = value;
      }
    }
  }
}

function pause(milliseconds, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, milliseconds);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
