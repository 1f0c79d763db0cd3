/**
 * What all BLE transports of a hub share: the central (one radio or one proxy), a scanner
 * that remembers which peripheral advertises which lockId, and a cap on concurrent
 * connections (controllers manage only a few; a waiting request queues for a free one).
 */
import type { Logger } from "pino";
import { systemClock, type Clock, type TimerHandle } from "../../shared/clock.js";
import { LockBridgeError } from "../../shared/errors.js";
import { LLP_SERVICE_UUID, lockIdFromAdvertisement, validRssi, type BleCentral, type BlePeripheral } from "./central.js";

/** A connection holder the limiter may ask to let go when others wait. */
export interface BleLeaseHolder {
  /** ms since epoch of the holder's last traffic. */
  readonly lastActivity: number;
  /** True when no request is waiting for its answer: the link can go without losing anything. */
  readonly evictable: boolean;
  /** Give the connection back now (only asked when evictable). */
  evict(): void;
}

export class BleConnectionLimiter {
  private readonly holders = new Set<BleLeaseHolder>();
  private readonly waiters: { holder: BleLeaseHolder; resolve: () => void }[] = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new LockBridgeError("config_invalid", `ble.maxConnections must be >= 1, got ${max}`);
  }

  get inUse(): number {
    return this.holders.size;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  acquire(holder: BleLeaseHolder): Promise<void> {
    if (this.holders.has(holder)) return Promise.resolve();
    if (this.holders.size < this.max) {
      this.holders.add(holder);
      return Promise.resolve();
    }
    const p = new Promise<void>((resolve) => this.waiters.push({ holder, resolve }));
    this.evictQuietest();
    return p;
  }

  release(holder: BleLeaseHolder): void {
    const i = this.waiters.findIndex((w) => w.holder === holder);
    if (i >= 0) this.waiters.splice(i, 1);
    if (!this.holders.delete(holder)) return;
    const next = this.waiters.shift();
    if (next) {
      this.holders.add(next.holder);
      next.resolve();
      if (this.waiters.length > 0) this.evictQuietest();
    }
  }

  /** Others wait: the least recently active holder with nothing outstanding lets go. */
  private evictQuietest(): void {
    let quietest: BleLeaseHolder | undefined;
    for (const h of this.holders) {
      if (!h.evictable) continue;
      if (!quietest || h.lastActivity < quietest.lastActivity) quietest = h;
    }
    quietest?.evict();
  }
}

/** A lock's signal strength as the radio saw it. */
export interface BleSignal {
  /** dBm */
  rssi: number;
  /** ms since epoch */
  at: number;
}

/** Finds peripherals by the lockId they advertise (local name or manufacturer data). */
export class BleScanner {
  private readonly seen = new Map<string, BlePeripheral>();
  private readonly waiting = new Map<string, Set<(p: BlePeripheral) => void>>();
  /** The last RSSI of every lock advertising while anyone scanned (kept when a peripheral is forgotten). */
  private readonly signals = new Map<string, BleSignal>();
  /** Surveys under way (scan for everything nearby for a while). */
  private surveys = 0;
  private scanning = false;

  constructor(
    private readonly central: BleCentral,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    central.on("discover", this.onDiscover);
  }

  /** The peripheral advertising lockId, from the last scan or a new one. */
  async find(lockId: string, timeoutMs: number): Promise<BlePeripheral> {
    const id = lockId.toLowerCase();
    const known = this.seen.get(id);
    if (known) return known;
    let timer: TimerHandle | undefined;
    let waiter: ((p: BlePeripheral) => void) | undefined;
    const found = new Promise<BlePeripheral>((resolve, reject) => {
      waiter = resolve;
      timer = this.clock.setTimeout(
        () => reject(new LockBridgeError("transport_unavailable", `no BLE advertisement from lock ${id} within ${timeoutMs} ms`, id)),
        timeoutMs,
      );
    });
    let set = this.waiting.get(id);
    if (!set) this.waiting.set(id, (set = new Set()));
    set.add(waiter!);
    try {
      await this.updateScanning();
      return await found;
    } finally {
      timer?.cancel();
      set.delete(waiter!);
      if (set.size === 0) this.waiting.delete(id);
      await this.updateScanning().catch(() => undefined);
    }
  }

  /** The last signal strength seen from lockId's advertisements, if any. */
  signal(lockId: string): BleSignal | undefined {
    return this.signals.get(lockId.toLowerCase());
  }

  /**
   * Every LLP lock advertising within `durationMs` (its last advertisement each), sharing the
   * radio's scan with the transports' finds: scanning starts if it was off and stops after
   * only if nobody else needs it.
   */
  async survey(durationMs: number): Promise<Map<string, BlePeripheral>> {
    const found = new Map<string, BlePeripheral>();
    const onDiscover = (p: BlePeripheral) => {
      const id = lockIdFromAdvertisement(p.advertisement);
      if (id) found.set(id, p);
    };
    this.central.on("discover", onDiscover);
    this.surveys++;
    try {
      // Already scanning for a lock: start again, so a proxy that advertises each lock once per
      // scan (not on every packet, as a radio does) reports them all to this survey too.
      if (this.scanning) await this.central.startScanningAsync([LLP_SERVICE_UUID], true);
      else await this.updateScanning();
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, durationMs));
    } finally {
      this.surveys--;
      this.central.removeListener("discover", onDiscover);
      await this.updateScanning().catch(() => undefined);
    }
    return found;
  }

  /** Forget a peripheral that failed to connect: the next find scans afresh. */
  forget(lockId: string): void {
    this.seen.delete(lockId.toLowerCase());
  }

  dispose(): void {
    this.central.removeListener("discover", this.onDiscover);
  }

  private async updateScanning(): Promise<void> {
    const want = this.waiting.size > 0 || this.surveys > 0;
    if (want === this.scanning) return;
    this.scanning = want;
    if (want) await this.central.startScanningAsync([LLP_SERVICE_UUID], true);
    else await this.central.stopScanningAsync();
  }

  private readonly onDiscover = (p: BlePeripheral): void => {
    const id = lockIdFromAdvertisement(p.advertisement);
    if (!id) return;
    if (this.seen.get(id) !== p) this.log.debug({ lockId: id, rssi: p.rssi }, "BLE lock seen");
    this.seen.set(id, p);
    if (validRssi(p.rssi)) this.signals.set(id, { rssi: p.rssi, at: this.clock.now() });
    for (const w of this.waiting.get(id) ?? []) w(p);
  };
}

export interface BleRadio {
  readonly central: BleCentral;
  readonly scanner: BleScanner;
  readonly limiter: BleConnectionLimiter;
}

export function createBleRadio(central: BleCentral, opts: { maxConnections: number; logger: Logger; clock?: Clock | undefined }): BleRadio {
  const clock = opts.clock ?? systemClock;
  return {
    central,
    scanner: new BleScanner(central, opts.logger, clock),
    limiter: new BleConnectionLimiter(opts.maxConnections),
  };
}
