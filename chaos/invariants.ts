/**
 * The end-of-run checks of the chaos harness (issue 10's invariants, the ones this harness
 * covers): every acknowledged command answered; a final snapshot of the cloud's state adds and
 * removes nothing at the hub; every event delivered, none missing, no seq reused, no unasked
 * duplicate within one session (chaos/events-check.ts); the hub
 * converges (status.get: nothing pending or failed, which the hub decides by TABLE_DIGEST),
 * lock clocks are right again and the doors agree (chaos/doors.ts); no door code or card UID
 * in the hub's logs.
 */
import type { ControlClient } from "../sim/control/client.js";
import type { ChaosCloud, CloudCounts } from "./cloud.js";
import { leakedSecrets, type ContinuousReport } from "./continuous.js";
import { checkClocks, checkDoors } from "./doors.js";
import { checkEvents, type EventsReport } from "./events-check.js";
import { storeSize, type ResourceSampler } from "./resources.js";
import type { GuestsReport } from "./guests.js";
import type { HotelTraffic } from "./traffic.js";

export interface Report {
  durationS: number;
  locks: number;
  ptyLocks: number;
  /** Room locks behind the BLE proxy (codes and smart keys). */
  bleLocks: number;
  commands: CloudCounts;
  traffic: Record<string, number>;
  snapshots: { sent: number; completed: number };
  events: EventsReport;
  faults: Record<string, number>;
  /** Every fault that SIGKILLed the hub (plain, mid-snapshot, mid-pairing). */
  hubSigkills: number;
  /** Locks replaced (the lock-replaced fault): the hub's lock.replaced events, and replacements installed. */
  replacedLocks: { reportedByHub: number; installed: number };
  /** Mid-pairing kills that left the lock holding a key the hub never stored (reported pairing_lost), re-paired by the installer with the pairing button. */
  interruptedPairingsRepairedByInstaller: number;
  /** lock.security_alert events: from locks the run factory reset or replaced (expected), from any other lock (a violation). */
  securityAlerts: { expected: number; unexpected: number; reasons: Record<string, number> };
  /** The hub exited on its own (and was started again, as systemd would): how and the last lines. */
  hubExits: readonly string[];
  convergenceS: number | null;
  doorChecks: number;
  /** Peak RSS of any hub process of the run (sampled every 5 s), and RSS/open files at the end. */
  peakRssMiB: number;
  maxOpenFiles: number;
  atEnd: { rssMiB: number; openFiles: number };
  storeMiB: number;
  /** Simulated guests during the run (chaos/guests.ts): tries, verdicts, violations by kind. */
  guests: GuestsReport;
  /** The checks made during the run (chaos/continuous.ts). */
  continuous: ContinuousReport;
  violations: string[];
}

export interface InvariantInput {
  cloud: ChaosCloud;
  traffic: HotelTraffic;
  control: ControlClient;
  hubOutput: readonly string[];
  lastFaultAt: number;
  startedAt: number;
  locks: number;
  ptyLocks: number;
  bleLocks: number;
  faults: Record<string, number>;
  /** Rooms whose lock was factory reset or replaced: security alerts from their locks are expected. */
  resetRooms: ReadonlySet<string>;
  replacedRooms: ReadonlySet<string>;
  /** Every lockId a door had this run (chaos/installer.ts DoorLocks). */
  lockHistory: (doorId: string) => string[];
  /** Lock replacements the harness (the installer) could not finish. */
  installerErrors: readonly string[];
  installed: number;
  installerRepairs: number;
  /** Hub processes that exited on their own (restarted by the harness). */
  hubExits: readonly string[];
  dataDir: string;
  resources: ResourceSampler;
  /** The checks made during the run: their violations join the end's, their report is kept. */
  continuous: { violations: readonly string[] };
  continuousReport: ContinuousReport;
  guests: GuestsReport;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function checkInvariants(i: InvariantInput): Promise<Report> {
  const violations: string[] = [];
  const { cloud, traffic } = i;

  // 1. Acknowledged commands answered, and applied: the hub holds what the cloud was told it holds.
  for (const id of cloud.unanswered.keys()) violations.push(`command ${id} acknowledged by the broker, never answered`);
  await traffic.snapshot();
  violations.push(...traffic.snapshots.differences);

  // 3. Convergence: the hub has nothing pending or failed.
  i.log("waiting for convergence");
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
  const offClocks = await checkClocks(i.control, 180_000);
  if (offClocks.length > 0) violations.push(`lock clocks still off by more than a minute 3 minutes after convergence: ${offClocks.slice(0, 10).join(", ")}`);

  // 4. ... and the doors agree.
  i.log("trying codes and cards at the doors");
  const doors = await checkDoors(i.control, cloud, traffic);
  violations.push(...doors.violations);

  // 2. Events: none missing (a resend is asked for first), no violating duplicate, no seq reused.
  const events = await checkEvents(cloud, violations, 5_000);

  // Security alerts: expected only from locks the run factory reset or replaced (old and new lockIds).
  const resetLockIds = new Set([...i.resetRooms, ...i.replacedRooms].flatMap((room) => i.lockHistory(room)));
  for (const e of i.installerErrors) violations.push(`installer: ${e}`);
  const securityAlerts = { expected: 0, unexpected: 0, reasons: {} as Record<string, number> };
  for (const a of cloud.events.securityAlerts) {
    securityAlerts.reasons[a.reason] = (securityAlerts.reasons[a.reason] ?? 0) + 1;
    if (resetLockIds.has(a.lockId)) securityAlerts.expected++;
    else {
      securityAlerts.unexpected++;
      violations.push(`lock.security_alert (${a.reason}) from ${a.lockId}, a lock the run did not reset`);
    }
  }

  // 6. No secret in logs (also checked every 10 s during the run: chaos/continuous.ts).
  const leaked = leakedSecrets(i.hubOutput, traffic.codes, traffic.uids);
  if (leaked.codes > 0) violations.push(`${leaked.codes} door codes appear in the hub's log`);
  if (leaked.uids > 0) violations.push(`${leaked.uids} card UIDs appear in the hub's log`);
  violations.push(...i.continuous.violations);

  return {
    durationS: Math.round((Date.now() - i.startedAt) / 1000),
    locks: i.locks,
    ptyLocks: i.ptyLocks,
    bleLocks: i.bleLocks,
    commands: cloud.counts,
    traffic: traffic.actions,
    snapshots: { sent: traffic.snapshots.sent, completed: traffic.snapshots.completed },
    events,
    faults: i.faults,
    hubSigkills: Object.entries(i.faults).reduce((n, [kind, count]) => (kind.startsWith("hub SIGKILL") ? n + count : n), 0),
    replacedLocks: { reportedByHub: cloud.events.replacedLocks.size, installed: i.installed },
    interruptedPairingsRepairedByInstaller: i.installerRepairs,
    securityAlerts,
    hubExits: i.hubExits,
    convergenceS,
    doorChecks: doors.checks,
    peakRssMiB: (i.resources.stop(), i.resources.peakRssMiB),
    maxOpenFiles: i.resources.maxOpenFiles,
    atEnd: i.resources.last,
    storeMiB: storeSize(i.dataDir),
    guests: i.guests,
    continuous: i.continuousReport,
    violations,
  };
}
