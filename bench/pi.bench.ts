/**
 * The Pi benchmark (issue 12): the compiled hub as a user runs it, measured from outside
 * through /proc. `npm run bench -- pi [--quick] [--locks N] [--credentials N] [--pinned false]`
 * (or PI_BENCH_LOCKS / PI_BENCH_CREDENTIALS); default 500 locks and 10,000 credentials.
 *
 * Starts Mosquitto, the simulator (`lockbridge sim run`, RS-485-style TCP buses at 19,200
 * baud, the lobby and the gym at 115,200) and the hub (`LOCKBRIDGE_RUNTIME=dist lockbridge
 * run`, a command public key, a fresh data dir) as separate processes; commissions through
 * `lockbridge sim commission`; sends a signed, paged sync.snapshot. Then guest events, a
 * restart on that store, and the same snapshot again on a fresh fleet with the hub under
 * `taskset -c 0`. What each line means: docs/performance.md.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startMosquitto } from "../test/helpers/mosquitto.js";
import type { BenchOptions, BenchResult } from "./run.js";
import { depsOnlyBaseline, ROOT, startHub, unitMallocEnv, unitNodeFlags } from "./support/pi-processes.js";
import { waitQuiet, type Settled } from "./support/pi-proc.js";
import { CREDENTIALS_PER_KEY, piProperty } from "./support/pi-property.js";
import { endRun, guestEvents, provisioningRun, type ProvisioningRun, type RunSetup } from "./support/pi-run.js";

function size(options: BenchOptions, name: string, envName: string, quick: number, full: number): number {
  const raw = options[name] ?? process.env[envName];
  if (raw === undefined) return options.quick === "true" ? quick : full;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 3 || n > 1_000_000) throw new Error(`--${name}: expected a whole number 3..1000000, got "${raw}"`);
  return n;
}

export async function run(options: BenchOptions = {}): Promise<BenchResult[]> {
  const locks = size(options, "locks", "PI_BENCH_LOCKS", 20, 500);
  const credentials = size(options, "credentials", "PI_BENCH_CREDENTIALS", 300, 10_000);
  const keys = Math.ceil(credentials / CREDENTIALS_PER_KEY);
  const creds = keys * CREDENTIALS_PER_KEY;
  const withPinned = options.pinned !== "false";
  if (options["node-flags"] !== undefined) process.env.PI_BENCH_NODE_FLAGS = options["node-flags"];
  if (options["unit-flags"] !== undefined) process.env.PI_BENCH_UNIT_FLAGS = options["unit-flags"];
  const hubFlags =
    [...Object.entries(unitMallocEnv()).map(([k, v]) => `${k}=${v}`), ...unitNodeFlags(), ...(process.env.PI_BENCH_NODE_FLAGS ?? "").split(/\s+/).filter(Boolean)].join(" ") ||
    "none";

  // The compiled hub is what a Pi runs (no tsx): build it from this checkout first.
  execFileSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });

  const baseline = await depsOnlyBaseline();
  const mosquitto = await startMosquitto();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lb-bench-pi-"));
  const runs: ProvisioningRun[] = [];
  try {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const signKeyFile = path.join(dir, "cloud-signing-key.pem");
    fs.writeFileSync(signKeyFile, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
    const { property, baudByBus } = piProperty(locks);
    const propertyFile = path.join(dir, "property.json");
    fs.writeFileSync(propertyFile, JSON.stringify(property));
    const setup: RunSetup = {
      dir,
      propertyFile,
      baudByBus,
      mqttUrl: mosquitto.url,
      signingKey: privateKey,
      signKeyFile,
      commandPublicKey: publicKey.export({ format: "pem", type: "spki" }).toString(),
      keys,
    };

    const a = await provisioningRun(setup, "pi-bench", false);
    runs.push(a);
    const ev = await guestEvents(a, Math.min(200, locks * 4));

    // Restart on that store: time until it serves again, and its idle RSS with it.
    await a.hub.stop();
    const again = await startHub({ dataDir: a.dataDir, mqttUrl: mosquitto.url, hubId: a.hubId, commandPublicKey: setup.commandPublicKey }, a.cloud);
    a.hub = again.hub;
    const restartedIdle = await waitQuiet(again.hub.pid, 120_000);
    await endRun(a);
    runs.pop();

    const b = withPinned ? await provisioningRun(setup, "pi-bench-pinned", true) : undefined;
    if (b) {
      runs.push(b);
      await endRun(b);
      runs.pop();
    }

    const base = baseline.sample.rssMb;
    const s = a.snapshot;
    const fleetSize = `${a.ready.doors.length} locks, ${keys} keys = ${creds} credentials`;
    const settledNote = (x: Settled) => `${x.quiet ? "" : "not settled after 120 s; "}idle CPU ${(x.floorCpuShare * 100).toFixed(1)} % of a core`;
    const rss = (name: string, value: number, goal: string, at: Settled): BenchResult => ({
      name: `pi: hub RSS ${name}`,
      value,
      unit: "MB",
      baseline: { value: base, unit: "MB", name: "node + mqtt, better-sqlite3, pino, zod" },
      note: `goal ${goal}; baseline = Node with the hub's dependencies alone; hub's Node flags: ${hubFlags}; ${settledNote(at)}`,
    });
    const results: BenchResult[] = [
      rss("idle, no lock (VmRSS)", a.empty.rssMb, "-", a.empty),
      rss(`with ${a.ready.doors.length} locks commissioned, no keys (VmRSS)`, a.commissioned.rssMb, "-", a.commissioned),
      rss(`after ${creds} credentials, settled (VmRSS)`, s.settled.rssMb, "<= 80 MB", s.settled),
      rss(`peak through the snapshot (VmHWM; sampled VmRSS max ${Math.round(s.peakRssMb)} MB)`, s.settled.hwmMb, "<= 80 MB", s.settled),
      {
        name: "pi: hub CPU per provisioned credential (utime+stime from first page to every key active)",
        value: s.cpuMs / creds,
        unit: "ms",
        baseline: { value: (s.boundS * 1000) / creds, unit: "ms", name: "busiest line's wire time per credential" },
        note: `goal <= 0.2 ms; ratio > 1: one core cannot keep up with the wire; ${fleetSize}; ${Math.round(s.cpuMs)} ms CPU in all`,
      },
      {
        name: "pi: snapshot until every key active, over the busiest line's wire-time bound",
        value: s.seconds,
        unit: "s",
        baseline: { value: s.boundS, unit: "s", name: "wire-time bound" },
        note: `goal ratio <= 1.2; ${fleetSize}; ${s.busiest} (kernel socket counters x 10 bits / baud)`,
      },
      ...(b
        ? [
            {
              name: "pi: the same snapshot, hub pinned to one core (taskset -c 0)",
              value: b.snapshot.seconds,
              unit: "s",
              baseline: { value: b.snapshot.boundS, unit: "s", name: "wire-time bound" },
              note: `goal ratio <= 1.2; fresh fleet and store; CPU ${(b.snapshot.cpuMs / creds).toFixed(3)} ms per credential; ${b.snapshot.busiest}`,
            },
          ]
        : []),
      {
        name: "pi: bytes written to disk per provisioned credential (write_bytes, first page to settled)",
        value: s.writeBytes / creds,
        unit: "B",
        baseline: { value: s.payloadBytes / creds, unit: "B", name: "snapshot payload per credential" },
        note: `goal <= 2048 B; ratio = write amplification over what the cloud sent; ${Math.round(s.writeBytes / 1e6)} MB in all`,
      },
      {
        name: `pi: bytes written to disk per delivered lock event (${ev.events} access events, typed until settled)`,
        value: ev.writeBytes / ev.events,
        unit: "B",
        baseline: { value: ev.eventBytes, unit: "B", name: "the event's JSON on evt" },
        note: `goal <= 1024 B; ratio = write amplification over the event itself; ${settledNote(ev.settled)}`,
      },
      {
        name: "pi: time from `lockbridge run` to serving, empty store (state online + status.get answered)",
        value: a.serveMs,
        unit: "ms",
        baseline: { value: baseline.readyMs, unit: "ms", name: "node loading the dependencies alone" },
        note: `hub CPU by then ${Math.round(a.atServe.cpuMs)} ms, baseline's ${Math.round(baseline.sample.cpuMs)} ms`,
      },
      {
        name: `pi: time from \`lockbridge run\` to serving, restarted with that store (${fleetSize})`,
        value: again.serveMs,
        unit: "ms",
        baseline: { value: baseline.readyMs, unit: "ms", name: "node loading the dependencies alone" },
        note: `hub CPU by then ${Math.round(again.atServe.cpuMs)} ms; idle RSS after it ${Math.round(restartedIdle.rssMb)} MB, ${settledNote(restartedIdle)}`,
      },
    ];
    return results;
  } finally {
    for (const r of runs) await endRun(r).catch(() => undefined);
    await mosquitto.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
