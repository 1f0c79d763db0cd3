// Installer actions: scan a bus and commission what answers, re-commission / replace /
// decommission a lock (from its row on the Property page), run doctor, take a store backup for
// download, rotate the installer token. Each goes through the confirmation dialog, needs the
// token, and is logged by the hub (the log is listed here and live on the Events page).
import { ask } from "./dialog.js";
import { $, api, dbm, el, fmtTime, onLive, session, setToken, signalText } from "./lib.js";

const LOCK_ID = "[0-9A-Fa-f]{16}";
// As printed on the label (8 groups of 4 hex digits) or run together.
const SETUP_KEY = "(?:[0-9A-Fa-f]{4} ?){7}[0-9A-Fa-f]{4}";
const setupKeyOf = (v) => (v.setupKey ? { setupKey: v.setupKey.replace(/\s+/g, "") } : {});
let afterChange = () => {};

/** What a lock row's "Actions…" button opens (property.js draws the buttons). */
export function lockMenu(l) {
  void chooseLockAction(l);
}

async function chooseLockAction(l) {
  const name = l.doorNames.join(", ") || l.lockId;
  const where = `${l.bus}${l.address === null ? "" : ` address ${l.address}`}`;
  const pick = await new Promise((resolve) => {
    const menu = $("#lock-menu");
    $("#lock-menu-title").textContent = `${name} — lock ${l.lockId} on ${where} (${l.state.replace(/_/g, " ")}${l.state === "commissioned" ? (l.online ? ", online" : ", offline") : ""})`;
    const choose = (v) => () => { menu.close(v); };
    $("#lm-recommission").onclick = choose("recommission");
    $("#lm-replace").onclick = choose("replace");
    $("#lm-decommission").onclick = choose("decommission");
    $("#lm-cancel").onclick = choose("");
    menu.onclose = () => resolve(menu.returnValue);
    menu.returnValue = "";
    menu.showModal();
  });
  if (pick === "recommission") {
    await ask({
      title: `Re-commission ${name}`, action: "recommission", confirm: "Re-commission",
      text: `The hub pairs with lock ${l.lockId} again on ${where} (${l.profile}): after a factory reset, or when it reports lost pairing. Put the lock in pairing mode first (its button).`,
      fields: [{ name: "setupKey", label: "Setup key (PAIR_KX locks only, from the label)", pattern: SETUP_KEY }],
      body: (v) => ({ lockId: l.lockId, ...setupKeyOf(v) }),
    });
  } else if (pick === "replace") {
    await ask({
      title: `Replace the lock of ${name}`, action: "replace", confirm: "Replace",
      text: `The new lock takes ${l.lockId}'s place on ${where} and its door(s); ${l.lockId} is forgotten. Every key of the door is written to the new lock.`,
      fields: [
        { name: "newLockId", label: "New lock's id (16 hex digits, from its label or a scan)", required: true, pattern: LOCK_ID, value: l.replacedBy ?? "" },
        { name: "setupKey", label: "Setup key (PAIR_KX locks only)", pattern: SETUP_KEY },
      ],
      body: (v) => ({ oldLockId: l.lockId, newLockId: v.newLockId.toLowerCase(), ...setupKeyOf(v) }),
    });
  } else if (pick === "decommission") {
    await ask({
      title: `Decommission ${name}`, action: "decommission", confirm: "Decommission", danger: true,
      text: `Lock ${l.lockId} leaves service: the hub forgets it and its link key. Its door keeps its keys, waiting for a lock.`,
      fields: [{ name: "wipe", label: " Wipe every credential on the lock first (it must be online)", type: "checkbox" }],
      body: (v) => ({ lockId: l.lockId, wipe: v.wipe }),
    });
  } else return;
  afterChange();
}

