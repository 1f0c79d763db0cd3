/**
 * A one-call integration harness for the provisioning engine (like Z-Wave JS's
 * integrationTest): a real store file, simulated locks on real TCP buses, the real lock
 * layer (sessions, sealing, bus scheduler), the real command layer (dispatcher, registry,
 * outbox) with the engine's handlers, and one clock for hub and locks.
 * Over 400 lines: the clock, the fleet and the hub side belong to one harness that tests
 * restart as a whole.
 *
 *   await withProperty({ rooms: 2, commons: ["lobby"] }, async (p) => {
 *     await p.ok("key.upsert", manualKey(p, "k-1", ["room-101"]));
 *     await p.waitForKey("k-1", (s) => s.state === "active");
 *     p.sim("room-101").enterCode(code) ...
 *   });
 *
 * Time runs in real time from a fixed instant (2026-12-01T12:00Z by default); `jump(ms)`
 * moves hub and locks forward together (timers due fire), for window edges and at-risk.
 */
import { randomInt } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import type { Key, KeyStatus } from "../../src/access/model.js";
import { createCommandRegistry } from "../../src/cloud/handlers/index.js";
import { Dispatcher } from "../../src/cloud/dispatcher.js";
import { Outbox } from "../../src/cloud/outbox.js";
import type { CommandRegistry } from "../../src/cloud/registry.js";
import type { CommandResponse } from "../../src/cloud/responses.js";
import { LockLinks } from "../../src/lock/index.js";
import { StoreLinkState } from "../../src/provisioning/reconcile/link-state.js";
import { deviceProfileSchema, ProfileRegistry, type DeviceProfile, type DeviceProfileInput } from "../../src/profiles/index.js";
import { ProvisioningEngine, type EngineOptions, type StatusSink } from "../../src/provisioning/engine.js";
import type { FirmwareService, ImageFetcher } from "../../src/provisioning/reconcile/firmware.js";
import type { FirmwareTiming } from "../../src/firmware/ports.js";
import type { KeyService } from "../../src/provisioning/desired/key-service.js";
import { engineLockLinks } from "../../src/provisioning/reconcile/lock-links.js";
import type { LockService } from "../../src/provisioning/reconcile/lock-service.js";
import { wireProvisioning } from "../../src/provisioning/wiring.js";
import type { Clock, TimerHandle } from "../../src/shared/clock.js";
import { openStore, type OutboxEvent, type Store } from "../../src/store/index.js";
import { SimLock, lockProfileFromDevice, startTcpBus, type LockProfile, type TcpBus } from "../../sim/index.js";
import { makeSite } from "./access-fixtures.js";

// ---------------------------------------------------------------- clock

/** Real time flowing from `startMs`, with jumps: one clock for the hub and its simulated locks. */
export class OffsetClock implements Clock {
  private offset: number;
  private readonly timers = new Set<{ due: number; fn: () => void; real: NodeJS.Timeout }>();

  constructor(startMs: number) {
    this.offset = startMs - Date.now();
  }

  now(): number {
    return Date.now() + this.offset;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = {
      due: this.now() + Math.max(0, ms),
      fn,
      real: setTimeout(() => {
        this.timers.delete(t);
        fn();
      }, Math.max(0, ms)),
    };
    t.real.unref?.();
    this.timers.add(t);
    return { cancel: () => void (clearTimeout(t.real), this.timers.delete(t)) };
  }

  /** Moves time forward; timers now due fire at once, in due order. */
  jump(ms: number): void {
    this.offset += ms;
    const due = [...this.timers].filter((t) => t.due <= this.now()).sort((a, b) => a.due - b.due);
    for (const t of due) {
      clearTimeout(t.real);
      this.timers.delete(t);
      t.fn();
    }
  }
}

// ---------------------------------------------------------------- profiles

/** Guest-room lock with every credential type, reached over TCP (it notifies). */
export const TEST_ROOM_PROFILE: DeviceProfileInput = {
  id: "test-room",
  vendor: "LockBridge tests",
  model: "TEST-R1",
  link: "tcp",
  responseTimeoutMs: 150,
  retries: 2,
  offlineAfterTimeouts: 3,
  pollIntervalMs: 1000,
  offlinePollIntervalMs: 1000,
  capabilities: ["doorCodes", "keycards", "mobileKeys", "remoteUnlock", "doorSensor", "firmwareUpdate", "sealing"],
  slots: { doorCode: 32, keycard: 32, smartKey: 16 },
  code: { minLength: 4, maxLength: 10 },
  sealingRequired: true,
};

