/**
 * Over 400 lines: one simulated lock's whole command set over one state (tables, sealing,
 * retry cache, event ring, firmware buffer); per-command behaviours in their own modules, as
 * Z-Wave JS's mock nodes have, is the planned split.
 */
import { randomBytes } from "node:crypto";
import {
  Capability, Cmd, commandName, CredentialKind, decodeFrame, decodeRequestBody, encodeEventNotify, encodeFrame,
  encodeMessage, encodeNakBody, EventType, freshKxKeyPair, NakCode, openFrame, BLE_ADDR,
  type Frame, type KxKeyPair, type LlpCommandName, type LockEvent, type SlotInfo,
} from "../../src/protocol/llp/index.js";
import { isLockBridgeError } from "../../src/shared/errors.js";
import { systemClock, type Clock, type TimerHandle } from "../../src/shared/clock.js";
import { DEFAULT_BEHAVIORS, statusFlags } from "./behaviors/index.js";
import type { Behavior, LockContext, LockState, NakDetail, Outcome, ResolvedBehaviourOptions } from "./context.js";
import { CredentialTable } from "./credential-table.js";
import * as door from "./door.js";
import { EventRing } from "./event-ring.js";
import { LockClock } from "./lock-clock.js";
import { resolveProfile, type BuiltinProfileName, type LockProfile } from "./profile.js";
import { seededRandom } from "../../src/shared/random.js";
import type { SimLockState } from "./state.js";

export interface SimLockOptions {
  /** 16 hex digits; default "4c42" + 12 random hex digits. */
  lockId?: string;
  /** Bus address 1..250 (BLE locks use 0x01). Default 1. */
  address?: number;
  /** A built-in model name or profile fields (missing fields from "sim-room"). */
  profile?: BuiltinProfileName | Partial<LockProfile>;
  /** Base clock (the lock's RTC runs from it). Default: the system clock. */
  clock?: Clock;
  /** Already paired with this link key (hex or bytes). */
  linkKey?: string | Uint8Array;
  /**
   * The setup key printed on the lock's label (LLP v1.1 §8), hex or bytes. A model that pairs
   * with PAIR_KX (capability bit 7) gets a random one at manufacture when none is given.
   */
  setupKey?: string | Uint8Array;
  pairingMode?: boolean;
  /** How long the pairing button keeps the lock in pairing mode. Default 120 s. */
  pairingWindowMs?: number;
  /** Event ring capacity. Default 256. */
  eventCapacity?: number;
  /** Battery %, default 100. */
  battery?: number;
  lowBatteryThreshold?: number;
  /** % taken off per unlock (remote or granted). Default 0. */
  batteryDrainPerUnlock?: number;
  /** RTC drift in parts per million (positive runs fast). */
  driftPpm?: number;
  /** False: the RTC starts unset (STATUS flag clock-not-set) like a lock out of the box. Default true. */
  clockSet?: boolean;
  /** Lock time minus base time at start, ms. */
  clockOffsetMs?: number;
  /** How long a firmware restart takes. Default 2000 ms. */
  fwRestartMs?: number;
  /** During the restart: say nothing (default) or NAK BUSY with the remaining time. */
  fwRestartAnswer?: "silent" | "busy";
  fwMaxChunk?: number;
  fwMaxSize?: number;
  /** Fault: the received image is damaged before verification (FW_COMMIT gets VERIFY_FAILED). */
  fwCorruptImage?: boolean;
  /** Applying an update wipes every credential table. */
  fwWipesTables?: boolean;
  /** Seconds the latch stays released after a granted credential. Default 5. */
  unlockSeconds?: number;
  /** Seed of the flaky-link RNG. */
  seed?: number;
  /** The lock's X25519 key pair for each PAIR_KX (the spec's test vector); fresh per pairing otherwise. */
  kxKeyPair?: () => KxKeyPair;
  /** Replace the command behaviours (default: all of LLP v1). */
  behaviors?: readonly Behavior[];
}

/** A reply on the link: the bytes and how long the (slow) lock waits before sending them. */
export interface LinkReply {
  bytes: Buffer;
  delayMs: number;
}

