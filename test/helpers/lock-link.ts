// In-process link for unit tests of the hub's lock layer: the real LinkBus / LockSession /
// LockClient against simulated locks (sim/), on a manual clock, with taps to lose, corrupt
// or delay bytes deterministically. Real-socket tests live in test/integration/lock-link*.
import { EventEmitter } from "node:events";
import { pino } from "pino";
import { FrameDecoder, type Frame, type KxKeyPair } from "../../src/protocol/llp/index.js";
import type { ManualClock } from "../../src/shared/clock.js";
import { LockBridgeError } from "../../src/shared/errors.js";
import type { Transport, TransportEvents, TransportState, TransportStatus } from "../../src/transport/types.js";
import type { SimLock } from "../../sim/index.js";
import { ProfileRegistry } from "../../src/profiles/loader.js";
import { deviceProfileSchema, type DeviceProfile, type DeviceProfileInput } from "../../src/profiles/schema.js";
import { LinkBus } from "../../src/lock/bus.js";
import { LockClient } from "../../src/lock/client.js";
import { MemoryLinkStateStore, type LinkStateStore } from "../../src/lock/link-state.js";
import { LockSession, type SessionTiming } from "../../src/lock/session.js";

export const quietLogger = pino({ level: "silent" });

/** What the tap decides for one request: pass the lock's answer, replace it, or lose it. */
export type Tap = (request: Frame, answer: Buffer | null, raw: Buffer) => Buffer | null;

export class InProcessLink extends EventEmitter<TransportEvents> implements Transport {
  readonly kind = "tcp" as const;
  readonly target = "in-process";
  /** Every request as written by the hub. */
  readonly written: Buffer[] = [];
  /** Requests that reached the wire while another was still unanswered (must stay 0 on a half-duplex bus). */
  overlaps = 0;
  tap: Tap | undefined;
  private state: TransportState = "closed";
  private readonly decoder = new FrameDecoder();
  private readonly byAddr = new Map<number, SimLock>();
  private outstanding = 0;

  constructor(
    locks: readonly SimLock[],
    private readonly clock: ManualClock,
  ) {
    super();
    for (const l of locks) this.byAddr.set(l.address, l);
  }

  status(): TransportStatus {
    return { kind: this.kind, target: this.target, state: this.state, since: 0, reconnects: 0, bytesIn: 0, bytesOut: 0 };
  }
  open(): Promise<void> {
    this.setState("open");
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.setState("closed");
    return Promise.resolve();
  }
  setDown(down: boolean): void {
    this.setState(down ? "reconnecting" : "open");
  }

  write(data: Uint8Array): Promise<void> {
    if (this.state !== "open") return Promise.reject(new LockBridgeError("transport_closed", "in-process link down"));
    const raw = Buffer.from(data);
    this.written.push(raw);
    for (const frame of this.decoder.push(raw)) {
      if (this.outstanding > 0) this.overlaps++;
      const lock = this.byAddr.get(frame.addr);
      const reply = lock ? lock.answer(frame) : null;
      let bytes = reply?.bytes ?? null;
      if (this.tap) bytes = this.tap(frame, bytes, raw);
      if (!bytes) continue;
      this.outstanding++;
      const out = bytes;
      const deliver = () => {
        this.outstanding--;
        this.inject(out);
      };
      const delay = reply?.delayMs ?? 0;
      if (delay > 0) this.clock.setTimeout(deliver, delay);
      else queueMicrotask(deliver);
    }
    return Promise.resolve();
  }

  /** Bytes from the lock side, unasked (EVENT_NOTIFY, noise). */
  inject(bytes: Uint8Array): void {
    if (this.state === "open") this.emit("data", Buffer.from(bytes));
  }

  private setState(s: TransportState): void {
    this.state = s;
    this.emit("state", this.status());
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

/** Let a promise settle while the manual clock moves in steps (timeouts fire as they fall due). */
export async function drive<T>(clock: ManualClock, p: Promise<T>, opts: { stepMs?: number; maxMs?: number } = {}): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  const step = opts.stepMs ?? 10;
  for (let t = 0; ; t += step) {
    await flush();
    if (done) return p;
    if (t > (opts.maxMs ?? 120_000)) throw new Error(`still pending after ${t} ms of manual time`);
    clock.advance(step);
  }
}

/** Settle a promise into {ok, value | error} (for asserting rejections under drive()). */
export async function outcome<T>(clock: ManualClock, p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await drive(clock, p) };
  } catch (error) {
    return { ok: false, error };
  }
}

