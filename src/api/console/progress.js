// Progress page: provisioning ("2,944 of 3,000 credentials on their locks; 3 locks offline"),
// the snapshot being received, firmware jobs; refreshed live from the event stream.
import { $, api, el, fmtTime, n, onLive, throttle } from "./lib.js";

function bar(value, max, label) {
  return el("progress", { class: "meter", value: String(value), max: String(Math.max(max, 1)), "aria-label": label }, `${value} of ${max}`);
}

function render(p) {
  const c = p.credentials, l = p.locks;
  $("#prov-summary").textContent = p.summary;
  $("#prov-bar").replaceChildren(bar(c.onLocks, c.total, "credentials on their locks"));
  $("#prov-detail").replaceChildren(
    el("li", {}, `${n(c.onLocks)} on their locks, ${n(c.pending)} pending, ${n(c.failed)} failed, ${n(c.inactive)} not due yet (not checked in or outside the access period)`),
    el("li", {}, `${n(l.total)} locks: ${n(l.online)} online, ${n(l.offline)} offline${l.notInService ? `, ${n(l.notInService)} not in service` : ""}`),
  );
  const s = p.snapshot;
  $("#snap").replaceChildren(
    s.receiving
      ? el("div", {}, el("p", { class: "big" }, `Receiving snapshot ${s.receiving.snapshotId}: ${s.receiving.received} of ${s.receiving.pages} pages`), bar(s.receiving.received, s.receiving.pages, "snapshot pages received"))
      : el("p", {}, "No snapshot arriving."),
    el("p", { class: "muted" }, s.lastApplied ? `Last snapshot ${s.lastApplied.ok ? "applied" : "refused"} ${fmtTime(s.lastApplied.at)}.` : "No snapshot applied since the hub started."),
  );
  $("#fw").replaceChildren(...(p.firmware.length === 0 ? [el("p", {}, "No firmware job on this hub.")] : p.firmware.map(firmwareJob)));
  $("#prov-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

// A lock's step in the job as the store keeps it (docs/firmware.md), in an installer's words.
const STEP_WORDS = {
  queued: "waiting for its turn on the bus",
  transferring: "receiving the image",
  committing: "checking the image",
  restarting: "restarting on the new firmware",
  verifying: "checking its tables after the restart",
  applied: "updated",
  failed: "failed",
};

function firmwareJob(j) {
  const count = (state) => j.locks.filter((x) => x.state === state).length;
  const applied = count("applied"), failed = count("failed"), total = j.locks.length;
  const running = total - applied - failed;
  return el("section", { class: "panel", "data-job-id": j.jobId },
    el("h4", {}, `Job ${j.jobId} → firmware ${j.version}${j.endedAt ? ` (ended ${fmtTime(j.endedAt)})` : ""}`),
    el("p", { class: "fw-counts" }, `${applied} of ${total} locks updated, ${running} in progress, ${failed} failed`),
    bar(applied, total, `firmware job ${j.jobId}`),
    el("ul", {}, ...j.locks.map((x) => el("li", { class: x.state === "failed" ? "err" : null, "data-lock-id": x.lockId, "data-state": x.state },
      `${x.lockId}: ${STEP_WORDS[x.state] ?? x.state}${x.state === "transferring" ? ` (${x.percent} %)` : ""}${x.reason ? ` — ${x.reason}${x.message ? `: ${x.message}` : ""}` : ""}`))));
}

export async function refresh() { render(await api("/api/progress")); }

export function init() {
  const soon = throttle(refresh, 1000);
  onLive(({ kind, data }) => {
    if (kind === "hub" || (kind === "event" && /^(credential|lock|firmware|key)\./.test(data.type))) soon();
  });
  return { show: refresh };
}