export interface LinkFaults {
  offline: boolean;
  /** Share 0..1 of requests lost (half before the lock hears them, half of the answers). */
  drop: number;
  /** Share 0..1 of answers with one bit flipped (the hub sees a bad CRC). */
  corrupt: number;
  /** Share 0..1 of answers preceded by 1-24 garbage bytes on the line (the hub must resync). */
  noise: number;
  /** Answer after this many ms. */
  slowMs: number;
}

const UNSEALED_ALLOWED = new Set<LlpCommandName>(["IDENT", "PAIR", "PAIR_KX"]);

function toKey(k: string | Uint8Array, what = "a link key"): Buffer {
  const b = typeof k === "string" ? Buffer.from(k, "hex") : Buffer.from(k);
  if (b.length !== 16) throw new RangeError(`${what} is 16 bytes`);
  return b;
}

function checkLockId(id: string): Buffer {
  if (!/^[0-9a-fA-F]{16}$/.test(id)) throw new RangeError(`lockId must be 16 hex digits, got "${id}"`);
  return Buffer.from(id, "hex");
}

/**
 * One simulated LLP v1 lock (lock-link-protocol.md), lock side. Request frames in,
 * response bytes out; the command groups are small behaviour modules (behaviors/),
 * this class holds the link layer: addressing, sealing, counters, the retry cache,
 * plus the physical lock (door, keypad, battery, clock) and the faults.
 */
export class SimLock implements LockContext {
  readonly base: Clock;
  readonly profile: LockProfile;
  readonly options: ResolvedBehaviourOptions;
  clock: LockClock;
  events: EventRing;
  state: LockState;
  readonly faults: LinkFaults = { offline: false, drop: 0, corrupt: 0, noise: 0, slowMs: 0 };

  private tables: CredentialTable[];
  private readonly behaviors = new Map<LlpCommandName, Behavior>();
  private retryCache: { request: Buffer; response: Buffer } | null = null;
  private readonly executed = new Map<LlpCommandName, number>();
  private resent = 0;
  private rng: () => number;
  private restartTimer: TimerHandle | null = null;
  private pairingTimer: TimerHandle | null = null;
  private readonly pairingWindowMs: number;
  private readonly eventListeners = new Set<(e: LockEvent) => void>();
  private readonly changeListeners = new Set<() => void>();
  private challenge: Buffer | null = null;
  /** Whether the request being handled came sealed under the current key (PAIR_KX rotation). */
  requestSealed = false;

  constructor(opts: SimLockOptions = {}) {
    this.base = opts.clock ?? systemClock;
    this.profile = resolveProfile(opts.profile);
    this.options = {
      fwMaxChunk: opts.fwMaxChunk ?? 1000,
      fwMaxSize: opts.fwMaxSize ?? 4 * 1024 * 1024,
      fwRestartMs: opts.fwRestartMs ?? 2000,
      fwRestartAnswer: opts.fwRestartAnswer ?? "silent",
      fwCorruptImage: opts.fwCorruptImage ?? false,
      fwWipesTables: opts.fwWipesTables ?? false,
      unlockSeconds: opts.unlockSeconds ?? 5,
      kxKeyPair: opts.kxKeyPair ?? freshKxKeyPair,
      batteryDrainPerUnlock: opts.batteryDrainPerUnlock ?? 0,
      lowBatteryThreshold: opts.lowBatteryThreshold ?? 20,
    };
    this.pairingWindowMs = opts.pairingWindowMs ?? 120_000;
    this.rng = seededRandom(opts.seed ?? 1);
    this.clock = new LockClock(this.base, { driftPpm: opts.driftPpm ?? 0, set: opts.clockSet ?? true, ...(opts.clockOffsetMs !== undefined ? { offsetMs: opts.clockOffsetMs } : {}) });
    this.events = new EventRing(opts.eventCapacity ?? 256);
    this.tables = this.freshTables();
    this.state = {
      lockId: opts.lockId ? checkLockId(opts.lockId) : Buffer.concat([Buffer.from("4c42", "hex"), randomBytes(6)]),
      address: opts.address ?? 1,
      firmware: this.profile.firmware,
      battery: opts.battery ?? 100,
      linkKey: opts.linkKey ? toKey(opts.linkKey) : null,
      setupKey: opts.setupKey ? toKey(opts.setupKey, "a setup key") : (this.profile.capabilities & Capability.PAIR_KX) !== 0 ? randomBytes(16) : null,
      hubCounter: 0,
      lockCounter: 0,
      pairingMode: false,
      doorOpen: false,
      boltThrown: false,
      tamper: false,
      unlockedUntilMs: 0,
      memoryFull: false,
      fw: { transfer: null, restartUntilMs: 0, pendingVersion: null },
    };
    for (const b of opts.behaviors ?? DEFAULT_BEHAVIORS) for (const c of b.handles) this.behaviors.set(c, b);
    if (opts.pairingMode) this.pressPairingButton();
  }

