/**
 * The chaos run's faults, drawn from their own seeded generator (the same seed gives the same
 * faults in the same order, however the traffic's timing went), each counted by kind:
 *
 * - the hub: SIGKILL + restart at any moment, and SIGKILL deliberately between two pages of a
 *   sync.snapshot (the cloud sends the rest again until answered);
 * - the broker: restart (1–5 s down), and unreachable without a restart (SIGSTOP for 2–10 s:
 *   connections stay open, nothing answers, until SIGCONT);
 * - a room's lock, through the simulator's control endpoint, one timed fault per lock at a
 *   time, each for 5–30 s: offline, flaky link (frames dropped, answers bit-flipped), noisy link
 *   (garbage bytes before answers), slow link, full memory; and once: memory loss (a power loss
 *   that wipes the credential slots: the hub must provision the lock again at once), silent
 *   memory loss (no power loss: found when a guest is refused), power loss
 *   (RTC reset), clock jump (±1 min to ±2 days), clock drift (±500–20,000 ppm, left on: the
 *   hub's drift check corrects it) and factory reset (the hub re-pairs a PAIR_KX lock with the
 *   setup key on file and provisions it again); and replaced (a new lock body, new lockId and
 *   setup key: the hub reports lock.replaced and the harness installs it, chaos/installer.ts);
 * - the socat pty bus: unplugged for 5–30 s (the serial device vanishes), then back;
 * - a BLE room's lock: its BLE connection dropped by the proxy every 1–3 s for 5–30 s (a
 *   phone or a door in the way; the hub must reconnect and finish what it was writing);
 * - the data dir's disk (a 256 MiB tmpfs when the run is root): full for 5–30 s, then freed
 *   (the hub must stay up: commands it cannot commit are answered "data disk is full" and
 *   resent by the cloud with the same id).
 *
 * Timed faults run in the background (the next fault does not wait for them); settle() lifts
 * them all before the invariants are checked. A fault that could not be injected is logged and
 * not counted.
 */
import type { ControlClient } from "../sim/control/client.js";
import type { Mosquitto } from "../test/helpers/mosquitto.js";
import { credentialKind, tryAtDoor, type GuestCredential } from "./credentials.js";
import type { DataDisk } from "./disk.js";
import type { HotelTraffic } from "./traffic.js";
import { REPAIRING_MSG } from "../src/provisioning/reconcile/pairing-recovery.js";
import { KINDS, sign, type Kind } from "./fault-kinds.js";