// ---------------------------------------------------------------- scan and commission
async function scan(ev) {
  ev.preventDefault();
  const bus = $("#scan-bus").value.trim();
  const tcp = /^(?:tcp\s+)?\[?([^\]\s/]+?)\]?:(\d{1,5})$/.exec(bus);
  const link = tcp ? { type: "tcp", host: tcp[1], port: Number(tcp[2]) } : { type: "serial", path: bus.replace(/^serial\s+/, "") };
  const profile = $("#scan-profile").value.trim();
  const body = { link, addresses: $("#scan-addresses").value.trim() || "1-32", ...(profile && { profile }) };
  const response = await ask({
    title: `Scan ${tcp ? `${link.host}:${link.port}` : link.path}`, action: "scan", confirm: "Scan",
    text: `The hub sends IDENT to addresses ${body.addresses} on this bus, skipping its own locks' addresses. Nothing on a lock changes.`,
    body: () => body,
    doneText: (r) => `${r.result.found.length} lock(s) answered.`,
  });
  if (!response?.ok) return;
  const r = response.result;
  $("#scan-result").replaceChildren(
    el("p", {}, `${r.bus}: ${r.found.length} of ${r.probed} probed address(es) answered${r.skipped.length ? `; skipped ${r.skipped.join(", ")} (this hub's locks)` : ""}.`),
    ...(r.found.length === 0 ? [] : [el("ul", { class: "plain" }, ...r.found.map((f) => {
      const b = el("button", { type: "button", class: "primary", "data-commission": f.lockId }, "Commission…");
      b.addEventListener("click", () => void commission(f, { ...link, address: f.address }, profile, "#scan-result"));
      return el("li", { class: "found", "data-lock-id": f.lockId }, el("strong", {}, `Address ${f.address}: ${f.lockId}`), ` ${f.model}, firmware ${f.firmware}, slots ${f.slots.doorCode}/${f.slots.keycard}/${f.slots.smartKey}, pairing ${f.needsSetupKey ? "with the setup key" : "PAIR (button)"} `, b);
    }))]),
  );
}

// found.needsSetupKey: true (IDENT says PAIR_KX), false, or null (unknown: the field is offered, not required).
async function commission(found, link, scannedProfile, list) {
  const where = link.type === "ble" ? "over BLE" : `at address ${link.address}`;
  const response = await ask({
    title: `Commission lock ${found.lockId}`, action: "commission", confirm: "Commission",
    text: `The hub checks the lock's id (IDENT), pairs with it and sets its clock, ${where}. Put the lock in pairing mode first.`,
    fields: [
      { name: "profile", label: "Device profile", required: true, value: scannedProfile || busProfiles.get(busName(link)) || "", list: "profiles" },
      ...(found.needsSetupKey !== false ? [{ name: "setupKey", label: found.needsSetupKey ? "Setup key (32 hex digits, from the lock's label)" : "Setup key (PAIR_KX locks only, from the label)", required: found.needsSetupKey === true, pattern: SETUP_KEY }] : []),
    ],
    body: (v) => ({ lockId: found.lockId, profile: v.profile, link, ...setupKeyOf(v) }),
    doneText: () => `Lock ${found.lockId} is in service. Point its door at it from the cloud (door.upsert), or replace a lock with it.`,
  });
  if (response?.ok) { $(`${list} [data-lock-id="${found.lockId}"]`)?.remove(); afterChange(); }
}

// ---------------------------------------------------------------- BLE: listen, then commission
async function scanBle(ev) {
  ev.preventDefault();
  const seconds = Math.min(30, Math.max(1, Number($("#ble-seconds").value) || 5));
  const response = await ask({
    title: "Scan for BLE locks", action: "scan-ble", confirm: "Scan",
    text: `The hub's radio listens for LockBridge locks advertising for ${seconds} s, then asks each one that is not this hub's who it is (IDENT). Nothing on a lock changes.`,
    body: () => ({ seconds }),
    doneText: (r) => `${r.result.found.length} new BLE lock(s) heard.`,
  });
  if (!response?.ok) return;
  afterChange(); // the scan heard the hub's own BLE locks too: their signal on the Property page is fresher now
  const r = response.result;
  const link = (f) => ({ type: "ble", lockId: f.lockId });
  $("#ble-result").replaceChildren(
    el("p", {}, `${r.found.length} new BLE lock(s) heard in ${r.seconds} s${r.skipped.length ? `; ${r.skipped.length} of this hub's own (${r.skipped.map((s) => (s.rssi === null ? s.lockId : `${s.lockId} at ${dbm(s.rssi)}`)).join(", ")})` : ""}.`),
    ...(r.found.length === 0 ? [] : [el("ul", { class: "plain" }, ...r.found.map((f) => {
      const b = el("button", { type: "button", class: "primary", "data-commission": f.lockId }, "Commission…");
      b.addEventListener("click", () => void commission({ lockId: f.lockId, needsSetupKey: f.ident ? f.ident.needsSetupKey : null }, link(f), "", "#ble-result"));
      const id = f.ident;
      return el("li", { class: "found", "data-lock-id": f.lockId },
        el("strong", {}, `${f.lockId}: `), el("span", { class: `signal${f.quality === "weak" ? " alert" : ""}` }, f.rssi === null ? "signal not reported" : signalText({ rssi: f.rssi, quality: f.quality })),
        id ? ` · ${id.model}, firmware ${id.firmware}, slots ${id.slots.doorCode}/${id.slots.keycard}/${id.slots.smartKey}, pairing ${id.needsSetupKey ? "with the setup key" : "PAIR (button)"}` : " · did not answer IDENT",
        f.pairingMode ? " · in pairing mode " : " ", b);
    }))]),
  );
}

let knownProfiles = [];
let busProfiles = new Map(); // "tcp host:port" -> the profile its locks use
const busName = (link) => (link.type === "tcp" ? `tcp ${link.host}:${link.port}` : link.type === "ble" ? "ble" : `serial ${link.path}`);

// ---------------------------------------------------------------- doctor, backup, token
async function doctor() {
  const response = await ask({ title: "Run doctor", action: "doctor", confirm: "Run", text: "The hub runs lockbridge doctor's checks (config, data dir, store, broker, clock, ports, BLE, locks, outbox).", body: () => ({}) });
  if (!response?.ok) return;
  const mark = { pass: "PASS", warn: "WARN", fail: "FAIL" };
  const item = (c) => el("li", { class: `check-${c.status}` },
    el("strong", { class: c.status === "fail" ? "err" : c.status === "warn" ? "st-pending" : "online" }, `${mark[c.status]} `), `${c.name}: ${c.detail}`,
    c.fix && c.status !== "pass" ? el("div", { class: "fix" }, el("strong", {}, "Fix: "), c.fix) : null);
  // What needs a look first; the passes folded (a property has one line per lock).
  const checks = response.result.checks;
  const bad = checks.filter((c) => c.status !== "pass"), good = checks.filter((c) => c.status === "pass");
  $("#doctor-result").replaceChildren(
    el("p", {}, `${good.length} passed, ${checks.filter((c) => c.status === "warn").length} warnings, ${checks.filter((c) => c.status === "fail").length} failed.`),
    el("ul", { class: "plain doctor" }, ...bad.map(item)),
    el("details", {}, el("summary", {}, `${good.length} checks passed`), el("ul", { class: "plain doctor" }, ...good.map(item))));
}

async function backup() {
  const response = await ask({ title: "Take a store backup", action: "backup", confirm: "Take backup", text: "A consistent copy of the hub's store, for download. It holds every secret of the property (link keys, codes): keep the file safe.", body: () => ({}) });
  if (!response?.ok) return;
  const link = el("button", { type: "button", class: "primary", id: "backup-download" }, `Download ${response.result.file.split("/").pop()} (${Math.round(response.result.bytes / 1024)} KiB)`);
  link.addEventListener("click", () => void download(response.result.download));
  $("#backup-result").replaceChildren(link);
}

async function download(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${session.token}` } });
  if (!res.ok) { $("#backup-result").append(el("p", { class: "err" }, `Download refused: HTTP ${res.status}`)); return; }
  const url = URL.createObjectURL(await res.blob());
  const a = el("a", { href: url, download: path.split("/").pop() });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function rotate() {
  const response = await ask({
    title: "Rotate the installer token", action: "rotate-token", confirm: "Rotate", danger: true,
    text: "The hub makes a new installer token; the current one stops working at once, here, in the CLI's other terminals and any other browser.",
    body: () => ({}), doneText: () => "New token in use by this browser.",
  });
  if (!response?.ok) return;
  setToken(response.result.token);
  $("#token-result").replaceChildren(el("p", {}, `New token written to ${response.result.tokenFile} on the hub (lockbridge api token shows it). This browser uses it already.`));
}

function logRow(a) {
  return el("li", { "data-action": a.action }, `${fmtTime(a.at)} — ${a.action}${a.target ? ` ${a.target}` : ""}: ${a.outcome}${a.detail ? ` (${a.detail})` : ""} — from ${a.from}`);
}

export async function init(refreshProperty) {
  afterChange = refreshProperty;
  $("#scan-form").addEventListener("submit", (ev) => void scan(ev));
  $("#ble-form").addEventListener("submit", (ev) => void scanBle(ev));
  $("#run-doctor").addEventListener("click", () => void doctor());
  $("#take-backup").addEventListener("click", () => void backup());
  $("#rotate-token").addEventListener("click", () => void rotate());
  const { buses } = await api("/api/locks");
  knownProfiles = [...new Set(buses.flatMap((b) => b.locks.map((l) => l.profile)))];
  busProfiles = new Map(buses.filter((b) => b.locks.length > 0).map((b) => [b.bus, b.locks[0].profile]));
  $("#profiles").replaceChildren(...knownProfiles.map((p) => el("option", { value: p })));
  $("#buses-list").replaceChildren(...buses.filter((b) => b.bus !== "ble").map((b) => el("option", { value: b.bus })));
  // The busiest serial bus first: where a lock is most likely to be added or swapped.
  const busiest = buses.filter((b) => b.bus !== "ble").sort((a, b) => b.locks.length - a.locks.length)[0];
  if (!$("#scan-bus").value && busiest) $("#scan-bus").value = busiest.bus;
  const { actions } = await api("/api/installer-log");
  $("#installer-log").replaceChildren(...actions.slice(-20).reverse().map(logRow));
  onLive(({ kind, data }) => { if (kind === "installer") $("#installer-log").prepend(logRow(data)); });
  return { show: () => undefined };
}