// ---- a hub-side rig: bus + sessions + clients over an InProcessLink ----

/** A device profile matching the simulator's built-in "sim-room" lock. */
export function simRoomProfile(overrides: Partial<DeviceProfileInput> = {}): DeviceProfile {
  return deviceProfileSchema.parse({
    id: "sim-room",
    vendor: "Simulator",
    model: "SIM-R100",
    link: "tcp",
    responseTimeoutMs: 100,
    retries: 2,
    offlineAfterTimeouts: 3,
    pollIntervalMs: 1000,
    capabilities: ["doorCodes", "keycards", "mobileKeys", "remoteUnlock", "doorSensor", "firmwareUpdate", "sealing"],
    slots: { doorCode: 32, keycard: 32, smartKey: 16 },
    code: { minLength: 4, maxLength: 12 },
    sealingRequired: false,
    ...overrides,
  });
}

export interface HubRig {
  bus: LinkBus;
  store: MemoryLinkStateStore;
  sessions: LockSession[];
  clients: LockClient[];
  /** A new session + client for lock i on the same bus and store (the hub restarted). */
  restart(i: number): LockClient;
}

export function hubRig(
  link: Transport,
  clock: ManualClock,
  locks: readonly SimLock[],
  opts: { timing?: Partial<SessionTiming>; store?: LinkStateStore; profile?: DeviceProfile; counterBlockSize?: number; kxKeyPair?: () => KxKeyPair } = {},
): HubRig {
  const store = (opts.store as MemoryLinkStateStore | undefined) ?? new MemoryLinkStateStore();
  const bus = new LinkBus(link, { clock, logger: quietLogger });
  const profile = opts.profile ?? simRoomProfile();
  const make = (lock: SimLock) => {
    const session = new LockSession({
      lockId: lock.lockId,
      addr: lock.address,
      bus,
      timing: { responseTimeoutMs: 100, retries: 2, offlineAfterTimeouts: 3, ...opts.timing },
      linkState: store,
      logger: quietLogger,
      clock,
      counterBlockSize: opts.counterBlockSize,
      sealingRequired: profile.sealingRequired,
    });
    return { session, client: new LockClient({ session, profile, linkState: store, logger: quietLogger, kxKeyPair: opts.kxKeyPair }) };
  };
  const made = locks.map(make);
  const rig: HubRig = {
    bus,
    store,
    sessions: made.map((m) => m.session),
    clients: made.map((m) => m.client),
    restart(i) {
      rig.sessions[i]!.close();
      const m = make(locks[i]!);
      rig.sessions[i] = m.session;
      rig.clients[i] = m.client;
      return m.client;
    },
  };
  void link.open();
  return rig;
}

/** Profiles for real-link tests: the simulator's "sim-room" model behind each link type, with short timeouts. */
export function testProfiles(overrides: Partial<DeviceProfileInput> = {}, bleIdleDisconnectS = 1): ProfileRegistry {
  const base = { responseTimeoutMs: 150, retries: 3, offlineAfterTimeouts: 3, ...overrides };
  return new ProfileRegistry([
    simRoomProfile({ ...base, id: "sim-rs485", link: "serial-rs485", serial: { baudRate: 19200, parity: "none", dataBits: 8, stopBits: 1 } }),
    simRoomProfile({ ...base, id: "sim-uart", link: "serial-uart", serial: { baudRate: 115200, parity: "none", dataBits: 8, stopBits: 1 } }),
    simRoomProfile({ ...base, id: "sim-tcp", link: "tcp" }),
    simRoomProfile({ responseTimeoutMs: 300, retries: 3, offlineAfterTimeouts: 3, ...overrides, id: "sim-ble", link: "ble", ble: { idleDisconnectS: bleIdleDisconnectS, scanTimeoutMs: 2000, connectTimeoutMs: 2000 } }),
  ]);
}

export const FAST_BACKOFF = { firstMs: 50, maxMs: 400, jitter: "none" as const };

/** Poll until `check` holds (real time), for state that settles asynchronously. */
export async function until(check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