  // ---- identity -------------------------------------------------------------------------

  /** 16 lower-case hex digits. */
  get lockId(): string {
    return this.state.lockId.toString("hex");
  }
  get address(): number {
    return this.state.address;
  }
  set address(a: number) {
    this.state.address = a;
  }
  get firmware(): string {
    return this.state.firmware;
  }
  get linkKey(): Buffer | null {
    return this.state.linkKey;
  }
  /** The setup key on the label (PAIR_KX models), as an installer reads it: 32 hex digits. */
  get setupKey(): string | null {
    return this.state.setupKey ? this.state.setupKey.toString("hex") : null;
  }
  get battery(): number {
    return this.state.battery;
  }
  /** Lock time, LLP seconds. */
  get time(): number {
    return this.clock.nowSec();
  }
  get statusFlags(): number {
    return statusFlags(this);
  }
  get restarting(): boolean {
    this.tick();
    return this.state.fw.restartUntilMs > this.base.now();
  }
  /** Latch released right now (UNLOCK or a granted credential). */
  get unlocked(): boolean {
    return this.base.now() < this.state.unlockedUntilMs;
  }

  /** How many times a command was executed (a retry answered from the cache does not count). */
  executionCount(cmd: LlpCommandName): number {
    return this.executed.get(cmd) ?? 0;
  }
  /** Requests answered from the retry cache. */
  get cachedResends(): number {
    return this.resent;
  }

  /** The used slots of a kind, as READ_SLOTS would show them. */
  slots(kind: number): SlotInfo[] {
    const t = this.table(kind);
    return t ? t.entries().map(([s, c]) => t.info(s, c)) : [];
  }

  // ---- LockContext ----------------------------------------------------------------------

  table(kind: number): CredentialTable | undefined {
    const bit = [0, Capability.DOOR_CODES, Capability.KEYCARDS, Capability.MOBILE_KEYS][kind];
    if (!bit || (this.profile.capabilities & bit) === 0) return undefined;
    return this.tables[kind - 1];
  }

  logEvent(e: { type: number; kind?: number; slot?: number; reason?: number }): LockEvent {
    const event = this.events.log({ time: this.clock.nowSec(), type: e.type, kind: e.kind ?? 0, slot: e.slot ?? 0, reason: e.reason ?? 0 });
    for (const l of this.eventListeners) l(event);
    this.changed();
    return event;
  }

  releaseLatch(seconds: number): void {
    this.state.unlockedUntilMs = this.base.now() + seconds * 1000;
  }

  drainBattery(percent: number): void {
    if (percent > 0) this.setBattery(this.state.battery - percent);
  }

  restart(ms: number): void {
    this.state.fw.restartUntilMs = this.base.now() + ms;
    this.restartTimer?.cancel();
    // Finish on time even when nobody talks to the lock, so FIRMWARE_APPLIED is logged (and notified).
    this.restartTimer = this.base.setTimeout(() => this.tick(), ms);
  }

  // ---- link layer -----------------------------------------------------------------------

  /** Parse exactly one frame and answer it (no link faults). Null: the lock stays silent. */
  handleRequest(bytes: Uint8Array): Buffer | null {
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (e) {
      // A bad frame is dropped silently by the lock (§1); the hub recovers by retry.
      if (isLockBridgeError(e, "frame_invalid")) return null;
      throw e;
    }
    return this.handleFrame(frame);
  }

