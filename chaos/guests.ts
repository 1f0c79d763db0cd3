/**
 * Simulated guests during the chaos run (issue 10: "guests use their codes, cards and phones at
 * random times, inside and outside their windows, at rooms and linked common doors"): every 1–3 s
 * (from a seeded stream of their own, so the faults' stream stays the same for a seed) one guest
 * tries one credential through the simulator's control endpoint, as chaos/doors.ts does at the
 * end: a live key's code, card or phone, a removed or checked-out key's, or one a key gave up
 * (regenerated code, replaced card, new phone pair); at the room, or at the lobby (linked doors).
 * Short-window keys (chaos/traffic.ts) are tried before, in and after their windows.
 *
 * Each try is judged by chaos/guest-verdict.ts from what the cloud saw (retained key and lock
 * statuses), the faults on the lock and the lock's clock (read from the simulator just before
 * the try); the facts are taken before and after the try and must agree, else it is not
 * judged. A violation is kept with the second of the run (chaos/continuous.ts flags it).
 */
import { ControlClient } from "../sim/control/client.js";
import type { ChaosCloud } from "./cloud.js";
import { credentialKind, tryAtDoor, type GuestCredential } from "./credentials.js";
import { judgeTry, type CredentialKind, type TryFacts, type Verdict, type ViolationKind } from "./guest-verdict.js";
import type { GuestKey, HotelTraffic } from "./traffic.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SAMPLES = 10;
/**
 * A memory loss with no power loss after it (the silent fault: no CLOCK_LOST) is found by the
 * hub only when a guest is refused, for the refused kind's table, or at its routine table check
 * (15 minutes): the lock's other tables may stay empty while its status says active. Its lock is
 * not judged "must open" for that long.
 */
const SILENT_LOSS_MS = 15 * 60_000;
/** The power loss that follows a memory loss in the other faults comes within this. */
const POWER_LOSS_AFTER_MS = 5_000;

/** When each door's lock (rooms and the lobby) was last under a fault: the injector's fault calls, and its busy doors sampled. */
export class FaultHistory {
  private readonly last = new Map<string, number>();
  /** door -> when a memory loss came with no power loss after it (yet). */
  private readonly memoryLoss = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private busy: (room: string) => boolean = () => false;

  constructor(private readonly rooms: readonly string[]) {}

  faulted(room: string, at = Date.now()): void {
    this.last.set(room, at);
  }

  /** A fault's name as it is applied (memory-loss, then clock-lost unless it is the silent one). */
  applied(room: string, fault: unknown, at = Date.now()): void {
    if (fault === "memory-loss") this.memoryLoss.set(room, at);
    if (fault === "clock-lost" && at - (this.memoryLoss.get(room) ?? -Infinity) < POWER_LOSS_AFTER_MS) this.memoryLoss.delete(room);
  }

