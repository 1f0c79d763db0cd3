import { EventEmitter } from "node:events";
import type {
  BleAdvertisement, BleCentral, BleCharacteristic, BlePeripheral,
} from "../../src/transport/ble/central.js";
import { LockBridgeError } from "../../src/shared/errors.js";
import type { SimLock } from "../lock/sim-lock.js";
import { advertisementOf, DEFAULT_MTU, GattLink, LLP_RX_UUID, LLP_SERVICE_UUID, LLP_TX_UUID, peripheralIdOf } from "./gatt.js";

export interface StandInCentralOptions {
  /** ATT MTU after connect. Default 23. */
  mtu?: number;
  /** False: the radio never powers on (waitForPoweredOnAsync rejects with ble_unavailable). */
  poweredOn?: boolean;
  /** Locks send EVENT_NOTIFY unasked while connected. Default true. */
  eventNotify?: boolean;
  /** The signal strength (dBm) the radio sees from each lock, at discovery and at connection. Default -60. */
  rssi?: number | ((lock: SimLock) => number | undefined);
}

type DataListener = (data: Buffer, isNotification: boolean) => void;

class StandInCharacteristic implements BleCharacteristic {
  private readonly emitter = new EventEmitter();
  subscribed = false;
  constructor(
    readonly uuid: string,
    private readonly onWrite: (data: Buffer) => void,
  ) {}
  writeAsync(data: Buffer, _withoutResponse: boolean): Promise<void> {
    if (this.uuid !== LLP_RX_UUID) return Promise.reject(new Error("characteristic is not writable"));
    try {
      this.onWrite(Buffer.from(data));
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }
  subscribeAsync(): Promise<void> {
    if (this.uuid !== LLP_TX_UUID) return Promise.reject(new Error("characteristic does not notify"));
    this.subscribed = true;
    return Promise.resolve();
  }
  on(event: "data", listener: DataListener): this {
    this.emitter.on(event, listener);
    return this;
  }
  removeListener(event: "data", listener: DataListener): this {
    this.emitter.removeListener(event, listener);
    return this;
  }
  deliver(data: Buffer): void {
    if (this.subscribed) this.emitter.emit("data", data, true);
  }
}

class StandInPeripheral implements BlePeripheral {
  readonly id: string;
  /** dBm, as a radio reports it with each advertisement; setRssi changes it (the lock moved). */
  rssi: number;
  mtu: number | null = null;
  advertisement: BleAdvertisement;
  private readonly emitter = new EventEmitter();
  private link: GattLink | null = null;
  private rx: StandInCharacteristic | null = null;
  private tx: StandInCharacteristic | null = null;

  constructor(
    readonly lock: SimLock,
    rssi: number,
    private readonly opts: { mtu: number; eventNotify: boolean },
  ) {
    this.rssi = rssi;
    this.id = peripheralIdOf(lock.lockId);
    this.advertisement = advertisementOf(lock);
  }

  get connected(): boolean {
    return this.link !== null;
  }

  connectAsync(): Promise<void> {
    if (this.link) return Promise.resolve();
    if (this.lock.faults.offline) return Promise.reject(new Error("connection failed: peripheral not responding"));
    this.tx = new StandInCharacteristic(LLP_TX_UUID, () => undefined);
    const tx = this.tx;
    this.link = new GattLink(this.lock, this.opts.mtu, (chunk) => tx.deliver(Buffer.from(chunk)), { eventNotify: this.opts.eventNotify });
    const link = this.link;
    this.rx = new StandInCharacteristic(LLP_RX_UUID, (data) => link.write(data));
    this.mtu = this.opts.mtu;
    return Promise.resolve();
  }

  disconnectAsync(): Promise<void> {
    this.drop();
    return Promise.resolve();
  }

  /** noble's read of the live connection's RSSI. */
  updateRssiAsync(): Promise<number> {
    return this.link ? Promise.resolve(this.rssi) : Promise.reject(new Error("not connected"));
  }

  /** The link drops (walked out of range, lock offline, or the hub disconnected). */
  drop(): void {
    if (!this.link) return;
    this.link.close();
    this.link = null;
    this.rx = null;
    this.tx = null;
    this.mtu = null;
    this.emitter.emit("disconnect");
  }

  discoverSomeServicesAndCharacteristicsAsync(serviceUuids: string[], characteristicUuids: string[]): Promise<{ characteristics: BleCharacteristic[] }> {
    if (!this.link || !this.rx || !this.tx) return Promise.reject(new Error("not connected"));
    const norm = (u: string) => u.replace(/-/g, "").toLowerCase();
    if (serviceUuids.length > 0 && !serviceUuids.map(norm).includes(LLP_SERVICE_UUID)) return Promise.resolve({ characteristics: [] });
    const wanted = characteristicUuids.map(norm);
    const all = [this.rx, this.tx];
    return Promise.resolve({ characteristics: wanted.length === 0 ? all : all.filter((c) => wanted.includes(c.uuid)) });
  }

