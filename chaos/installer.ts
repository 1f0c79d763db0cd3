/**
 * The harness as the installer of a replacement lock (the lock-replaced fault): the simulator
 * puts a new lock body at a room's place (new lockId, new setup key on its label, unpaired);
 * the hub sees another lockId answer at the link, reports `lock.replaced` and waits. The
 * installer then does what `lockbridge lock replace` does, through the contract as the cloud
 * would (docs/mqtt-api.md "lock.commission / lock.decommission", src/api/actions.ts):
 * `lock.commission` of the new lockId on the same link with its setup key, `door.upsert`
 * pointing the door at it, `lock.decommission` of the old one. The hub must then give the new
 * lock every live key of the room (the door checks try them all at the end).
 *
 * DoorLocks is the run's door -> lockId map: the snapshots must name the lock a door has now
 * (a snapshot naming the old one would move the door back), and the security-alert rule must
 * know every lockId a room had.
 */
import type { ControlClient } from "../sim/control/client.js";
import type { ChaosCloud } from "./cloud.js";
import { chaosDoors } from "./property.js";
import type { HotelTraffic } from "./traffic.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * How long the installer waits for the hub's lock.replaced before acting anyway (then it takes
 * the old lock out of service first, as `lock replace` does for a lock still in service). A BLE
 * lock's replacement is not seen by the hub: the old peripheral vanishes with the old body, so
 * the hub only finds the old lock offline; there the installer waits briefly.
 */
const DETECT_WAIT_MS = 60_000;
const DETECT_WAIT_BLE_MS = 5_000;
const STEP_ATTEMPTS = 5;

export class DoorLocks {
  /** door -> the lockId it points to now (absent: the lock it was generated with). */
  readonly current = new Map<string, string>();
  /** door -> every lockId it had this run after the first (replacements, oldest first). */
  private readonly later = new Map<string, string[]>();
  /** Replacements installed (a room may be replaced more than once). */
  installed = 0;

  constructor(private readonly locks: number) {}

  lockOf(doorId: string): string {
    return this.current.get(doorId) ?? String(chaosDoors(this.locks).find((d) => d.doorId === doorId)?.lockId);
  }

  /** Every lockId the door had this run, the generated one first. */
  history(doorId: string): string[] {
    return [String(chaosDoors(this.locks).find((d) => d.doorId === doorId)?.lockId), ...(this.later.get(doorId) ?? [])];
  }

  moved(doorId: string, lockId: string): void {
    this.current.set(doorId, lockId);
    this.installed++;
    this.later.set(doorId, [...(this.later.get(doorId) ?? []), lockId]);
  }
}

export interface InstallerDeps {
  cloud: ChaosCloud;
  control: ControlClient;
  traffic: HotelTraffic;
  doors: DoorLocks;
  locks: number;
  bleRooms: ReadonlySet<string>;
  log: (line: string) => void;
}

interface SimDoor {
  doorId: string;
  lockId: string;
  profile: string;
  link: Record<string, unknown>;
  setupKey: string | null;
}

/** Installs the lock now at `doorId` (`newLockId`) in place of `oldLockId`; throws when a step stays refused. */
export async function installReplacement(d: InstallerDeps, doorId: string, oldLockId: string, newLockId: string): Promise<void> {
  const detectedAt = Date.now() + (d.bleRooms.has(doorId) ? DETECT_WAIT_BLE_MS : DETECT_WAIT_MS);
  while (d.cloud.events.replacedLocks.get(oldLockId) !== newLockId && Date.now() < detectedAt) await sleep(500);
  const detected = d.cloud.events.replacedLocks.get(oldLockId) === newLockId;
  // The label (link, profile, setup key) as the installer reads it off the new lock.
  const ready = (await d.control.ready()) as { doors: SimDoor[] };
  const sim = ready.doors.find((x) => x.doorId === doorId);
  if (!sim || sim.lockId !== newLockId) throw new Error(`${doorId}: the simulator shows ${sim?.lockId ?? "no lock"}, not ${newLockId}`);
  const door = chaosDoors(d.locks).find((x) => x.doorId === doorId)!;
  d.log(`  installer: ${doorId} ${oldLockId} -> ${newLockId} (hub ${detected ? "reported lock.replaced" : "did not report lock.replaced"})`);
  // No snapshot between the steps: one sent between commission and door.upsert would point the door back.
  await d.traffic.whileNoSnapshot(async () => {
    // Not seen as replaced: the old lock still holds the address, so it goes first (as `lock replace` does).
    if (!detected) await step(d, { cmd: "lock.decommission", lockId: oldLockId, wipe: false });
    await step(d, { cmd: "lock.commission", lockId: newLockId, profile: sim.profile, link: sim.link, ...(sim.setupKey ? { setupKey: sim.setupKey } : {}) });
    await step(d, { cmd: "door.upsert", ...door, lockId: newLockId });
    d.doors.moved(doorId, newLockId);
    if (detected) await step(d, { cmd: "lock.decommission", lockId: oldLockId, wipe: false });
  });
}

