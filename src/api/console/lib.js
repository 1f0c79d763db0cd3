// Shared helpers of the console's pages: DOM building, the token, API calls, the live event feed.
// Text always goes in through textContent (never innerHTML with data), so nothing from a lock,
// a guest name or an event can run as markup.
export const $ = (s, root = document) => root.querySelector(s);

/** el("td", {class: "x", "data-label": "Door"}, "text", childNode...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "hidden") node.hidden = true;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c);
  return node;
}

// A BLE lock's signal ({rssi, quality}) as the radio heard it: "−67 dBm, good" (a true minus sign).
export const dbm = (rssi) => `${rssi < 0 ? "\u2212" : ""}${Math.abs(rssi)} dBm`;
export const signalText = (sig) => (sig ? `${dbm(sig.rssi)}, ${sig.quality}` : "not heard yet");

const TOKEN_KEY = "lb-token";
export const session = { token: sessionStorage.getItem(TOKEN_KEY) ?? "" };
export function setToken(t) { session.token = t; sessionStorage.setItem(TOKEN_KEY, t); }

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; this.auth = status === 401; }
}

async function failure(res, path) {
  let code = "http_" + res.status, message = `${path}: HTTP ${res.status}`;
  try { const j = await res.json(); if (j.error) { code = j.error.code; message = j.error.message; } } catch { /* not JSON */ }
  return new ApiError(res.status, code, message);
}

export async function api(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${session.token}` } });
  if (!res.ok) throw await failure(res, path);
  return res.json();
}

/**
 * An installer action: JSON body, the token, NDJSON steps streamed to onStep as they happen.
 * Resolves with the action's response ({ok, result} or {ok: false, error}).
 */
export async function post(path, body, onStep = () => {}) {
  const res = await fetch(path, {
    method: "POST",
    headers: { authorization: `Bearer ${session.token}`, "content-type": "application/json", accept: "application/x-ndjson" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await failure(res, path);
  let response;
  for await (const line of lines(res)) {
    const msg = JSON.parse(line);
    if (msg.step !== undefined) onStep(msg.step);
    if (msg.response !== undefined) response = msg.response;
  }
  if (response === undefined) throw new ApiError(0, "no_response", "the hub closed the connection before answering");
  return response;
}

async function* lines(res) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) { const line = buf.slice(0, i); buf = buf.slice(i + 1); if (line.trim()) yield line; }
  }
  if (buf.trim()) yield buf;
}

// ---------------------------------------------------------------- the live feed
// One SSE stream for every page, read through fetch (EventSource cannot send the token).
// Listeners get each event: ({kind: "event"|"installer", data}); onReconnect after a gap.
const listeners = new Set();
export function onLive(fn) { listeners.add(fn); return () => listeners.delete(fn); }
export const live = { connected: false, lastSeq: null, received: 0 };

export async function follow(onState = () => {}) {
  for (;;) {
    try {
      const since = live.lastSeq === null ? "" : `?since=${live.lastSeq}`;
      const res = await fetch(`/api/events${since}`, { headers: { authorization: `Bearer ${session.token}`, accept: "text/event-stream" } });
      if (res.status === 401) { onState("refused"); return; }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      live.connected = true; onState("live");
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i); buf = buf.slice(i + 2);
          dispatch(block);
        }
      }
    } catch { /* reconnect below */ }
    live.connected = false; onState("reconnecting");
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function dispatch(block) {
  let type = "message", data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) type = line.slice(6).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trim();
  }
  if (!data) return;
  let parsed;
  try { parsed = JSON.parse(data); } catch { return; }
  const kind = type === "installer" || type === "hub" ? type : "event";
  live.received++;
  if (kind === "event" && typeof parsed.seq === "number") live.lastSeq = parsed.seq;
  for (const fn of listeners) { try { fn({ kind, data: parsed }); } catch (e) { console.error(e); } }
}

/** Calls fn at most once per `ms` however often it is asked (live refreshes on bursts of events). */
export function throttle(fn, ms) {
  let timer = null, again = false;
  const run = async () => { timer = null; try { await fn(); } catch (e) { console.error(e); } if (again) { again = false; schedule(); } };
  const schedule = () => { if (timer !== null) { again = true; return; } timer = setTimeout(run, ms); };
  return schedule;
}

// One formatter each, made once: Date#toLocaleString builds a new one per call (slow for 500 rows).
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
export const fmtTime = (iso) => (iso ? dateTime.format(new Date(iso)) : "never");
export const fmtClock = (iso) => (iso ? timeOnly.format(new Date(iso)) : "");
export const n = (x) => Number(x).toLocaleString("en-US");