  /** Answer a frame as the link delivers it: faults (offline, flaky, slow) applied. */
  answer(frame: Frame): LinkReply | null {
    if (!this.isForMe(frame) || this.faults.offline) return null;
    if (this.faults.drop > 0 && this.rng() < this.faults.drop) {
      // Lost either before the lock heard it, or on the way back after it acted.
      if (this.rng() < 0.5) this.handleFrame(frame);
      return null;
    }
    let bytes = this.handleFrame(frame);
    if (!bytes) return null;
    if (this.faults.corrupt > 0 && this.rng() < this.faults.corrupt) {
      bytes = Buffer.from(bytes);
      const at = 1 + Math.floor(this.rng() * (bytes.length - 1));
      bytes[at] = bytes[at]! ^ (1 << Math.floor(this.rng() * 8));
    }
    if (this.faults.noise > 0 && this.rng() < this.faults.noise) {
      const garbage = Buffer.from(Array.from({ length: 1 + Math.floor(this.rng() * 24) }, () => Math.floor(this.rng() * 256)));
      bytes = Buffer.concat([garbage, bytes]);
    }
    return { bytes, delayMs: this.faults.slowMs };
  }

  isForMe(frame: Frame): boolean {
    return !frame.fromLock && frame.addr === this.state.address;
  }

  /** The protocol core: a request frame in, the response frame out (or null: silence). */
  handleFrame(frame: Frame): Buffer | null {
    if (!this.isForMe(frame)) return null;
    this.tick();
    const raw = encodeFrame(frame);
    const cache = this.retryCache;
    // A retry (identical bytes) gets the cached answer. A SEQ 0 request normally clears the
    // cache, except a sealed one whose bytes repeat: its counter proves it is the same request.
    if (cache && cache.request.equals(raw) && (frame.seq !== 0 || frame.sec)) {
      this.resent++;
      return cache.response;
    }
    if (frame.seq === 0) this.retryCache = null;
    const { response, cacheable } = this.execute(frame);
    if (response && cacheable) this.retryCache = { request: raw, response };
    return response;
  }

  /** EVENT_NOTIFY (TCP and BLE, unasked, SEQ 0), sealed once paired. */
  eventNotifyFrame(): Buffer {
    const head = { addr: this.state.address, fromLock: true, seq: 0, cmd: Cmd.EVENT_NOTIFY };
    const body = encodeEventNotify(this.events.head);
    const key = this.state.linkKey;
    if (!key) return encodeMessage(head, body);
    this.state.lockCounter++;
    this.changed();
    return encodeMessage(head, body, { linkKey: key, lockId: this.state.lockId, counter: this.state.lockCounter });
  }

  private execute(frame: Frame): { response: Buffer | null; cacheable: boolean } {
    const s = this.state;
    const name = commandName(frame.cmd);
    // Restarting after FW_COMMIT: the request is not processed at all, so it consumes no
    // counter and is not cached; the hub's retry after the restart is executed normally.
    const restarting = s.fw.restartUntilMs > this.base.now();
    if (restarting && this.options.fwRestartAnswer === "silent") return { response: null, cacheable: false };
    let plain: Buffer = Buffer.from(frame.body);
    let sealKey: Buffer | null = null;
    if (frame.sec) {
      const key = s.linkKey;
      const opened = key ? openFrame(frame, { linkKey: key, lockId: s.lockId }) : null;
      if (!key || !opened || opened.counter <= s.hubCounter) return { response: this.notAuthenticated(frame), cacheable: true };
      if (!restarting) s.hubCounter = opened.counter;
      plain = opened.plain;
      sealKey = key;
    }
    // Reserve the response counter now: PAIR may replace the key (and reset counters).
    const sealCounter = s.lockCounter + 1;
    const respond = (o: Outcome): Buffer => {
      const isAck = "ack" in o;
      const body = isAck ? o.ack : encodeNakBody(o.nak);
      const head = { addr: s.address, fromLock: true, seq: frame.seq, cmd: isAck ? Cmd.ACK : Cmd.NAK };
      if (!sealKey) return encodeMessage(head, body);
      if (s.linkKey === sealKey) s.lockCounter = sealCounter;
      this.changed();
      return encodeMessage(head, body, { linkKey: sealKey, lockId: s.lockId, counter: sealCounter });
    };
    if (restarting) {
      const busy = { nak: { code: NakCode.BUSY, retryAfterMs: Math.min(0xffff, s.fw.restartUntilMs - this.base.now()) } };
      return { response: respond(busy), cacheable: false };
    }
    const answer = (o: Outcome) => ({ response: respond(o), cacheable: true });
    if (!name) return answer({ nak: { code: NakCode.UNKNOWN_COMMAND } });
    if (!frame.sec && s.linkKey && !UNSEALED_ALLOWED.has(name)) return { response: this.notAuthenticated(frame), cacheable: true };
    let req;
    try {
      req = decodeRequestBody(frame.cmd, plain);
    } catch (e) {
      if (isLockBridgeError(e, "frame_invalid")) return answer({ nak: { code: NakCode.MALFORMED } });
      throw e;
    }
    const behavior = this.behaviors.get(name);
    if (!behavior) return answer({ nak: { code: NakCode.UNKNOWN_COMMAND } });
    this.executed.set(name, (this.executed.get(name) ?? 0) + 1);
    this.requestSealed = sealKey !== null;
    const outcome = behavior.handle(req, this);
    this.changed();
    return answer(outcome);
  }

