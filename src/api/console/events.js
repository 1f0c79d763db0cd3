// Events page: the hub's live event feed with filters by door, key and type, the hub's own
// alerts (security alerts, tamper, battery, replaced locks, dropped events...) in their own list,
// and the installer actions taken from this console or the CLI.
import { $, api, el, fmtClock, n, onLive } from "./lib.js";

const MAX_ROWS = 300;
const MAX_ALERTS = 20;
/** Event types that are the hub telling the installer something is wrong. */
const ALERT_TYPES = new Set([
  "lock.security_alert", "lock.tamper", "lock.battery_low", "lock.replaced", "lock.events_lost", "lock.clock_lost",
  "lock.clock_drift", "lock.offline", "door.held_open", "key.at_risk", "credential.failed", "firmware.failed", "hub.events_dropped",
]);
const HIDDEN_FIELDS = new Set(["seq", "at", "type", "doorId", "lockId", "keyId"]);
let doorNames = new Map();
const filter = { doorId: "", keyId: "", type: "" };

function matches(e, kind) {
  if (filter.type === "installer") return kind === "installer";
  if (kind === "installer") return filter.type === "" && filter.doorId === "" && filter.keyId === "";
  if (filter.doorId && e.doorId !== filter.doorId) return false;
  if (filter.keyId && e.keyId !== filter.keyId) return false;
  if (filter.type === "alerts") return ALERT_TYPES.has(e.type);
  if (filter.type && e.type !== filter.type && !e.type.startsWith(`${filter.type}.`)) return false;
  return true;
}

function detail(e) {
  return Object.entries(e).filter(([k]) => !HIDDEN_FIELDS.has(k)).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`).join(" ");
}

function where(e) {
  const door = e.doorId ? (doorNames.get(e.doorId) ?? e.doorId) : "";
  return [door, e.lockId && !e.doorId ? `lock ${e.lockId}` : "", e.keyId ? `key ${e.keyId}` : ""].filter(Boolean).join(" · ");
}

function row(e, kind) {
  const time = fmtClock(e.at);
  if (kind === "installer") {
    const text = `${e.action}${e.target ? ` ${e.target}` : ""}: ${e.outcome}${e.detail ? ` — ${e.detail}` : ""}`;
    return el("li", { class: "installer", "data-type": "installer.action" }, el("span", {}, time), el("span", { class: "type" }, "installer action"), el("span", { class: "detail" }, text));
  }
  const alert = ALERT_TYPES.has(e.type);
  return el("li", { class: alert ? "hub-alert" : null, "data-type": e.type, "data-seq": e.seq },
    el("span", {}, time), el("span", { class: "type" }, e.type), el("span", { class: "detail" }, [where(e), detail(e)].filter(Boolean).join(" — ")));
}

function prepend(list, node, max = MAX_ROWS) {
  // An event both in the backlog just read and on the live stream is shown once.
  if (node.dataset.seq && list.querySelector(`[data-seq="${node.dataset.seq}"]`)) return;
  list.prepend(node);
  while (list.childElementCount > max) list.lastElementChild.remove();
}

/** Newest first: the held backlog (filtered by the hub), then live events as they come. */
async function reload() {
  const params = new URLSearchParams({ last: "100" });
  if (filter.doorId) params.set("doorId", filter.doorId);
  if (filter.keyId) params.set("keyId", filter.keyId);
  if (filter.type && filter.type !== "alerts" && filter.type !== "installer") params.set("type", filter.type);
  const list = $("#feed");
  if (filter.type === "installer") {
    const { actions } = await api("/api/installer-log");
    list.replaceChildren(...actions.slice().reverse().map((a) => row(a, "installer")));
  } else {
    const { events } = await api(`/api/events?${params}`);
    list.replaceChildren(...events.filter((e) => matches(e, "event")).reverse().map((e) => row(e, "event")));
  }
  const { events: alerts } = await api("/api/events?last=20&alerts=1");
  $("#alerts").replaceChildren(...alerts.reverse().map((e) => row(e, "event")));
  $("#alerts-none").hidden = alerts.length > 0;
  $("#alerts-count").textContent = `(${alerts.length}${alerts.length === 20 ? "+" : ""})`;
  $("#feed-count").textContent = `${n(list.childElementCount)} shown`;
}

export async function init() {
  const { doors } = await api("/api/doors");
  doorNames = new Map(doors.map((d) => [d.doorId, d.name]));
  $("#ev-door").append(...doors.map((d) => el("option", { value: d.doorId }, `${d.name} (${d.doorId})`)));
  $("#event-filters").addEventListener("submit", (ev) => ev.preventDefault());
  $("#event-filters").addEventListener("change", () => {
    filter.doorId = $("#ev-door").value;
    filter.keyId = $("#ev-key").value.trim();
    filter.type = $("#ev-type").value;
    void reload();
  });
  onLive(({ kind, data }) => {
    if (kind === "event" && ALERT_TYPES.has(data.type)) {
      prepend($("#alerts"), row(data, kind), MAX_ALERTS);
      $("#alerts-count").textContent = `(${$("#alerts").childElementCount})`;
      $("#alerts-none").hidden = true;
    }
    if (!matches(data, kind)) return;
    prepend($("#feed"), row(data, kind));
    $("#feed-count").textContent = `${n($("#feed").childElementCount)} shown`;
  });
  await reload();
  return { show: () => undefined };
}