export interface FaultTargets {
  /** SIGKILLs the hub, waits `downMs`, starts it again (resolves once it logged "hub started"). */
  restartHub(downMs: number): Promise<void>;
  broker: Mosquitto;
  /** The hub's data dir on its own small disk (null: it cannot be filled). */
  disk: DataDisk | null;
  control: ControlClient;
  rooms: readonly string[];
  /** Rooms on the socat pty bus (one bus). */
  ptyRooms: readonly string[];
  /** Rooms whose lock is behind the BLE proxy. */
  bleRooms: readonly string[];
  traffic: HotelTraffic;
  /** Resolves true once the hub (the process running now) logs `msg`, false after `timeoutMs`. */
  hubLogged(msg: string, timeoutMs: number): Promise<boolean>;
  /** The lockId a room's door points to now. */
  lockOf(room: string): string;
  /** Acts as the installer of the new lock at `room` (chaos/installer.ts). */
  install(room: string, oldLockId: string, newLockId: string): Promise<void>;
  /** After a mid-pairing kill: re-pairs the room's lock as an installer if the hub reports it pairing_lost; true if it had to. */
  repairInterruptedPairing(room: string): Promise<boolean>;
  random: () => number;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FaultInjector {
  readonly counts: Record<string, number> = {};
  /** Rooms whose lock was factory reset (a lock.security_alert from them is expected). */
  readonly resetRooms = new Set<string>();
  /** Rooms whose lock was replaced (their old and new locks' alerts are expected too). */
  readonly replacedRooms = new Set<string>();
  /** Replacements and re-pairings the installer could not finish (violations). */
  readonly installerErrors: string[] = [];
  /** Locks the installer re-paired (pairing button) after a kill interrupted PAIR_KX. */
  installerRepairs = 0;
  /** When the last fault ended (timed lock faults: when they were lifted). */
  lastFaultEndAt = Date.now();
  private readonly busy = new Set<string>();
  private readonly background = new Set<Promise<void>>();
  private readonly kinds: Kind[];
  private readonly total: number;

  /** `only`: draw just the kinds whose name contains one of these (a targeted run). */
  constructor(
    readonly t: FaultTargets,
    only?: readonly string[],
  ) {
    this.kinds = only && only.length > 0 ? KINDS.filter((k) => only.some((o) => k.name.includes(o))) : KINDS.filter((k) => !k.optIn);
    if (this.kinds.length === 0) throw new Error(`no fault kind matches ${only?.join(", ")}`);
    this.total = this.kinds.reduce((n, k) => n + k.weight, 0);
  }

  /** Whether a timed fault holds the room's lock now (read-only: the guests' judge skips it). */
  isBusy(room: string): boolean {
    return this.busy.has(room);
  }

  random(): number {
    return this.t.random();
  }

  between(min: number, max: number): number {
    return min + this.t.random() * (max - min);
  }

  /** Mean gap `everyMs`, until `endAt`; then lifts every timed fault. */
  async run(everyMs: number, endAt: number): Promise<void> {
    while (Date.now() < endAt) {
      await sleep(Math.min(everyMs / 2 + this.random() * everyMs, Math.max(0, endAt - Date.now())));
      if (Date.now() >= endAt) break;
      await this.injectOne();
    }
    await this.settle();
  }

  /** Draws one fault and injects it; hub and broker faults are waited for, timed lock faults are not. */
  async injectOne(): Promise<string> {
    let x = this.random() * this.total;
    const kind = this.kinds.find((k) => (x -= k.weight) < 0) ?? this.kinds[0]!;
    try {
      await kind.run(this);
      this.counts[kind.name] = (this.counts[kind.name] ?? 0) + 1;
    } catch (e) {
      this.t.log(`fault ${kind.name} not injected: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.lastFaultEndAt = Math.max(this.lastFaultEndAt, Date.now());
    this.t.log(`fault: ${kind.name} ${JSON.stringify(this.counts)}`);
    return kind.name;
  }

  /** Ends every timed fault still on (waits for them). */
  async settle(): Promise<void> {
    await Promise.all([...this.background]);
    this.lastFaultEndAt = Math.max(this.lastFaultEndAt, Date.now());
  }

  async killMidSnapshot(): Promise<void> {
    let killed = false;
    const completed = await this.t.traffic.snapshot(async (page, pages) => {
      // Between two pages: some pages are stored, the rest come after the restart.
      if (killed || page < Math.ceil(pages / 2)) return;
      killed = true;
      await this.t.restartHub(this.between(0, 1_000));
    });
    // A one-page snapshot has no "between": the hub is killed right after it instead.
    if (!killed) await this.t.restartHub(this.between(0, 1_000));
    if (!completed) this.t.log("snapshot did not complete");
  }

  async brokerRestart(): Promise<void> {
    await this.t.broker.stop();
    await sleep(this.between(1_000, 5_000));
    await this.t.broker.start();
  }

  async brokerPaused(): Promise<void> {
    if (!this.t.broker.signal("SIGSTOP")) throw new Error("broker not running");
    try {
      await sleep(this.between(2_000, 10_000));
    } finally {
      this.t.broker.signal("SIGCONT");
    }
  }

  /** The data dir's disk full for 5–30 s (a ballast file to the last byte), then freed. */
  async diskFull(): Promise<void> {
    const disk = this.t.disk;
    if (!disk) throw new Error("the data dir is not on a disk of its own (not root, or no mount)");
    const bytes = disk.fill();
    this.t.log(`  data disk full (${Math.round(bytes / 1048576)} MiB of ballast)`);
    try {
      await sleep(this.between(5_000, 30_000));
    } finally {
      disk.free();
    }
  }

  /** A room's lock takes `apply` now and `lift` 5–30 s later (in the background). */
  async lockFault(apply: string[], lift: string[], among: readonly string[] = this.t.rooms): Promise<void> {
    const room = this.takeRoom(among);
    try {
      await this.act(room, apply);
    } catch (e) {
      this.busy.delete(room);
      throw e;
    }
    const holdMs = this.between(5_000, 30_000);
    this.inBackground(room, async () => {
      await sleep(holdMs);
      await this.act(room, lift).catch((e: unknown) => this.t.log(`cannot lift ${apply[0]} on ${room}: ${String(e)}`));
    });
  }

  /** The pty bus vanishes for 5–30 s (every lock on it unreachable), then comes back on the same path. */
  async unplugSerial(): Promise<void> {
    const rooms = this.t.ptyRooms;
    if (rooms.length === 0) throw new Error("no room on a pty bus");
    if (rooms.some((r) => this.busy.has(r))) throw new Error("a lock on the pty bus is under a timed fault");
    for (const r of rooms) this.busy.add(r);
    try {
      await this.act(rooms[0]!, ["unplug"]);
    } catch (e) {
      for (const r of rooms) this.busy.delete(r);
      throw e;
    }
    const holdMs = this.between(5_000, 30_000);
    this.inBackground(rooms, async () => {
      await sleep(holdMs);
      await this.act(rooms[0]!, ["replug"]).catch((e: unknown) => this.t.log(`cannot replug the pty bus: ${String(e)}`));
    });
  }

  /** A BLE lock's connection dropped (`sim fault ble-drop`) every 1–3 s for 5–30 s, in the background. */
  async bleDrops(): Promise<void> {
    const room = this.takeRoom(this.t.bleRooms);
    try {
      await this.act(room, ["ble-drop"]);
    } catch (e) {
      this.busy.delete(room);
      throw e;
    }
    const until = Date.now() + this.between(5_000, 30_000);
    const gaps = Array.from({ length: 30 }, () => this.between(1_000, 3_000));
    this.inBackground(room, async () => {
      for (const gap of gaps) {
        await sleep(gap);
        if (Date.now() >= until) break;
        await this.act(room, ["ble-drop"]).catch((e: unknown) => this.t.log(`cannot drop ${room}'s BLE connection: ${String(e)}`));
      }
    });
  }