  private notAuthenticated(frame: Frame): Buffer {
    const nak: NakDetail = { code: NakCode.NOT_AUTHENTICATED };
    return encodeMessage({ addr: this.state.address, fromLock: true, seq: frame.seq, cmd: Cmd.NAK }, encodeNakBody(nak));
  }

  /** Timed transitions, evaluated lazily and by timer: the end of a firmware restart. */
  private tick(): void {
    const fw = this.state.fw;
    if (fw.restartUntilMs === 0 || this.base.now() < fw.restartUntilMs) return;
    fw.restartUntilMs = 0;
    this.restartTimer?.cancel();
    this.restartTimer = null;
    this.retryCache = null; // RAM does not survive a restart
    if (fw.pendingVersion) {
      this.state.firmware = fw.pendingVersion;
      fw.pendingVersion = null;
      if (this.options.fwWipesTables) for (const t of this.tables) t.clear();
      this.logEvent({ type: EventType.FIRMWARE_APPLIED });
    }
    this.changed();
  }

  // ---- people at the door -----------------------------------------------------------------

  enterCode(code: string): door.AccessResult {
    return this.guest(() => door.enterCode(this, code));
  }
  presentCard(uidHex: string): door.AccessResult {
    return this.guest(() => door.presentCard(this, uidHex));
  }
  /** The lock issues a challenge; the phone signs it with the mobile key's private key; the lock verifies. */
  phoneUnlock(privateKey: door.PhonePrivateKey): door.AccessResult {
    const challenge = this.issueChallenge();
    return this.verifyPhone(challenge, door.signChallenge(privateKey, challenge));
  }
  issueChallenge(): Buffer {
    this.challenge = door.issueChallenge();
    return Buffer.from(this.challenge);
  }
  /** Verify a signature over the challenge this lock issued last (one use). */
  verifyPhone(challenge: Uint8Array, signature: Uint8Array): door.AccessResult {
    const issued = this.challenge;
    this.challenge = null;
    // A signature over any other challenge (a replayed one) proves nothing.
    const sig = issued && issued.equals(challenge) ? signature : Buffer.alloc(0);
    return this.guest(() => door.verifyPhone(this, issued ?? Buffer.alloc(16), sig));
  }
  openDoor(): void {
    if (this.state.doorOpen) return;
    this.state.doorOpen = true;
    if (this.profile.capabilities & Capability.DOOR_SENSOR) this.logEvent({ type: EventType.DOOR_OPENED });
    this.changed();
  }
  closeDoor(): void {
    if (!this.state.doorOpen) return;
    this.state.doorOpen = false;
    if (this.profile.capabilities & Capability.DOOR_SENSOR) this.logEvent({ type: EventType.DOOR_CLOSED });
    this.changed();
  }
  /** The guest throws (true) or retracts the privacy deadbolt from inside. */
  setBolt(thrown: boolean): void {
    this.state.boltThrown = thrown;
    this.changed();
  }
  tamper(): void {
    this.state.tamper = true;
    this.logEvent({ type: EventType.TAMPER });
  }
  clearTamper(): void {
    this.state.tamper = false;
    this.changed();
  }
  setBattery(percent: number): void {
    const before = this.state.battery;
    const after = Math.max(0, Math.min(100, Math.round(percent)));
    this.state.battery = after;
    const th = this.options.lowBatteryThreshold;
    if (before >= th && after < th) this.logEvent({ type: EventType.BATTERY_LOW, reason: after });
    this.changed();
  }
  /** The pairing button: PAIR is accepted for a while even with a link key. */
  pressPairingButton(): void {
    this.state.pairingMode = true;
    this.pairingTimer?.cancel();
    this.pairingTimer = this.base.setTimeout(() => {
      this.state.pairingMode = false;
      this.changed();
    }, this.pairingWindowMs);
    this.changed();
  }