/** Common-door controller with room for every guest. */
export const TEST_COMMON_PROFILE: DeviceProfileInput = {
  ...TEST_ROOM_PROFILE,
  id: "test-common",
  model: "TEST-C1",
  slots: { doorCode: 5000, keycard: 5000, smartKey: 1000 },
};

/** The IDENT a simulated lock of this profile reports. */
export const simProfileOf = (p: DeviceProfile, over: Partial<LockProfile> = {}): LockProfile => lockProfileFromDevice(p, over);

// ---------------------------------------------------------------- the property

export const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

export interface PropertySpec {
  /** Room doors room-101, room-102, ... Default 2. */
  rooms?: number;
  /** Common door ids every room links to. Default ["lobby"]. */
  commons?: string[];
  roomProfile?: DeviceProfileInput;
  commonProfile?: DeviceProfileInput;
  /** Locks behind one TCP port (one RS-485-style bus). Default 16. */
  locksPerBus?: number;
  /** Locks send EVENT_NOTIFY. Default true. */
  eventNotify?: boolean;
  site?: Record<string, unknown>;
  startAt?: number;
  /** Commission every lock through lock.commission. Default true. */
  commission?: boolean;
  engine?: EngineOptions;
  /** Override a sim lock's options (clock drift, event capacity...). */
  simLock?: (doorId: string) => Partial<ConstructorParameters<typeof SimLock>[0]>;
  fetchImage?: ImageFetcher;
  /** Firmware timing (retry, apply and offline limits) for short tests. */
  firmwareTiming?: Partial<FirmwareTiming>;
  logLevel?: string;
}

