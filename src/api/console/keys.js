// Keys page: search by guest, room or key id; a key's state per door and credential in the
// support article's words, and the hub's `diagnose` findings with the fix for each.
import { ask } from "./dialog.js";
import { $, api, el, onLive, post, throttle } from "./lib.js";

const LIMIT = 100;
let selected = null; // { keyId, doorIds: Set }
let searches = 0; // only the newest search may draw the list (answers can come back out of order)

const stateClass = (state) => `st st-${state}`;

async function search(q) {
  const params = new URLSearchParams({ limit: String(LIMIT + 1) });
  if (q) params.set("search", q);
  const mine = ++searches;
  const { keys } = await api(`/api/keys?${params}`);
  if (mine !== searches) return;
  const shown = keys.slice(0, LIMIT);
  $("#key-count").textContent = keys.length === 0 ? `No key matches${q ? ` “${q}”` : ""}.`
    : `${shown.length}${keys.length > LIMIT ? "+" : ""} key${shown.length === 1 ? "" : "s"}${q ? ` matching “${q}”` : ""}${keys.length > LIMIT ? ": refine the search to see the rest" : ""}.`;
  // A live refresh must not take the keyboard user's place: the key they were on keeps the focus.
  const focusedKeyId = document.activeElement?.closest?.("#key-list button[data-key-id]")?.dataset.keyId;
  $("#key-list").replaceChildren(...shown.map(keyItem));
  if (focusedKeyId) $(`#key-list button[data-key-id="${CSS.escape(focusedKeyId)}"]`)?.focus();
}

function keyItem(k) {
  const doors = k.doors.map((d) => `${d.name ?? d.doorId}: ${d.words}`).join(" · ") || "no door";
  const button = el("button", { type: "button", class: "key-open", "data-key-id": k.keyId, "aria-controls": "key-detail" },
    el("strong", {}, k.keyId), " ", el("span", {}, k.holder ?? "no name"), " ", el("span", { class: stateClass(k.state) }, k.words));
  button.addEventListener("click", () => void open(k.keyId, true));
  return el("li", {}, button, el("div", { class: "key-doors" }, doors));
}

export async function open(keyId, focus = false) {
  const detail = $("#key-detail");
  detail.hidden = false;
  const k = await api(`/api/keys/${encodeURIComponent(keyId)}`);
  selected = { keyId, doorIds: new Set(k.doors.map((d) => d.doorId)) };
  // The list shows the same key: keep its line in step with the detail.
  const line = $(`#key-list button[data-key-id="${CSS.escape(keyId)}"]`)?.closest("li");
  if (line && !line.contains(document.activeElement)) line.replaceWith(keyItem(k));
  const doorRows = k.doors.map((d) => el("tr", { "data-door-id": d.doorId },
    el("td", { "data-label": "Door" }, d.name ? `${d.name} (${d.doorId})` : d.doorId, d.linked ? el("span", { class: "muted" }, " linked") : null),
    el("td", { "data-label": "Status", class: `door-words ${stateClass(d.state)}` }, d.words)));
  // A live refresh redraws the detail: whoever was reading it keeps their place (the title, or the element of the same id).
  const focusedId = detail.contains(document.activeElement) ? document.activeElement.id || "key-title" : null;
  const cred = (label, c) => el("li", { "data-credential": label }, c.words);
  detail.replaceChildren(
    el("h3", { tabindex: "-1", id: "key-title" }, `${k.keyId} — ${k.holder ?? "no name"} — `, el("span", { class: stateClass(k.state) }, k.words), k.removed ? " (removed)" : ""),
    el("h4", {}, "Doors"),
    el("div", { class: "scroll" }, el("table", {}, el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Door"), el("th", { scope: "col" }, "Status"))), el("tbody", {}, ...doorRows))),
    el("h4", {}, "Credentials"),
    el("ul", { class: "creds" }, cred("Door Code", k.credentialWords.doorCode), cred("Keycard", k.credentialWords.keycard), cred("Smart Key", k.credentialWords.smartKey)),
    k.credentials.doorCode === "assigned" ? revealButton(k.keyId) : null,
    el("h4", {}, "Diagnosis"),
    el("div", { id: "findings", "aria-live": "polite" }, "Asking the hub…"),
  );
  if (focus) $("#key-title").focus();
  else if (focusedId) (document.getElementById(focusedId) ?? $("#key-title")).focus();
  await diagnose(keyId);
}

function revealButton(keyId) {
  const b = el("button", { type: "button", id: "reveal-code" }, "Reveal the door code…");
  b.addEventListener("click", () => void ask({
    title: `Door code of key ${keyId}`, action: "reveal-code", confirm: "Reveal", danger: true,
    text: "The code is shown here once, for a guest who cannot use their own. The request is logged with this key and your address.",
    body: () => ({ keyId }),
    doneText: (r) => `Door code: ${r.result.code}`,
  }));
  return b;
}

async function diagnose(keyId) {
  const box = $("#findings");
  let response;
  try {
    response = await post("/api/actions/diagnose", { keyId });
  } catch (e) {
    box.replaceChildren(el("p", { class: "err" }, `Diagnosis not available: ${e.message}`));
    return;
  }
  if (selected?.keyId !== keyId) return;
  if (!response.ok) { box.replaceChildren(el("p", { class: "err" }, `${response.error.message} (${response.error.code})`)); return; }
  const findings = response.result.findings;
  if (findings.length === 0) { box.replaceChildren(el("p", { class: "online" }, "No problem found.")); return; }
  box.replaceChildren(el("ul", { class: "findings" }, ...findings.map((f) => el("li", { class: `finding sev-${f.severity}`, "data-code": f.code },
    el("span", { class: "sev" }, f.severity === "error" ? "Problem" : f.severity === "warning" ? "Check" : "Info"), " ",
    f.doorId ? el("strong", {}, `${f.doorId}: `) : null,
    el("span", { class: "msg" }, f.message),
    el("p", { class: "fix" }, el("strong", {}, "Fix: "), f.fix)))));
}

export function init() {
  $("#key-search").addEventListener("submit", (ev) => { ev.preventDefault(); void search($("#key-q").value.trim()); });
  // Live: an event about the open key or one of its doors refreshes it (at most twice a second).
  const again = throttle(async () => { if (selected) await open(selected.keyId); }, 1000);
  const list = throttle(async () => { if (!$("#keys").hidden && $("#key-list").childElementCount > 0) await search($("#key-q").value.trim()); }, 2000);
  onLive(({ kind, data }) => {
    if (kind !== "event") return;
    if (/^(credential|lock|key)\./.test(data.type)) list();
    if (selected && (data.keyId === selected.keyId || (data.doorId && selected.doorIds.has(data.doorId)) || data.type === "lock.online" || data.type === "lock.offline")) again();
  });
  return { show: () => search($("#key-q").value.trim()) };
}
