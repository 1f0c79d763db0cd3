// Property page: every lock grouped by link, each with its state; live rows patched from the feed.
import { $, api, el, fmtTime, onLive, signalText, throttle } from "./lib.js";

const rows = new Map(); // lockId -> <tr>
let filter = "all";
let onAct = null; // set by the actions module: what a row's "Actions…" button does

export function setLockActions(fn) { onAct = fn; }

const cell = (label, text, cls) => el("td", { "data-label": label, class: cls }, text);
// Kinds the lock has no memory for (total 0) are left out: "doorCode 3/32, keycard 0/32".
const slots = (s) => Object.entries(s).filter(([, v]) => v.total !== 0 || v.used > 0).map(([k, v]) => `${k} ${v.used}/${v.total ?? "?"}`).join(", ") || "–";

function linkCell(l) {
  if (l.address !== null) return cell("Address", String(l.address));
  const td = cell("Signal", signalText(l.signal), `signal${l.signal?.quality === "weak" ? " alert" : ""}`);
  if (l.signal) td.title = `heard ${fmtTime(l.signal.at)}`;
  return td;
}

function fillRow(tr, l, json = JSON.stringify(l)) {
  tr.dataset.json = json;
  tr.dataset.online = String(l.online);
  tr.dataset.battery = String(l.battery ?? 100);
  tr.dataset.alerts = String(l.alerts.length);
  tr.dataset.state = l.state;
  tr.dataset.pending = String(l.pendingSlots);
  tr.replaceChildren(
    cell("Door", l.doorNames.join(", ") || l.lockId),
    linkCell(l),
    cell("State", l.state !== "commissioned" ? l.state.replace(/_/g, " ") : l.online ? "online" : "offline", l.online ? "online state" : "offline state"),
    cell("Battery", l.battery === null ? "–" : `${l.battery} %`),
    cell("Slots", `${slots(l.slots)}${l.pendingSlots > 0 ? ` · ${l.pendingSlots} to write` : ""}`),
    cell("Clock drift", l.clockDriftS === null ? "–" : `${l.clockDriftS} s`),
    cell("Last seen", fmtTime(l.lastSeen)),
    cell("Firmware", l.firmware ?? "–"),
    cell("Alerts", l.alerts.join("; "), "alert"),
    // One listener for every row's button (on #buses): rows are cheap to redraw.
    onAct ? el("td", { "data-label": "Actions", class: "row-actions" }, el("button", { type: "button", "data-act": l.lockId, "aria-label": `Actions for ${l.doorNames.join(", ") || l.lockId}` }, "Actions…")) : cell("Actions", ""),
  );
  applyFilter(tr);
}

function applyFilter(tr) {
  const d = tr.dataset;
  tr.hidden = filter === "offline" ? d.online === "true"
    : filter === "battery" ? Number(d.battery) > 25
    : filter === "alerts" ? d.alerts === "0"
    : filter === "service" ? d.state === "commissioned"
    : filter === "converging" ? d.pending === "0"
    : false;
}

const HEAD = ["Door", "Address", "State", "Battery", "Slots", "Clock drift", "Last seen", "Firmware", "Alerts", "Actions"];

export function render(buses) {
  const frag = document.createDocumentFragment();
  rows.clear();
  for (const b of buses) {
    const h = el("h3", {}, `${b.bus} — link ${b.link ?? "not open"} · timeouts ${b.errors.timeouts}, CRC ${b.errors.crcErrors}`);
    if (b.lastError) h.append(el("span", { class: "err" }, ` · ${b.lastError}`));
    const tbody = el("tbody");
    for (const l of b.locks) {
      const tr = el("tr", { "data-lock-id": l.lockId });
      fillRow(tr, l);
      rows.set(l.lockId, tr);
      tbody.append(tr);
    }
    // A BLE lock has no bus address: its column shows the signal strength instead.
    const head = b.bus === "ble" ? HEAD.map((t) => (t === "Address" ? "Signal" : t)) : HEAD;
    const table = el("table", {}, el("thead", {}, el("tr", {}, ...head.map((t) => el("th", { scope: "col" }, t)))), tbody);
    frag.append(el("section", { class: "bus" }, h, el("div", { class: "scroll" }, table)));
  }
  $("#buses").replaceChildren(frag);
  summarise(buses);
  // The first screen is there (the console bench reads this mark).
  if (performance.getEntriesByName("lb-property-rendered").length === 0) performance.mark("lb-property-rendered");
}

function summarise(buses) {
  const all = buses.flatMap((b) => b.locks);
  $("#summary").textContent = `— ${all.length} locks, ${all.filter((l) => !l.online).length} offline`;
}

/** Refetch the grouped view and patch only the rows that changed. */
export async function refresh() {
  const { buses } = await api("/api/locks");
  let missing = false;
  for (const b of buses) for (const l of b.locks) {
    const tr = rows.get(l.lockId);
    if (!tr) { missing = true; continue; }
    const next = JSON.stringify(l);
    if (tr.dataset.json !== next) fillRow(tr, l, next);
  }
  if (missing || buses.reduce((k, b) => k + b.locks.length, 0) !== rows.size) render(buses); else summarise(buses);
}

export async function init() {
  const { buses } = await api("/api/locks");
  render(buses);
  $("#buses").addEventListener("click", (ev) => {
    const tr = ev.target.closest("button[data-act]")?.closest("tr");
    if (tr && onAct) onAct(JSON.parse(tr.dataset.json));
  });
  $("#filters").addEventListener("change", (ev) => { filter = ev.target.value; for (const tr of rows.values()) applyFilter(tr); });
  const soon = throttle(refresh, 500);
  onLive(() => soon());
  return { refresh: soon };
}
