// LockBridge installer console: Property page. Plain ES module, no build step.
// The token comes once in the URL fragment (#token=...) or the login form and lives in sessionStorage.
const $ = (s) => document.querySelector(s);
const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromHash) { sessionStorage.setItem("lb-token", fromHash); history.replaceState(null, "", location.pathname); }
let token = sessionStorage.getItem("lb-token") ?? "";
const rows = new Map(); // lockId -> <tr>
let filter = "all";

async function api(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  if (res.status === 401) throw Object.assign(new Error("the installer token was refused"), { auth: true });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

const cell = (label, text, cls) => { const td = document.createElement("td"); td.dataset.label = label; td.textContent = text; if (cls) td.className = cls; return td; };
const slots = (s) => Object.entries(s).map(([k, v]) => `${k} ${v.used}/${v.total ?? "?"}`).join(", ") || "–";

function lockRow(l) {
  const tr = document.createElement("tr");
  tr.dataset.lockId = l.lockId;
  fillRow(tr, l);
  return tr;
}
function fillRow(tr, l) {
  tr.dataset.online = String(l.online);
  tr.dataset.battery = String(l.battery ?? 100);
  tr.dataset.alerts = String(l.alerts.length);
  tr.replaceChildren(
    cell("Door", l.doorNames.join(", ") || l.lockId),
    cell("Address", l.address === null ? "BLE" : String(l.address)),
    cell("State", l.online ? "online" : `offline (${l.state})`, l.online ? "online state" : "offline state"),
    cell("Battery", l.battery === null ? "–" : `${l.battery} %`),
    cell("Slots", slots(l.slots)),
    cell("Clock drift", l.clockDriftS === null ? "–" : `${l.clockDriftS} s`),
    cell("Last seen", l.lastSeen ? new Date(l.lastSeen).toLocaleString() : "never"),
    cell("Firmware", l.firmware ?? "–"),
    cell("Alerts", l.alerts.join("; "), "alert"),
  );
  applyFilter(tr);
}
function applyFilter(tr) {
  const d = tr.dataset;
  tr.hidden = filter === "offline" ? d.online === "true" : filter === "battery" ? Number(d.battery) > 25 : filter === "alerts" ? d.alerts === "0" : false;
}

function render(buses) {
  const frag = document.createDocumentFragment();
  rows.clear();
  for (const b of buses) {
    const sec = document.createElement("section");
    sec.className = "bus";
    const h = document.createElement("h3");
    h.textContent = `${b.bus} — link ${b.link ?? "not open"} · timeouts ${b.errors.timeouts}, CRC ${b.errors.crcErrors}`;
    if (b.lastError) { const e = document.createElement("span"); e.className = "err"; e.textContent = ` · ${b.lastError}`; h.append(e); }
    const table = document.createElement("table");
    table.innerHTML = "<thead><tr><th>Door</th><th>Address</th><th>State</th><th>Battery</th><th>Slots</th><th>Clock drift</th><th>Last seen</th><th>Firmware</th><th>Alerts</th></tr></thead>";
    const tbody = document.createElement("tbody");
    for (const l of b.locks) { const tr = lockRow(l); rows.set(l.lockId, tr); tbody.append(tr); }
    table.append(tbody);
    sec.append(h, table);
    frag.append(sec);
  }
  $("#buses").replaceChildren(frag);
  summarise(buses);
}
function summarise(buses) {
  const all = buses.flatMap((b) => b.locks);
  $("#summary").textContent = `— ${all.length} locks, ${all.filter((l) => !l.online).length} offline`;
}

// Live: events name a lock; refetch the grouped view at most every 500 ms and patch only the rows that changed.
let pending = false;
function scheduleRefresh() {
  if (pending) return;
  pending = true;
  setTimeout(async () => {
    pending = false;
    const { buses } = await api("/api/locks");
    let missing = false;
    for (const b of buses) for (const l of b.locks) {
      const tr = rows.get(l.lockId);
      if (!tr) { missing = true; continue; }
      const next = JSON.stringify(l);
      if (tr.dataset.json !== next) { tr.dataset.json = next; fillRow(tr, l); }
    }
    if (missing || buses.reduce((n, b) => n + b.locks.length, 0) !== rows.size) render(buses); else summarise(buses);
  }, 500);
}

// EventSource cannot send the Authorization header, so the SSE stream is read through fetch.
async function follow() {
  for (;;) {
    try {
      const res = await fetch("/api/events", { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" } });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i); buf = buf.slice(i + 2);
          if (block.split("\n").some((line) => line.startsWith("data:"))) scheduleRefresh();
        }
      }
    } catch { /* reconnect below */ }
    await new Promise((r) => setTimeout(r, 2000));
    scheduleRefresh();
  }
}

async function start() {
  try {
    const { buses } = await api("/api/locks");
    $("#login").hidden = true;
    $("#property").hidden = false;
    render(buses);
    void follow();
  } catch (e) {
    $("#login").hidden = false;
    $("#login-error").textContent = e.auth ? "The installer token was refused: paste the token from the hub (lockbridge api token)." : String(e.message);
  }
}
$("#login").addEventListener("submit", (ev) => { ev.preventDefault(); token = $("#token").value.trim(); sessionStorage.setItem("lb-token", token); void start(); });
$("#filters").addEventListener("change", (ev) => { filter = ev.target.value; for (const tr of rows.values()) applyFilter(tr); });
void start();