export interface Property {
  clock: OffsetClock;
  store: Store;
  engine: ProvisioningEngine;
  keys: KeyService;
  locks: LockService;
  firmware: FirmwareService;
  registry: CommandRegistry;
  dataDir: string;
  doorIds: string[];
  rooms: string[];
  commons: string[];
  sim(doorId: string): SimLock;
  lockIdOf(doorId: string): string;
  buses: TcpBus[];
  /** lock.commission for the door's lock, as the property's set-up sends it (an installer commissioning again). */
  commission(doorId: string): Promise<Record<string, unknown>>;
  /** Sends a command through the real command layer. */
  send(cmd: string, params?: Record<string, unknown>): Promise<CommandResponse>;
  /** Sends and expects ok: returns the result (and warnings). */
  ok(cmd: string, params?: Record<string, unknown>): Promise<Record<string, unknown> & { warnings?: string[] }>;
  keyStatus(keyId: string): KeyStatus;
  events(type?: string): OutboxEvent[];
  waitFor<T>(what: string, fn: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  waitForKey(keyId: string, pred: (s: KeyStatus) => boolean, timeoutMs?: number): Promise<KeyStatus>;
  /** Waits until every lock in service has nothing left to do. */
  settle(timeoutMs?: number): Promise<void>;
  /** Stops the hub side (engine, links, store) and starts it again on the same files and locks. */
  restartHub(): Promise<void>;
  statusChanges: { keys: string[]; locks: string[] };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function withProperty(spec: PropertySpec, body: (p: Property) => Promise<void>): Promise<void> {
  const p = await startProperty(spec);
  try {
    await body(p);
  } finally {
    await p.close();
  }
}

export async function startProperty(spec: PropertySpec = {}): Promise<Property & { close(): Promise<void> }> {
  const clock = new OffsetClock(spec.startAt ?? T0);
  const log = pino({ level: spec.logLevel ?? process.env.LOCKBRIDGE_TEST_LOG ?? "silent" });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lockbridge-prop-"));
  const roomProfile = deviceProfileSchema.parse(spec.roomProfile ?? TEST_ROOM_PROFILE);
  const commonProfile = deviceProfileSchema.parse(spec.commonProfile ?? TEST_COMMON_PROFILE);
  const profiles = new ProfileRegistry([roomProfile, commonProfile]);
  const rooms = Array.from({ length: spec.rooms ?? 2 }, (_, i) => `room-${101 + i}`);
  const commons = spec.commons ?? ["lobby"];
  const doorIds = [...rooms, ...commons];

  // Simulated locks, grouped on TCP buses by address.
  const perBus = spec.locksPerBus ?? 16;
  const sims = new Map<string, SimLock>();
  const lockIds = new Map<string, string>();
  const groups: { doorId: string; lock: SimLock }[][] = [];
  doorIds.forEach((doorId, i) => {
    const profile = commons.includes(doorId) ? commonProfile : roomProfile;
    const lockId = `4c42${(0x100000 + i).toString(16).padStart(12, "0")}`;
    const lock = new SimLock({ lockId, address: (i % perBus) + 1, clock, profile: simProfileOf(profile), seed: i + 1, ...spec.simLock?.(doorId) });
    sims.set(doorId, lock);
    lockIds.set(doorId, lockId);
    const g = Math.floor(i / perBus);
    (groups[g] ??= []).push({ doorId, lock });
  });
  const buses: TcpBus[] = [];
  const busOf = new Map<string, TcpBus>();
  for (const g of groups) {
    const bus = await startTcpBus(g.map((x) => x.lock), { eventNotify: spec.eventNotify ?? true });
    buses.push(bus);
    for (const x of g) busOf.set(x.doorId, bus);
  }

  const statusChanges = { keys: [] as string[], locks: [] as string[] };
  let seq = 0;

  interface HubSide {
    store: Store;
    engine: ProvisioningEngine;
    keys: KeyService;
    locks: LockService;
    firmware: FirmwareService;
    registry: CommandRegistry;
    dispatcher: Dispatcher;
    links: LockLinks;
  }
  const startHub = async (): Promise<HubSide> => {
    const store = openStore(path.join(dataDir, "lockbridge.db"), { clock, logger: log });
    const outbox = new Outbox(store, clock, log, { maxEvents: 1_000_000 });
    const status: StatusSink = {
      keyChanged: (k) => void statusChanges.keys.push(k),
      lockChanged: (l) => void statusChanges.locks.push(l),
    };
    const links = new LockLinks({ profiles, linkState: new StoreLinkState(store), logger: log, clock });
    const engine = new ProvisioningEngine({
      store,
      clock,
      log,
      events: outbox,
      status,
      links: engineLockLinks(links, { notifyPollMs: 5000 }),
      options: { backoff: { firstMs: 100, maxMs: 2000, jitter: "half" }, atRiskGraceMs: 2000, ...spec.engine },
    });
    const { keys, locks, firmware, commands, effects } = wireProvisioning({
      store,
      engine,
      clock,
      log,
      random: { int: (n) => randomInt(n) },
      checkProfile: (id) => void profiles.get(id),
      lockChanged: status.lockChanged,
      firmware: { fetchImage: spec.fetchImage, timing: spec.firmwareTiming, allowHttp: true },
    });
    const registry = createCommandRegistry({
      store,
      outbox,
      keys,
      facts: () => ({ hubId: "hub-test", version: "0.0.0", bootId: "boot", sessionId: 1, connected: true, startedAt: "" }),
      provisioning: { commands, effects },
    });
    const dispatcher = new Dispatcher({ store, registry, clock, log, emit: (e) => outbox.emit(e) });
    await engine.start();
    firmware.resume();
    return { store, engine, keys, locks, firmware, registry, dispatcher, links };
  };
  const stopHub = async (h: HubSide): Promise<void> => {
    const firmwareStopped = h.firmware.stop();
    await h.engine.stop();
    await firmwareStopped;
    await h.links.close();
    h.store.close();
  };

  let hub = await startHub();

  const p: Property & { close(): Promise<void> } = {
    clock,
    get store() {
      return hub.store;
    },
    get engine() {
      return hub.engine;
    },
    get keys() {
      return hub.keys;
    },
    get locks() {
      return hub.locks;
    },
    get firmware() {
      return hub.firmware;
    },
    get registry() {
      return hub.registry;
    },
    dataDir,
    doorIds,
    rooms,
    commons,
    buses,
    statusChanges,
    sim(doorId) {
      const s = sims.get(doorId);
      if (!s) throw new Error(`no simulated lock on ${doorId}`);
      return s;
    },
    lockIdOf(doorId) {
      const id = lockIds.get(doorId);
      if (!id) throw new Error(`no lock on ${doorId}`);
      return id;
    },
    commission(doorId) {
      const bus = busOf.get(doorId)!;
      const profile = commons.includes(doorId) ? commonProfile.id : roomProfile.id;
      const setupKey = sims.get(doorId)!.setupKey;
      return p.ok("lock.commission", { lockId: lockIds.get(doorId), profile, link: { type: "tcp", host: bus.host, port: bus.port, address: sims.get(doorId)!.address }, ...(setupKey ? { setupKey } : {}) });
    },
    async send(cmd, params = {}) {
      const payload = { id: `c-${++seq}-${cmd}`, cmd, ts: new Date(clock.now()).toISOString(), ...params };
      return (await hub.dispatcher.dispatch(JSON.stringify(payload))).response;
    },
    async ok(cmd, params = {}) {
      const r = await p.send(cmd, params);
      if (!r.ok) throw new Error(`${cmd} failed: ${r.error.code} ${r.error.message} (${r.error.path ?? ""})`);
      return { ...(r.result as Record<string, unknown>), ...(r.warnings && r.warnings.length > 0 ? { warnings: [...r.warnings] } : {}) };
    },
    keyStatus(keyId) {
      const s = hub.engine.statuses.keyStatus(keyId) ?? hub.engine.statuses.keyStatusForResponse(keyId);
      return s;
    },
    events(type) {
      const all = hub.store.outbox.from(0, 1_000_000).map((e) => e.event);
      return type === undefined ? all : all.filter((e) => e.type === type);
    },
    async waitFor(what, fn, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = fn();
        if (v !== undefined && v !== null && v !== false) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await tick(20);
      }
    },
    async waitForKey(keyId, pred, timeoutMs = 15_000) {
      let last: KeyStatus | undefined;
      try {
        return await p.waitFor(`key ${keyId}`, () => {
          last = p.keyStatus(keyId);
          return pred(last) ? last : undefined;
        }, timeoutMs);
      } catch (e) {
        throw new Error(`${(e as Error).message}; last status: ${JSON.stringify(last)}`);
      }
    },
    async settle(timeoutMs = 30_000) {
      let calm = 0;
      await p.waitFor("the engine to settle", () => {
        calm = hub.engine.idle ? calm + 1 : 0;
        return calm >= 3;
      }, timeoutMs);
    },
    async restartHub() {
      await stopHub(hub);
      hub = await startHub();
    },
    async close() {
      await stopHub(hub);
      for (const b of buses) await b.close();
      for (const s of sims.values()) s.dispose();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };

  // The property as the cloud would set it up.
  await p.ok("site.configure", { ...makeSite(), ...spec.site });
  for (const c of commons) await p.ok("door.upsert", { doorId: c, name: c, lockId: lockIds.get(c), kind: "common", linkedDoorIds: [], protectConfiguration: false });
  for (const r of rooms) await p.ok("door.upsert", { doorId: r, name: r, lockId: lockIds.get(r), kind: "room", linkedDoorIds: commons, protectConfiguration: false });
  if (spec.commission ?? true) {
    for (const doorId of doorIds) await p.commission(doorId);
  }
  return p;
}

// ---------------------------------------------------------------- keys

/** Local date (YYYY-MM-DD) in the property's zone, `days` from the clock's today. */
export function localDate(p: Pick<Property, "clock">, days = 0, timezone = "Europe/Prague"): string {
  const d = new Date(p.clock.now() + days * 86_400_000);
  return new Intl.DateTimeFormat("en-CA", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
}

export interface KeyDoorSpec {
  doorId: string;
  from?: string;
  to?: string;
  arrivalTime?: string;
  departureTime?: string;
  allowProvisioning?: boolean;
  allowLinkedDoorsAccess?: boolean;
}

/** A key.upsert payload: by default valid from yesterday 00:00 to the day after tomorrow. */
export function keyPayload(
  p: Pick<Property, "clock">,
  keyId: string,
  doors: (string | KeyDoorSpec)[],
  over: Partial<Omit<Key, "doors">> & Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    keyId,
    version: 1,
    source: "manual",
    holder: { name: `Guest ${keyId}` },
    checkedIn: true,
    doors: doors.map((d) => {
      const s = typeof d === "string" ? { doorId: d } : d;
      return {
        doorId: s.doorId,
        accessPeriod: { from: s.from ?? localDate(p, -1), to: s.to ?? localDate(p, 2) },
        arrivalTime: s.arrivalTime ?? "00:00",
        departureTime: s.departureTime ?? "11:00",
        allowProvisioning: s.allowProvisioning ?? true,
        allowLinkedDoorsAccess: s.allowLinkedDoorsAccess ?? true,
      };
    }),
    doorCode: { enabled: true, assignment: "random" },
    keycard: { enabled: false },
    smartKey: { enabled: false },
    ...over,
  };
}

/** The door code a key status shows (throws if none). */
export function codeOf(status: KeyStatus): string {
  const code = status.doorCode.code;
  if (code === undefined) throw new Error(`key ${status.keyId} has no door code: ${JSON.stringify(status.doorCode)}`);
  return code;
}