  /** Samples the busy rooms (a timed fault, an installation, the pty bus unplugged: all its rooms). */
  start(busy: (room: string) => boolean, everyMs = 500): void {
    this.busy = busy;
    this.timer = setInterval(() => {
      for (const r of this.rooms) if (this.busy(r)) this.faulted(r);
    }, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Seconds since the room's lock was last under a fault (0 while it is); undefined: never. */
  sinceFaultS(room: string, now = Date.now()): number | undefined {
    if (this.busy(room)) return 0;
    const lost = this.memoryLoss.get(room);
    if (lost !== undefined && now - lost >= POWER_LOSS_AFTER_MS && now - lost < SILENT_LOSS_MS) return 0;
    const t = this.last.get(room);
    return t === undefined ? undefined : (now - t) / 1000;
  }
}

/** The control client the fault injector uses: every `fault` call is noted in the history (one-shot faults leave no busy time to sample). */
export class FaultWatchingControl extends ControlClient {
  constructor(
    port: number,
    private readonly history: FaultHistory,
  ) {
    super(port);
  }

  override async act(ref: string, action: string, body: Record<string, unknown> = {}): Promise<unknown> {
    if (action === "fault") {
      this.history.faulted(ref);
      this.history.applied(ref, body.fault);
    }
    try {
      return await super.act(ref, action, body);
    } finally {
      if (action === "fault") this.history.faulted(ref);
    }
  }
}

export interface GuestsReport {
  tries: number;
  granted: number;
  denied: number;
  /** Tries at the lobby (linked doors), and tries of short-window keys outside their window. */
  atLobby: number;
  outsideWindow: number;
  byCredential: Record<CredentialKind, number>;
  byStanding: Record<GuestTry["standing"], number>;
  judged: number;
  mustOpen: number;
  mustNotOpen: number;
  /** Tries not judged, by why (the first rule that held the verdict back). */
  notJudged: Record<string, number>;
  violations: Record<ViolationKind, number>;
  samples: string[];
}

export interface GuestViolation {
  kind: ViolationKind;
  atMs: number;
  line: string;
}

interface GuestTry {
  key: GuestKey;
  doorId: string;
  kind: CredentialKind;
  credential: GuestCredential;
  standing: "live" | "revoked" | "retired";
  expected: TryFacts["expected"];
}

export interface GuestsDeps {
  control: ControlClient;
  cloud: ChaosCloud;
  traffic: HotelTraffic;
  lockOf: (doorId: string) => string;
  faults: FaultHistory;
  random: () => number;
  log: (line: string) => void;
}

export class Guests {
  readonly violations: GuestViolation[] = [];
  private readonly r: GuestsReport = {
    tries: 0, granted: 0, denied: 0, atLobby: 0, outsideWindow: 0,
    byCredential: { code: 0, card: 0, phone: 0 }, byStanding: { live: 0, revoked: 0, retired: 0 },
    judged: 0, mustOpen: 0, mustNotOpen: 0, notJudged: {},
    violations: { deniedInsideWindow: 0, revokedOpened: 0, retiredOpened: 0, openedOutsideWindow: 0 },
    samples: [],
  };

  constructor(private readonly d: GuestsDeps) {}

  report(): GuestsReport {
    return structuredClone(this.r);
  }

  /** A try every 1–3 s until `endAt`; a try that fails (the simulator busy) is logged and skipped. */
  async run(endAt: number): Promise<void> {
    while (Date.now() < endAt) {
      await sleep(1_000 + this.d.random() * 2_000);
      if (Date.now() >= endAt) break;
      await this.tryOnce().catch((e: unknown) => this.d.log(`guest try failed: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  async tryOnce(): Promise<void> {
    const p = this.pick();
    if (!p) return;
    const lock = (await this.d.control.show(p.doorId)) as { lockTime: string };
    const before = this.facts(p, Date.now(), Math.abs(Date.parse(lock.lockTime) - Date.now()) / 1000);
    const res = await tryAtDoor(this.d.control, p.doorId, p.credential);
    const after = this.facts(p, Date.now(), before.clockErrorS);
    const v = this.agreed(judgeTry(before), judgeTry(after), p);
    this.count(p, before, res.granted, v);
    const violated = (v.verdict === "must_open" && !res.granted) || (v.verdict === "must_not_open" && res.granted);
    if (!violated) return;
    const line = `${v.kind}: ${p.standing} ${p.kind} of ${p.key.keyId} at ${p.doorId} ${res.granted ? "opened" : `denied (reason ${res.reason})`}; expected ${v.verdict === "must_open" ? "to open" : "not to open"}: ${v.why}`;
    this.r.violations[v.kind]++;
    if (this.r.samples.length < SAMPLES) this.r.samples.push(line);
    this.violations.push({ kind: v.kind, atMs: Date.now(), line });
    this.d.log(`guest VIOLATION ${line}`);
  }

  /** The verdict when the facts before and after the try agree (and the credential is still what it was). */
  private agreed(a: Verdict, b: Verdict, p: GuestTry): Verdict {
    if (p.standing === "live" && !this.stillCurrent(p)) return { verdict: "not_judged", why: "credential changed during the try" };
    if (a.verdict !== b.verdict) return { verdict: "not_judged", why: "facts changed during the try" };
    return a;
  }

  private count(p: GuestTry, f: TryFacts, granted: boolean, v: Verdict): void {
    const r = this.r;
    r.tries++;
    if (granted) r.granted++;
    else r.denied++;
    if (p.doorId === "lobby") r.atLobby++;
    if (f.window && (f.nowMs < f.window.validFromMs || f.nowMs >= f.window.validUntilMs)) r.outsideWindow++;
    r.byCredential[p.kind]++;
    r.byStanding[p.standing]++;
    if (v.verdict === "not_judged") r.notJudged[v.why] = (r.notJudged[v.why] ?? 0) + 1;
    else {
      r.judged++;
      if (v.verdict === "must_open") r.mustOpen++;
      else r.mustNotOpen++;
    }
  }

  private facts(p: GuestTry, nowMs: number, clockErrorS: number | undefined): TryFacts {
    const { cloud, traffic } = this.d;
    return {
      nowMs,
      doorId: p.doorId,
      kind: p.kind,
      standing: p.standing,
      expected: p.expected,
      keyStatus: cloud.keyStatuses.get(p.key.keyId),
      keyBusy: traffic.isBusy(p.key.keyId),
      lock: cloud.lockStatuses.get(this.d.lockOf(p.doorId).toLowerCase()),
      // The lobby's controller takes link faults too (chaos/fault-kinds.ts): the history holds it as "lobby".
      sinceFaultS: this.d.faults.sinceFaultS(p.doorId, nowMs),
      clockErrorS: clockErrorS === undefined ? undefined : Math.round(clockErrorS),
      ...(p.key.window && { window: p.key.window }),
    };
  }

  private stillCurrent(p: GuestTry): boolean {
    const k = p.key;
    if (!k.live || k.version !== p.expected.version) return false;
    if (p.kind === "code") return k.code === p.expected.code;
    if (p.kind === "card") return k.cardId === p.expected.cardId;
    return "privateKey" in p.credential && k.phone?.privateKey === p.credential.privateKey;
  }

  /** 55 % a live key, 25 % a removed or checked-out key, 20 % a credential a key gave up; 30 % at the lobby. */
  private pick(): GuestTry | undefined {
    const { traffic, random } = this.d;
    const keys = [...traffic.keys.values()];
    const x = random();
    const toLobby = random() < 0.3;
    const doorOf = (room: string) => (toLobby ? "lobby" : room);
    if (x < 0.2 && traffic.retired.length > 0) {
      const c = traffic.retired[Math.floor(random() * traffic.retired.length)]!;
      const key = traffic.keys.get(c.keyId);
      if (!key) return undefined;
      return { key, doorId: doorOf(c.doorId), kind: credentialKind(c.credential), credential: c.credential, standing: "retired", expected: c.expected };
    }
    const pool = keys.filter((k) => k.live === x < 0.75);
    if (pool.length === 0) return undefined;
    const key = pool[Math.floor(random() * pool.length)]!;
    const uid = key.cardId ? traffic.cards.get(key.cardId)?.uid : undefined;
    const options: GuestTry["credential"][] = [{ code: key.code }, ...(uid ? [{ uid }] : []), ...(key.phone ? [{ privateKey: key.phone.privateKey }] : [])];
    const credential = options[Math.floor(random() * options.length)]!;
    return { key, doorId: doorOf(key.doorId), kind: credentialKind(credential), credential, standing: key.live ? "live" : "revoked", expected: { version: key.version, code: key.code, ...(key.cardId && { cardId: key.cardId }) } };
  }
}