/** One installer command, sent until answered; a refusal is tried again a few times (the hub may be restarting). */
async function step(d: InstallerDeps, command: Record<string, unknown>): Promise<void> {
  let last = "no answer";
  for (let attempt = 1; attempt <= STEP_ATTEMPTS; attempt++) {
    const r = await d.cloud.send(command, { giveUpMs: 180_000 });
    if (r?.ok) return;
    last = r ? `${r.error.code}: ${r.error.message}` : "no answer";
    d.log(`  installer: ${String(command.cmd)} ${String(command.lockId)} attempt ${attempt}: ${last}`);
    await sleep(3_000);
  }
  throw new Error(`installer: ${String(command.cmd)} ${String(command.lockId)} refused: ${last}`);
}

/**
 * How long the installer gives the hub, after a SIGKILL that interrupted a PAIR_KX, to either
 * re-pair the lock on its own or report it `pairing_lost`. (LLP v1.1 §8: the lock takes the new
 * key when it answers, and the hub's private key is never stored; a hub killed between the two
 * leaves the lock holding a key nobody has. The hub then can only report it: the lock refuses
 * PAIR_KX until its pairing button is pressed. See docs/reliability.md.)
 */
const INTERRUPTED_PAIRING_WAIT_MS = 120_000;

/**
 * After a mid-pairing kill: if the hub reports the room's lock `pairing_lost` (its retained lock
 * status), the installer does what the hub's message asks: presses the lock's pairing button and
 * commissions it again (the same lockId, link, profile and setup key, as `lockbridge lock
 * recommission` does). Resolves whether the installer had to act.
 */
export async function repairInterruptedPairing(d: InstallerDeps, doorId: string): Promise<boolean> {
  const lockId = d.doors.lockOf(doorId).toLowerCase();
  const until = Date.now() + INTERRUPTED_PAIRING_WAIT_MS;
  while (d.cloud.lockStates.get(lockId) !== "pairing_lost" && Date.now() < until) await sleep(1_000);
  if (d.cloud.lockStates.get(lockId) !== "pairing_lost") return false;
  const ready = (await d.control.ready()) as { doors: SimDoor[] };
  const sim = ready.doors.find((x) => x.doorId === doorId);
  if (!sim || sim.lockId.toLowerCase() !== lockId) throw new Error(`${doorId}: the simulator shows ${sim?.lockId ?? "no lock"}, not ${lockId}`);
  d.log(`  installer: ${doorId} (${lockId}) reported pairing_lost after an interrupted pairing: pairing button, then lock.commission again`);
  const command = { cmd: "lock.commission", lockId, profile: sim.profile, link: sim.link, ...(sim.setupKey ? { setupKey: sim.setupKey } : {}) };
  let last = "no answer";
  for (let attempt = 1; attempt <= STEP_ATTEMPTS; attempt++) {
    // Pressed again each attempt: pairing mode lasts 2 minutes, an answer may take longer.
    await d.control.act(doorId, "pair-button", {});
    const r = await d.cloud.send(command, { giveUpMs: 180_000 });
    if (r?.ok) return true;
    last = r ? `${r.error.code}: ${r.error.message}` : "no answer";
    d.log(`  installer: lock.commission ${lockId} after pairing_lost, attempt ${attempt}: ${last}`);
    await sleep(3_000);
  }
  throw new Error(`installer: lock.commission ${lockId} after pairing_lost refused: ${last}`);
}