  private guest(f: () => door.AccessResult): door.AccessResult {
    this.tick();
    const r = f();
    this.changed();
    return r;
  }

  // ---- faults ------------------------------------------------------------------------------

  setOffline(offline: boolean): void {
    this.faults.offline = offline;
    this.changed();
  }
  setFlaky(f: { drop?: number; corrupt?: number; seed?: number }): void {
    const share = (x: number | undefined) => Math.max(0, Math.min(1, x ?? 0));
    this.faults.drop = share(f.drop);
    this.faults.corrupt = share(f.corrupt);
    if (f.seed !== undefined) this.rng = seededRandom(f.seed);
  }
  /** Line noise: that share of answers comes after garbage bytes. */
  setNoise(share: number, seed?: number): void {
    this.faults.noise = Math.max(0, Math.min(1, share));
    if (seed !== undefined) this.rng = seededRandom(seed);
  }
  setSlow(ms: number): void {
    this.faults.slowMs = Math.max(0, ms);
  }
  /** Firmware faults: a damaged image (VERIFY_FAILED at FW_COMMIT), tables wiped by the update. */
  setFirmwareFaults(f: { corruptImage?: boolean; wipesTables?: boolean }): void {
    if (f.corruptImage !== undefined) this.options.fwCorruptImage = f.corruptImage;
    if (f.wipesTables !== undefined) this.options.fwWipesTables = f.wipesTables;
  }
  /** The offset the lock expects next in an unfinished transfer (null: none). */
  get firmwareOffset(): number | null {
    return this.state.fw.transfer?.offset ?? null;
  }
  setMemoryFull(full: boolean): void {
    this.state.memoryFull = full;
    this.changed();
  }
  setDrift(ppm: number): void {
    this.clock.setDrift(ppm);
  }
  /** Power loss: RAM (retry cache, transfers, latch) and the RTC are lost; CLOCK_LOST is logged. */
  powerLoss(): void {
    this.retryCache = null;
    this.state.fw.transfer = null;
    this.state.unlockedUntilMs = 0;
    this.challenge = null;
    this.clock.lose();
    this.logEvent({ type: EventType.CLOCK_LOST });
  }
  /** Memory loss: every credential table is lost (EEPROM corruption); pairing and the log stay. */
  memoryLoss(): void {
    for (const t of this.tables) t.clear();
    this.retryCache = null;
    this.changed();
  }
  /** Factory reset: forgets the link key, counters and every slot; keeps lockId, firmware and the event log. */
  factoryReset(): void {
    const s = this.state;
    s.linkKey = null;
    s.hubCounter = 0;
    s.lockCounter = 0;
    s.memoryFull = false;
    s.fw.transfer = null;
    for (const t of this.tables) t.clear();
    this.retryCache = null;
    this.changed();
  }
  /** The lock was swapped for a new one at the same place: new lockId, nothing paired, RTC unset, fresh log. */
  replace(newLockId?: string): void {
    const s = this.state;
    s.lockId = newLockId ? checkLockId(newLockId) : Buffer.concat([Buffer.from("4c42", "hex"), randomBytes(6)]);
    // A new lock body comes with its own label.
    if (s.setupKey) s.setupKey = randomBytes(16);
    this.factoryReset();
    s.firmware = this.profile.firmware;
    s.battery = 100;
    s.tamper = false;
    s.doorOpen = false;
    s.boltThrown = false;
    s.fw = { transfer: null, restartUntilMs: 0, pendingVersion: null };
    this.clock = new LockClock(this.base, { driftPpm: 0, set: false });
    this.events = new EventRing(this.events.capacity);
    this.executed.clear();
    this.resent = 0;
    this.changed();
  }

  // ---- listeners and state ---------------------------------------------------------------