  on(event: "disconnect", listener: () => void): this {
    this.emitter.on(event, listener);
    return this;
  }
  removeListener(event: "disconnect", listener: () => void): this {
    this.emitter.removeListener(event, listener);
    return this;
  }
}

/**
 * The hub's BleCentral, in-process, with simulated locks as the peripherals in range:
 * unit tests drive the real BLE transport without a radio or a proxy. Advertising and
 * fragmentation per §6 (MTU-3 byte writes and notifications).
 */
export class StandInCentral implements BleCentral {
  private readonly emitter = new EventEmitter();
  private readonly peripherals = new Map<SimLock, StandInPeripheral>();
  private scanning = false;
  private scanFilter: string[] | undefined;
  private readonly unsubscribe = new Map<SimLock, () => void>();
  private closed = false;
  readonly mtu: number;

  constructor(
    locks: readonly SimLock[] = [],
    private readonly opts: StandInCentralOptions = {},
  ) {
    this.mtu = opts.mtu ?? DEFAULT_MTU;
    for (const l of locks) this.addLock(l);
  }

  /** A lock comes into range. */
  addLock(lock: SimLock): void {
    if (this.peripherals.has(lock)) return;
    const rssi = typeof this.opts.rssi === "function" ? this.opts.rssi(lock) : this.opts.rssi;
    const p = new StandInPeripheral(lock, rssi ?? -60, { mtu: this.mtu, eventNotify: this.opts.eventNotify ?? true });
    this.peripherals.set(lock, p);
    let lastFlags = lock.statusFlags;
    this.unsubscribe.set(
      lock,
      lock.onChange(() => {
        if (lock.faults.offline) return p.drop();
        const flags = lock.statusFlags;
        if (flags !== lastFlags) {
          lastFlags = flags;
          this.advertise(p);
        }
      }),
    );
    this.advertise(p);
  }

  /** A lock leaves range: its link drops. */
  removeLock(lock: SimLock): void {
    this.peripherals.get(lock)?.drop();
    this.peripherals.delete(lock);
    this.unsubscribe.get(lock)?.();
    this.unsubscribe.delete(lock);
  }

  peripheralOf(lock: SimLock): BlePeripheral | undefined {
    return this.peripherals.get(lock);
  }

  /** The lock's signal changes (it moved, a door shut): seen at its next advertisement or RSSI read. */
  setRssi(lock: SimLock, dbm: number): void {
    const p = this.peripherals.get(lock);
    if (!p) return;
    p.rssi = dbm;
    this.advertise(p);
  }

  /** Drop a lock's live connection (it walked out of range for a moment). */
  dropConnection(lock: SimLock): void {
    this.peripherals.get(lock)?.drop();
  }

  waitForPoweredOnAsync(_timeoutMs?: number): Promise<void> {
    if (this.opts.poweredOn === false || this.closed) return Promise.reject(new LockBridgeError("ble_unavailable", "stand-in radio is powered off"));
    return Promise.resolve();
  }

  startScanningAsync(serviceUuids?: string[], _allowDuplicates?: boolean): Promise<void> {
    if (this.opts.poweredOn === false || this.closed) return Promise.reject(new LockBridgeError("ble_unavailable", "stand-in radio is powered off"));
    this.scanning = true;
    this.scanFilter = serviceUuids && serviceUuids.length > 0 ? serviceUuids.map((u) => u.replace(/-/g, "").toLowerCase()) : undefined;
    // Discoveries arrive after the call returns, as from a radio.
    setImmediate(() => {
      for (const p of this.peripherals.values()) this.advertise(p);
    });
    return Promise.resolve();
  }

  stopScanningAsync(): Promise<void> {
    this.scanning = false;
    return Promise.resolve();
  }

  on(event: "discover", listener: (peripheral: BlePeripheral) => void): this {
    this.emitter.on(event, listener);
    return this;
  }
  removeListener(event: "discover", listener: (peripheral: BlePeripheral) => void): this {
    this.emitter.removeListener(event, listener);
    return this;
  }

  close(): Promise<void> {
    this.closed = true;
    this.scanning = false;
    for (const lock of [...this.peripherals.keys()]) this.removeLock(lock);
    this.emitter.removeAllListeners();
    return Promise.resolve();
  }

  private advertise(p: StandInPeripheral): void {
    if (!this.scanning || p.lock.faults.offline) return;
    if (this.scanFilter && !this.scanFilter.includes(LLP_SERVICE_UUID)) return;
    p.advertisement = advertisementOf(p.lock);
    this.emitter.emit("discover", p);
  }
}
