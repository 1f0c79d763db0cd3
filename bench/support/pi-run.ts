/**
 * One measured provisioning run of the Pi benchmark: a fresh simulator and a fresh data dir,
 * the compiled hub started (time to serving, RSS empty), the fleet commissioned through
 * `lockbridge sim commission` (RSS commissioned), then a signed, paged sync.snapshot until
 * the cloud sees every key `active` (time, CPU, bytes written, RSS peak and settled, and the
 * bytes on each bus from the kernel's socket counters for the wire-time bound).
 */
import { execSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { KeyObject } from "node:crypto";
import { CloudClient } from "../../src/cloud/index.js";
import { commission, startHub, startSim, type Child, type SimReady } from "./pi-processes.js";
import { readProc, rssPeakSampler, socketBytesByPort, waitQuiet, type ProcSample, type Settled } from "./pi-proc.js";
import { snapshotPages } from "./pi-property.js";

export interface RunSetup {
  dir: string;
  propertyFile: string;
  baudByBus: ReadonlyMap<string, number>;
  mqttUrl: string;
  signingKey: KeyObject;
  signKeyFile: string;
  commandPublicKey: string;
  keys: number;
}

export interface ProvisioningRun {
  sim: Child;
  ready: SimReady;
  hub: Child;
  cloud: CloudClient;
  hubId: string;
  dataDir: string;
  serveMs: number;
  atServe: ProcSample;
  empty: Settled;
  commissioned: Settled;
  snapshot: {
    seconds: number;
    boundS: number;
    busiest: string;
    cpuMs: number;
    writeBytes: number;
    payloadBytes: number;
    peakRssMb: number;
    settled: Settled;
  };
}

const QUIET_TIMEOUT_MS = 900_000;

/**
 * PI_BENCH_AT_SETTLED: a shell command run (awaited) once the hub is quiet at each stage, after
 * the stage's figures are taken, with HUB_PID and PI_BENCH_STAGE (empty, commissioned, settled)
 * in its environment: e.g. to signal a heap snapshot or copy /proc/PID/smaps_rollup
 * (docs/performance.md, "Memory"). What it does to the hub shows in the later stages only.
 */
function atSettled(pid: number, stage: string): void {
  const cmd = process.env.PI_BENCH_AT_SETTLED;
  if (cmd) execSync(cmd, { stdio: "inherit", env: { ...process.env, HUB_PID: String(pid), PI_BENCH_STAGE: stage } });
}
/** Settling is reported, not required: past this the figures are taken as they are (noted). */
const SETTLE_MS = 120_000;

export async function provisioningRun(s: RunSetup, hubId: string, pinned: boolean): Promise<ProvisioningRun> {
  const dataDir = fs.mkdtempSync(path.join(s.dir, "data-"));
  const { child: sim, ready } = await startSim(s.propertyFile);
  const cloud = await CloudClient.connect({ url: s.mqttUrl, hubId, signingKey: s.signingKey });
  let hub: Child | undefined;
  try {
    const keyState = new Map<string, string>();
    const lockOnline = new Set<string>();
    cloud.onMessage((m) => {
      const p = (m.payload ?? {}) as { state?: unknown; online?: unknown };
      const keyPrefix = `${cloud.topics.base}/status/keys/`;
      const lockPrefix = `${cloud.topics.base}/status/locks/`;
      if (m.topic.startsWith(keyPrefix) && typeof p.state === "string") keyState.set(m.topic.slice(keyPrefix.length), p.state);
      if (m.topic.startsWith(lockPrefix)) {
        if (p.online === true) lockOnline.add(m.topic.slice(lockPrefix.length));
        else lockOnline.delete(m.topic.slice(lockPrefix.length));
      }
    });
    await cloud.watch([cloud.topics.state, cloud.topics.keyStatusAll, cloud.topics.lockStatusAll, cloud.topics.evt]);

    const started = await startHub({ dataDir, mqttUrl: s.mqttUrl, hubId, commandPublicKey: s.commandPublicKey, pinned }, cloud);
    hub = started.hub;
    const pid = hub.pid;
    const empty = await waitQuiet(pid, SETTLE_MS);
    atSettled(pid, "empty");

    await commission(ready, s.mqttUrl, hubId, s.signKeyFile);
    const lockCount = ready.doors.length;
    const onlineDeadline = Date.now() + QUIET_TIMEOUT_MS;
    while (lockOnline.size < lockCount) {
      if (Date.now() > onlineDeadline) throw new Error(`only ${lockOnline.size} of ${lockCount} locks online`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const commissioned = await waitQuiet(pid, SETTLE_MS);
    atSettled(pid, "commissioned");

    const siteId = ready.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
    const pages = snapshotPages(`pi-${hubId}`, siteId, ready.doors, s.keys);
    const payloadBytes = pages.reduce((n, p) => n + Buffer.byteLength(JSON.stringify(p)), 0);
    const ports = ready.tcpBuses.map((b) => b.port);
    const wire0 = socketBytesByPort(ports);
    const p0 = readProc(pid);
    const peak = rssPeakSampler(pid);
    const t0 = performance.now();
    for (const page of pages) {
      const r = await cloud.send(page, { timeoutMs: 600_000 });
      if (!r?.ok) throw new Error(`snapshot page ${String(page.page)}: ${JSON.stringify(r).slice(0, 500)}`);
    }
    const deadline = Date.now() + QUIET_TIMEOUT_MS;
    const activeCount = () => Array.from({ length: s.keys }, (_, i) => keyState.get(`k-${i}`)).filter((st) => st === "active").length;
    while (activeCount() < s.keys) {
      if (Date.now() > deadline) throw new Error(`only ${activeCount()} of ${s.keys} keys active`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - t0) / 1000;
    const p1 = readProc(pid);
    const wire1 = socketBytesByPort(ports);
    const settled = await waitQuiet(pid, SETTLE_MS);
    const peakRssMb = Math.max(peak.stop(), settled.rssMb);
    atSettled(pid, "settled");

    let boundS = 0;
    let busiest = "";
    for (const b of ready.tcpBuses) {
      const bytes = (wire1.get(b.port) ?? 0) - (wire0.get(b.port) ?? 0);
      const baud = s.baudByBus.get(b.id) ?? NaN;
      const t = (bytes * 10) / baud;
      if (t > boundS) {
        boundS = t;
        busiest = `${b.id}: ${bytes} B at ${baud} baud`;
      }
    }
    return {
      sim,
      ready,
      hub,
      cloud,
      hubId,
      dataDir,
      serveMs: started.serveMs,
      atServe: started.atServe,
      empty,
      commissioned,
      snapshot: { seconds, boundS, busiest, cpuMs: p1.cpuMs - p0.cpuMs, writeBytes: settled.writeBytes - p0.writeBytes, payloadBytes, peakRssMb, settled },
    };
  } catch (e) {
    await hub?.stop();
    await sim.stop();
    await cloud.close().catch(() => undefined);
    throw e;
  }
}

/** Guests at the doors: `count` wrong codes typed on room keypads; waits for the access events on evt. */
export async function guestEvents(run: ProvisioningRun, count: number): Promise<{ events: number; writeBytes: number; eventBytes: number; settled: Settled }> {
  const seen: number[] = [];
  const off = run.cloud.onMessage((m) => {
    const p = (m.payload ?? {}) as { type?: unknown };
    if (m.topic === run.cloud.topics.evt && typeof p.type === "string" && p.type.startsWith("access.")) seen.push(Buffer.byteLength(JSON.stringify(m.payload)));
  });
  try {
    const before = readProc(run.hub.pid);
    const rooms = run.ready.doors.filter((d) => d.kind === "room");
    for (let i = 0; i < count; i++) {
      const door = rooms[i % rooms.length]!;
      const res = await fetch(`http://127.0.0.1:${run.ready.controlPort}/locks/${door.doorId}/code`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code: "000000" }) });
      if (!res.ok) throw new Error(`sim control: ${res.status} ${await res.text()}`);
    }
    const deadline = Date.now() + 300_000;
    while (seen.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${seen.length} of ${count} access events delivered`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await waitQuiet(run.hub.pid, SETTLE_MS);
    return { events: seen.length, writeBytes: after.writeBytes - before.writeBytes, eventBytes: seen.reduce((a, b) => a + b, 0) / seen.length, settled: after };
  } finally {
    off();
  }
}

export async function endRun(run: ProvisioningRun): Promise<void> {
  await run.hub.stop();
  await run.sim.stop();
  await run.cloud.close().catch(() => undefined);
}