  onEvent(l: (e: LockEvent) => void): () => void {
    this.eventListeners.add(l);
    return () => this.eventListeners.delete(l);
  }
  /** Anything persistent changed (state file, BLE advertising flags). */
  onChange(l: () => void): () => void {
    this.changeListeners.add(l);
    return () => this.changeListeners.delete(l);
  }
  private changed(): void {
    for (const l of this.changeListeners) l();
  }

  /** Stop timers (pairing window, restart). */
  dispose(): void {
    this.restartTimer?.cancel();
    this.pairingTimer?.cancel();
    this.eventListeners.clear();
    this.changeListeners.clear();
  }

  snapshot(): SimLockState {
    const s = this.state;
    const creds = (kind: number) =>
      (this.tables[kind - 1]?.entries() ?? []).map(([slot, c]) => ({
        slot, validFrom: c.validFrom, validUntil: c.validUntil, flags: c.flags, secret: c.secret.toString("hex"),
      }));
    const ev = this.events.snapshot();
    return {
      version: 1,
      lockId: this.lockId,
      address: s.address,
      profile: { ...this.profile },
      firmware: s.firmware,
      battery: s.battery,
      linkKey: s.linkKey ? s.linkKey.toString("hex") : null,
      ...(s.setupKey ? { setupKey: s.setupKey.toString("hex") } : {}),
      hubCounter: s.hubCounter,
      lockCounter: s.lockCounter,
      pairingMode: s.pairingMode,
      doorOpen: s.doorOpen,
      boltThrown: s.boltThrown,
      tamper: s.tamper,
      memoryFull: s.memoryFull,
      clock: { offsetMs: this.clock.offsetMs(), notSet: this.clock.notSet, driftPpm: this.clock.drift },
      credentials: { codes: creds(CredentialKind.DOOR_CODE), cards: creds(CredentialKind.KEYCARD), mobileKeys: creds(CredentialKind.MOBILE_KEY) },
      events: { capacity: this.events.capacity, nextSeq: ev.nextSeq, dropped: ev.dropped, items: ev.events },
      fw: { restartUntilMs: s.fw.restartUntilMs, pendingVersion: s.fw.pendingVersion },
    };
  }

  /** Rebuild a lock from its snapshot (the state file); `opts` adds what is not state (clock, behaviours...). */
  static fromState(st: SimLockState, opts: Omit<SimLockOptions, "lockId" | "profile" | "linkKey" | "address"> = {}): SimLock {
    const lock = new SimLock({ ...opts, lockId: st.lockId, profile: st.profile, address: st.address, eventCapacity: st.events.capacity });
    const s = lock.state;
    s.firmware = st.firmware;
    s.battery = st.battery;
    s.linkKey = st.linkKey ? Buffer.from(st.linkKey, "hex") : null;
    // A state file from before PAIR_KX keeps the key made at construction (a new label).
    if (st.setupKey) s.setupKey = Buffer.from(st.setupKey, "hex");
    s.hubCounter = st.hubCounter;
    s.lockCounter = st.lockCounter;
    s.pairingMode = st.pairingMode;
    s.doorOpen = st.doorOpen;
    s.boltThrown = st.boltThrown;
    s.tamper = st.tamper;
    s.memoryFull = st.memoryFull;
    s.fw.restartUntilMs = st.fw.restartUntilMs;
    s.fw.pendingVersion = st.fw.pendingVersion;
    lock.clock = new LockClock(lock.base, { driftPpm: st.clock.driftPpm, set: !st.clock.notSet, offsetMs: st.clock.offsetMs });
    lock.events = new EventRing(st.events.capacity, { events: st.events.items, nextSeq: st.events.nextSeq, dropped: st.events.dropped });
    const lists = [st.credentials.codes, st.credentials.cards, st.credentials.mobileKeys];
    lists.forEach((list, i) => {
      for (const c of list) lock.tables[i]!.put(c.slot, { validFrom: c.validFrom, validUntil: c.validUntil, flags: c.flags, secret: Buffer.from(c.secret, "hex") });
    });
    return lock;
  }

  private freshTables(): CredentialTable[] {
    return [this.profile.codeSlots, this.profile.cardSlots, this.profile.mobileKeySlots].map((n) => new CredentialTable(n));
  }
}

export { BLE_ADDR };
