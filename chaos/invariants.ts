/**
 * The end-of-run checks of the chaos harness (issue 10's invariants, the ones this harness
 * covers): every acknowledged command answered; every event delivered exactly once after
 * de-duplication by seq, none missing; the hub converges (status.get: nothing pending or
 * failed, which the hub decides by TABLE_DIGEST) and the doors agree (live codes open their
 * room, revoked ones do not); no door code in the hub's logs.
 */
import { statSync } from "node:fs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ChaosCloud, CloudCounts } from "./cloud.js";
import { checkEvents, type EventsReport } from "./events-check.js";
import { runLockbridge } from "./procs.js";
import type { HotelTraffic } from "./traffic.js";

export interface Report {
  durationS: number;
  locks: number;
  commands: Pick<CloudCounts, "sent" | "acknowledged" | "answered" | "applied" | "refused">;
  events: EventsReport;
  faults: Record<string, number>;
  convergenceS: number | null;
  doorChecks: number;
  peakRssMiB: number | null;
  storeMiB: number;
  violations: string[];
}

export interface InvariantInput {
  cloud: ChaosCloud;
  traffic: HotelTraffic;
  hubOutput: readonly string[];
  controlArgs: string[];
  lastFaultAt: number;
  startedAt: number;
  locks: number;
  faults: Record<string, number>;
  dataDir: string;
  hubPid: number | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function checkInvariants(i: InvariantInput): Promise<Report> {
  const violations: string[] = [];
  const { cloud } = i;

  // 1. Acknowledged commands answered.
  for (const id of i.cloud.unanswered.keys()) violations.push(`command ${id} acknowledged by the broker, never answered`);

  // 3. Convergence: the hub has nothing pending or failed.
  let convergenceS: number | null = null;
  for (let t = 0; t < 240; t++) {
    const r = await cloud.send({ cmd: "status.get" }, { giveUpMs: 20_000 });
    const creds = r?.ok ? (r.result as { credentials?: { pending: number; failed: number } }).credentials : undefined;
    if (creds && creds.pending === 0 && creds.failed === 0) {
      convergenceS = (Date.now() - i.lastFaultAt) / 1000;
      break;
    }
    await sleep(1_000);
  }
  if (convergenceS === null) violations.push("the hub did not converge (credentials pending or failed) within 4 minutes of the last fault");

  // ... and the doors agree.
  let doorChecks = 0;
  const keys = [...i.traffic.keys.values()];
  const sample = [...keys.filter((k) => k.live).slice(-15), ...keys.filter((k) => !k.live).slice(-8)];
  for (const k of sample) {
    const r = await runLockbridge(["sim", "code", k.doorId, k.code, ...i.controlArgs]);
    doorChecks++;
    const granted = r.stdout.startsWith("ACCESS GRANTED");
    if (granted !== k.live) violations.push(`${k.keyId} (${k.live ? "live" : "revoked"}) at ${k.doorId}: ${r.stdout.trim() || r.stderr.trim()}`);
  }

  // 2. Events: exactly once after de-duplication, none missing (a resend is asked for first).
  const events = await checkEvents(cloud, violations);

  // 5. No secret in logs.
  // Command ids and boot ids are UUIDs: their hex holds 6-digit runs that match some code by
  // chance (thousands of ids and codes in a 2-minute run), so they are taken out first.
  const text = i.hubOutput.join("\n").replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<uuid>");
  for (const code of i.traffic.codes) {
    if (new RegExp(`(?<!\\d)${code}(?!\\d)`).test(text)) violations.push(`a door code appears in the hub's log`);
  }

  return {
    durationS: Math.round((Date.now() - i.startedAt) / 1000),
    locks: i.locks,
    commands: { sent: cloud.counts.sent, acknowledged: cloud.counts.acknowledged, answered: cloud.counts.answered, applied: cloud.counts.applied, refused: cloud.counts.refused },
    events,
    faults: i.faults,
    convergenceS,
    doorChecks,
    peakRssMiB: peakRss(i.hubPid),
    storeMiB: storeSize(i.dataDir),
    violations,
  };
}

/** VmHWM of the hub process now running (peak RSS since its last restart). */
function peakRss(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

function storeSize(dataDir: string): number {
  let bytes = 0;
  for (const f of ["lockbridge.db", "lockbridge.db-wal"]) {
    try {
      bytes += statSync(join(dataDir, f)).size;
    } catch {
      // absent WAL
    }
  }
  return Math.round(bytes / 104857.6) / 10;
}
