import { createHash } from "node:crypto";
import { dirname, resolve } from "node:path";
import type { Clock } from "../../src/shared/clock.js";
import { LockBridgeError } from "../../src/shared/errors.js";
import { startBleProxy, type BleProxy } from "../ble/proxy-server.js";
import { startPtyBus, type PtyBus } from "../links/pty-bus.js";
import { startTcpBus, type TcpBus } from "../links/tcp-bus.js";
import { SimLock } from "../lock/sim-lock.js";
import { loadLockProfile } from "./profiles.js";
import { propertyDoors, type Property } from "./property.js";
import { readFleetState, writeFleetState } from "./state-file.js";

/** A door's lock link in the MQTT contract's shape (lock.commission `link`). */
export type ContractLink =
  | { type: "tcp"; host: string; port: number; address: number }
  | { type: "serial"; path: string; address: number }
  | { type: "ble"; lockId: string };

export interface FleetDoor {
  doorId: string;
  name: string;
  kind: "room" | "common";
  linkedDoorIds: string[];
  /** The profile reference of the property (a device-profile id or a built-in sim model). */
  profile: string;
  lock: SimLock;
  busId: string | null;
  /** BLE locks: the RSSI (dBm) the property gives the proxy's radio for it. */
  rssi?: number | undefined;
}

/** The machine-readable line `lockbridge sim run|demo` prints once everything listens. */
export interface ReadyInfo {
  ready: true;
  name: string;
  timezone: string;
  tcpBuses: { id: string; host: string; port: number; locks: { address: number; lockId: string; doorId: string }[] }[];
  ptyBuses: { id: string; hubPath: string; locks: { address: number; lockId: string; doorId: string }[] }[];
  bleProxyPort: number | null;
  bleLocks: { lockId: string; doorId: string }[];
  controlPort: number | null;
  /** setupKey: the label's setup key (PAIR_KX models), as the cloud knows it from the manufacturing record. */
  doors: { doorId: string; name: string; kind: "room" | "common"; linkedDoorIds: string[]; lockId: string; profile: string; link: ContractLink; setupKey: string | null }[];
}

export interface FleetOptions {
  /** Keep lock state here across runs (slots, keys, counters, event rings). */
  stateFile?: string;
  /** Resolve relative paths of the property (profilesDir) against this. */
  baseDir?: string;
  clock?: Clock;
  /** Listen on free ports whatever the property says (tests, a hub that reads the ready line). */
  ephemeralPorts?: boolean;
  /** Debounce of state writes. Default 200 ms. */
  saveDelayMs?: number;
}

/** A lockId for a door that has none in the property: stable across runs ("4c42" + hash of the doorId). */
export function derivedLockId(doorId: string): string {
  return `4c42${createHash("sha256").update(`door:${doorId}`).digest("hex").slice(0, 12)}`;
}