  /**
   * A room's lock is factory reset on a slow link (0.4–1.2 s an answer, so the PAIR_KX exchange
   * takes seconds), and the hub is SIGKILLed 0–1.5 s after it logged that it started re-pairing:
   * its pending link key may be stored or not, the lock may hold the new key or not. After the
   * restart the hub must pair it again and provision it, without a security alert.
   */
  async killMidPairing(): Promise<void> {
    const room = this.takeRoom();
    let killed = false;
    try {
      await this.act(room, ["slow", String(Math.round(this.between(400, 1_200)))]);
      const started = this.t.hubLogged(REPAIRING_MSG, 60_000);
      await this.act(room, ["factory-reset"]);
      this.resetRooms.add(room);
      if (!(await started)) throw new Error(`the hub did not start re-pairing ${room} within 60 s`);
      await sleep(this.between(0, 1_500));
      await this.t.restartHub(this.between(0, 2_000));
      killed = true;
    } finally {
      await this.act(room, ["online"]).catch((e: unknown) => this.t.log(`cannot lift slow on ${room}: ${String(e)}`));
      if (!killed) {
        this.busy.delete(room);
        this.lastFaultEndAt = Math.max(this.lastFaultEndAt, Date.now());
      }
    }
    // The kill may have fallen after the lock took the new key (it does on answering): then the
    // hub reports pairing_lost and the installer presses the pairing button (the room stays taken).
    this.inBackground(room, async () => {
      try {
        if (await this.t.repairInterruptedPairing(room)) this.installerRepairs++;
      } catch (e) {
        this.installerErrors.push(`${room}: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
  }

  /** Factory reset of a room's (PAIR_KX) lock: the hub must re-pair it with its setup key and provision it again. */
  async factoryReset(): Promise<void> {
    const room = this.takeRoom();
    try {
      await this.act(room, ["factory-reset"]);
      this.resetRooms.add(room);
    } finally {
      this.busy.delete(room);
    }
  }

  /**
   * A room's lock replaced by a new one (`sim fault replaced`: new lockId, new setup key); the
   * installer (in the background, the room taken meanwhile) commissions it once the hub reported
   * lock.replaced. Counted when injected; a failed installation is a violation.
   */
  async lockReplaced(): Promise<void> {
    const room = this.takeRoom();
    const oldLockId = this.t.lockOf(room);
    let newLockId: string;
    try {
      newLockId = ((await this.act(room, ["replaced"])) as { lockId: string }).lockId;
      this.replacedRooms.add(room);
    } catch (e) {
      this.busy.delete(room);
      throw e;
    }
    this.inBackground(room, async () => {
      await this.t.install(room, oldLockId, newLockId).catch((e: unknown) => this.installerErrors.push(`${room}: ${e instanceof Error ? e.message : String(e)}`));
    });
  }

  /**
   * A room's credential memory lost without a power loss (EEPROM corruption: no CLOCK_LOST, the
   * lock says nothing). The hub cannot know until a guest is refused: 2–20 s later a guest of
   * the room tries a live code (refused), and the room stays taken for 60 s, the time the hub
   * has to check the table after the refusal and put the codes back (the door checks and the
   * guests judge it after that).
   */
  async silentMemoryLoss(): Promise<void> {
    const room = this.takeRoom();
    try {
      await this.act(room, ["memory-loss"]);
    } catch (e) {
      this.busy.delete(room);
      throw e;
    }
    this.inBackground(room, async () => {
      await sleep(this.between(2_000, 20_000));
      const tried = await this.guestTries(room);
      this.t.log(`  ${room}: ${tried ? `a guest's ${tried} tried after the silent memory loss` : "no live key in the room to try"}`);
      await sleep(60_000);
    });
  }

  pick<T>(choices: readonly T[]): T {
    return choices[Math.floor(this.random() * choices.length)]!;
  }

  /**
   * Several faults on one lock at once, as a bad day brings them: a slow and flaky link, then
   * while it lasts a clock jump and a power loss that takes the credential memory, all lifted
   * together after 5–30 s. The hub must come out of it with the lock's tables and clock right.
   */
  async stackedFaults(): Promise<void> {
    const room = this.takeRoom();
    const holdMs = this.between(5_000, 30_000);
    try {
      await this.act(room, ["slow", String(Math.round(this.between(200, 1_000)))]);
      await this.act(room, ["flaky", this.between(0.1, 0.3).toFixed(2), this.between(0.02, 0.1).toFixed(2), String(Math.floor(this.between(1, 1e6)))]);
    } catch (e) {
      await this.act(room, ["online"]).catch(() => undefined);
      this.busy.delete(room);
      throw e;
    }
    const jumpS = Math.round(sign(this) * this.between(60, 2 * 86_400));
    this.inBackground(room, async () => {
      try {
        await sleep(holdMs / 3);
        await this.act(room, ["clock-jump", String(jumpS)]);
        await sleep(holdMs / 3);
        await this.act(room, ["memory-loss"]);
        await this.act(room, ["clock-lost"]);
        await sleep(holdMs / 3);
      } finally {
        await this.act(room, ["online"]).catch((e: unknown) => this.t.log(`cannot lift the stacked faults on ${room}: ${String(e)}`));
      }
    });
  }

  /** A guest of the room tries a live credential (code, else card, else phone); which one, or null. */
  private async guestTries(room: string): Promise<string | null> {
    const { traffic, control } = this.t;
    const keys = [...traffic.keys.values()].filter((k) => k.live && k.doorId === room);
    const withCode = keys.find((k) => k.codeAssigned);
    const uid = keys.map((k) => (k.cardId ? traffic.cards.get(k.cardId)?.uid : undefined)).find((u) => u !== undefined);
    const phone = keys.find((k) => k.phone)?.phone;
    const credential: GuestCredential | undefined = withCode ? { code: withCode.code } : uid ? { uid } : phone ? { privateKey: phone.privateKey } : undefined;
    if (!credential) return null;
    await tryAtDoor(control, room, credential).catch((e: unknown) => this.t.log(`  ${room}: the guest's try failed: ${String(e)}`));
    return credentialKind(credential);
  }

  /** Faults that happen once (nothing to lift), applied in order to one room's lock. */
  async lockOnce(...faults: string[][]): Promise<void> {
    const room = this.takeRoom();
    try {
      for (const f of faults) await this.act(room, f);
    } finally {
      this.busy.delete(room);
    }
  }

  private act(room: string, [fault, ...args]: string[]): Promise<unknown> {
    this.t.log(`  ${room}: ${[fault, ...args].join(" ")}`);
    return this.t.control.act(room, "fault", { fault, args });
  }

  /** Runs the rest of a fault in the background with its rooms taken; frees them and marks the fault's end however it ends. */
  private inBackground(rooms: string | readonly string[], body: () => Promise<void>): void {
    const taken = typeof rooms === "string" ? [rooms] : rooms;
    const run = body()
      .catch((e: unknown) => this.t.log(`fault step failed on ${taken.join(", ")}: ${String(e)}`))
      .finally(() => {
        for (const r of taken) this.busy.delete(r);
        this.lastFaultEndAt = Math.max(this.lastFaultEndAt, Date.now());
      });
    this.background.add(run);
    void run.then(() => this.background.delete(run));
  }

  private takeRoom(among: readonly string[] = this.t.rooms): string {
    if (among.length === 0) throw new Error("no such room in this property");
    const free = among.filter((r) => !this.busy.has(r));
    if (free.length === 0) throw new Error("every such lock is under a timed fault");
    const room = free[Math.floor(this.random() * free.length)]!;
    this.busy.add(room);
    return room;
  }
}