/** A property's locks running on their links. */
export class Fleet {
  readonly doors = new Map<string, FleetDoor>();
  private tcp: { id: string; bus: TcpBus }[] = [];
  private pty: { id: string; bus: PtyBus }[] = [];
  private ble: BleProxy | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private saving: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly property: Property,
    private readonly opts: FleetOptions,
  ) {}

  static async start(property: Property, opts: FleetOptions = {}): Promise<Fleet> {
    const fleet = new Fleet(property, opts);
    try {
      await fleet.build();
    } catch (e) {
      await fleet.close();
      throw e;
    }
    return fleet;
  }

  private async build(): Promise<void> {
    const p = this.property;
    const profilesDir = p.profilesDir ? resolve(this.opts.baseDir ?? ".", p.profilesDir) : undefined;
    const saved = this.opts.stateFile ? await readFleetState(this.opts.stateFile) : undefined;
    const clockOpt = this.opts.clock ? { clock: this.opts.clock } : {};
    for (const d of propertyDoors(p)) {
      const knobs = d.lock ?? {};
      const { firmware, ...lockKnobs } = knobs;
      const address = "bus" in d.link ? d.link.address : 1;
      const st = saved?.locks[d.doorId];
      let lock: SimLock;
      if (st) {
        lock = SimLock.fromState({ ...st, address }, { ...clockOpt, ...lockKnobs });
      } else {
        const profile = loadLockProfile(d.profile, profilesDir);
        if (firmware) profile.firmware = firmware;
        lock = new SimLock({ ...clockOpt, ...lockKnobs, lockId: d.lockId ?? derivedLockId(d.doorId), address, profile });
      }
      this.doors.set(d.doorId, {
        doorId: d.doorId,
        name: d.name,
        kind: d.kind,
        linkedDoorIds: d.linkedDoorIds,
        profile: typeof d.profile === "string" ? d.profile : "inline",
        lock,
        busId: "bus" in d.link ? d.link.bus : null,
        rssi: "ble" in d.link ? d.link.rssi : undefined,
      });
      if (this.opts.stateFile) lock.onChange(() => this.scheduleSave());
    }
    const port = (n: number) => (this.opts.ephemeralPorts ? 0 : n);
    for (const b of p.buses) {
      const locks = [...this.doors.values()].filter((d) => d.busId === b.id).map((d) => d.lock);
      const wire = b.wireBaud !== undefined ? { wireBaud: b.wireBaud } : {};
      if (b.type === "tcp") {
        this.tcp.push({ id: b.id, bus: await startTcpBus(locks, { host: b.host, port: port(b.port), eventNotify: b.eventNotify, ...wire }) });
      } else {
        this.pty.push({ id: b.id, bus: await startPtyBus(locks, wire) });
      }
    }
    if (p.ble) {
      const locks = [...this.doors.values()].filter((d) => d.busId === null).map((d) => d.lock);
      const rssi = new Map([...this.doors.values()].map((d) => [d.lock, d.rssi]));
      this.ble = await startBleProxy(locks, { host: p.ble.host, port: port(p.ble.port), mtu: p.ble.mtu, eventNotify: p.ble.eventNotify, rssi: (lock) => rssi.get(lock) });
    }
    if (this.opts.stateFile) await this.saveNow();
  }

  /** A lock by doorId or lockId (case-insensitive). */
  find(ref: string): FleetDoor {
    const byDoor = this.doors.get(ref);
    if (byDoor) return byDoor;
    const lower = ref.toLowerCase();
    for (const d of this.doors.values()) if (d.lock.lockId === lower) return d;
    throw new LockBridgeError("unknown_lock", `no door or lock "${ref}" in ${this.property.name}`);
  }

  get locks(): SimLock[] {
    return [...this.doors.values()].map((d) => d.lock);
  }

  ready(controlPort: number | null): ReadyInfo {
    const locksOf = (busId: string) =>
      [...this.doors.values()].filter((d) => d.busId === busId).map((d) => ({ address: d.lock.address, lockId: d.lock.lockId, doorId: d.doorId }));
    const link = (d: FleetDoor): ContractLink => {
      const t = this.tcp.find((x) => x.id === d.busId);
      if (t) return { type: "tcp", host: t.bus.host, port: t.bus.port, address: d.lock.address };
      const s = this.pty.find((x) => x.id === d.busId);
      if (s) return { type: "serial", path: s.bus.hubPath, address: d.lock.address };
      return { type: "ble", lockId: d.lock.lockId };
    };
    return {
      ready: true,
      name: this.property.name,
      timezone: this.property.timezone,
      tcpBuses: this.tcp.map(({ id, bus }) => ({ id, host: bus.host, port: bus.port, locks: locksOf(id) })),
      ptyBuses: this.pty.map(({ id, bus }) => ({ id, hubPath: bus.hubPath, locks: locksOf(id) })),
      bleProxyPort: this.ble?.port ?? null,
      bleLocks: [...this.doors.values()].filter((d) => d.busId === null).map((d) => ({ lockId: d.lock.lockId, doorId: d.doorId })),
      controlPort,
      doors: [...this.doors.values()].map((d) => ({
        doorId: d.doorId, name: d.name, kind: d.kind, linkedDoorIds: d.linkedDoorIds, lockId: d.lock.lockId, profile: d.profile, link: link(d), setupKey: d.lock.setupKey,
      })),
    };
  }

  /** The BLE proxy, to drop a lock's connection (a BLE lock walking out of range). */
  /** The pty bus a door's lock is on, if it is on one. */
  ptyBusOf(d: FleetDoor): PtyBus | undefined {
    return this.pty.find((x) => x.id === d.busId)?.bus;
  }

  get bleProxy(): BleProxy | null {
    return this.ble;
  }

  private scheduleSave(): void {
    if (this.closed || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      void this.saveNow();
    }, this.opts.saveDelayMs ?? 200);
  }

  /** Write the state file now (also on close). */
  saveNow(): Promise<void> {
    const file = this.opts.stateFile;
    if (!file) return Promise.resolve();
    const snapshot = Object.fromEntries([...this.doors.values()].map((d) => [d.doorId, d.lock.snapshot()]));
    this.saving = this.saving.then(() => writeFleetState(file, snapshot)).catch((e: unknown) => {
      process.emitWarning(`sim: cannot save state to ${file}: ${e instanceof Error ? e.message : String(e)}`);
    });
    return this.saving;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    await this.saveNow();
    for (const { bus } of this.tcp) await bus.close();
    for (const { bus } of this.pty) await bus.close();
    await this.ble?.close();
    for (const d of this.doors.values()) d.lock.dispose();
  }
}

export const propertyBaseDir = (file: string): string => dirname(resolve(file));
