/**
 * LLP over BLE GATT (lock-link-protocol.md §6): connect on demand (scan for the lock's
 * advertisement, connect, discover the LLP service, subscribe to TX), cut each write into
 * ATT MTU - 3 byte pieces written with response on RX, pass notifications up as a byte
 * stream (the bus's decoder reassembles frames), drop the link when idle.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { systemClock, type Clock, type TimerHandle } from "../../shared/clock.js";
import { errorMessage, isLockBridgeError, LockBridgeError } from "../../shared/errors.js";
import type { Transport, TransportEvents, TransportState, TransportStatus } from "../types.js";
import { DEFAULT_ATT_MTU, LLP_RX_UUID, LLP_SERVICE_UUID, LLP_TX_UUID, validRssi, type BleCharacteristic, type BlePeripheral } from "./central.js";
import type { BleLeaseHolder, BleRadio } from "./radio.js";

export interface BleTransportOptions {
  /** 16 hex digits. */
  lockId: string;
  radio: BleRadio;
  idleDisconnectMs: number;
  scanTimeoutMs?: number | undefined;
  connectTimeoutMs?: number | undefined;
  clock?: Clock | undefined;
  logger: Logger;
}

/** How long a link must be quiet before it is handed to a waiting lock. */
const YIELD_GRACE_MS = 100;

interface Connection {
  peripheral: BlePeripheral;
  rx: BleCharacteristic;
  tx: BleCharacteristic;
  /** Bytes per write: ATT MTU - 3. */
  chunk: number;
  onData: (data: Buffer) => void;
  onDisconnect: () => void;
}

export class BleTransport extends EventEmitter<TransportEvents> implements Transport, BleLeaseHolder {
  readonly kind = "ble" as const;
  readonly target: string;
  private readonly radio: BleRadio;
  private readonly clock: Clock;
  private readonly log: Logger;
  private state: TransportState = "closed";
  private since: number;
  private reconnects = 0;
  private connects = 0;
  private lastError: string | undefined;
  private bytesIn = 0;
  private bytesOut = 0;
  private conn: Connection | undefined;
  private connecting: Promise<Connection> | undefined;
  private idleTimer: TimerHandle | undefined;
  private writing: Promise<void> = Promise.resolve();
  private started = false;
  lastActivity = 0;
  private lastWriteAt = 0;
  private yieldTimer: TimerHandle | undefined;
  private lastDataAt = 0;
  /** The RSSI read at the last connection (the scanner keeps the advertisements'). */
  private connectSignal: { rssi: number; at: number } | undefined;

  constructor(private readonly opts: BleTransportOptions) {
    super();
    this.target = opts.lockId.toLowerCase();
    this.radio = opts.radio;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger;
    this.since = this.clock.now();
  }

  status(): TransportStatus {
    // The newer of the last advertisement seen and the reading at the last connection.
    const adv = this.radio.scanner.signal(this.target);
    const signal = adv && (!this.connectSignal || adv.at > this.connectSignal.at) ? adv : this.connectSignal;
    return {
      kind: this.kind, target: this.target, state: this.state, since: this.since, reconnects: this.reconnects,
      lastError: this.lastError, bytesIn: this.bytesIn, bytesOut: this.bytesOut,
      ...(signal && { rssi: signal.rssi, rssiAt: signal.at }),
    };
  }

  /** MTU-sized piece length of the current connection (for tests and diagnostics). */
  get writeChunk(): number | undefined {
    return this.conn?.chunk;
  }

  async open(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await this.radio.central.waitForPoweredOnAsync(5_000);
      this.setState("idle");
    } catch (e) {
      this.markUnavailable(e);
    }
  }

  async close(): Promise<void> {
    this.started = false;
    await this.disconnect();
    this.setState("closed");
  }

  write(data: Uint8Array): Promise<void> {
    const run = this.writing.then(() => this.writeNow(Buffer.from(data)));
    this.writing = run.catch(() => undefined);
    return run;
  }

  /** LLP is request/response: a write not yet followed by data is a request awaiting its answer (given up after 5 s). */
  get evictable(): boolean {
    return this.lastDataAt >= this.lastWriteAt || this.clock.now() - this.lastWriteAt > 5_000;
  }

  /** Called by the connection limiter when another lock waits for a connection. */
  evict(): void {
    this.log.debug({ lockId: this.target }, "BLE connection handed to a waiting lock");
    void this.disconnect();
  }

  private async writeNow(data: Buffer): Promise<void> {
    if (!this.started) throw new LockBridgeError("transport_closed", `BLE transport for ${this.target} is closed`, this.target);
    const conn = await this.ensureConnected();
    this.touch();
    for (let at = 0; at < data.length; at += conn.chunk) {
      const piece = data.subarray(at, Math.min(data.length, at + conn.chunk));
      try {
        await conn.rx.writeAsync(piece, false);
      } catch (e) {
        this.lastError = errorMessage(e);
        throw new LockBridgeError("transport_closed", `BLE write to ${this.target} failed: ${this.lastError}`, this.target);
      }
      this.bytesOut += piece.length;
    }
    this.lastWriteAt = this.clock.now();
    this.touch();
  }

  private ensureConnected(): Promise<Connection> {
    if (this.conn) return Promise.resolve(this.conn);
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<Connection> {
    this.setState("opening");
    try {
      await this.radio.central.waitForPoweredOnAsync(5_000);
    } catch (e) {
      this.markUnavailable(e);
      throw e;
    }
    await this.radio.limiter.acquire(this);
    let peripheral: BlePeripheral | undefined;
    try {
      peripheral = await this.radio.scanner.find(this.target, this.opts.scanTimeoutMs ?? 10_000);
      await this.withTimeout(peripheral.connectAsync(), this.opts.connectTimeoutMs ?? 10_000, "connect");
      const { characteristics } = await this.withTimeout(
        peripheral.discoverSomeServicesAndCharacteristicsAsync([LLP_SERVICE_UUID], [LLP_RX_UUID, LLP_TX_UUID]),
        this.opts.connectTimeoutMs ?? 10_000,
        "discover",
      );
      const rx = characteristics.find((c) => normUuid(c.uuid) === LLP_RX_UUID);
      const tx = characteristics.find((c) => normUuid(c.uuid) === LLP_TX_UUID);
      if (!rx || !tx) throw new LockBridgeError("transport_unavailable", `lock ${this.target} lacks the LLP RX/TX characteristics`, this.target);
      const conn: Connection = {
        peripheral, rx, tx,
        chunk: Math.max(1, (peripheral.mtu ?? DEFAULT_ATT_MTU) - 3),
        onData: (d) => {
          if (this.conn !== conn) return;
          this.bytesIn += d.length;
          this.lastDataAt = this.clock.now();
          this.touch();
          this.emit("data", Buffer.from(d));
          this.yieldIfOthersWait();
        },
        onDisconnect: () => this.lost(conn),
      };
      tx.on("data", conn.onData);
      peripheral.on("disconnect", conn.onDisconnect);
      await this.withTimeout(tx.subscribeAsync(), this.opts.connectTimeoutMs ?? 10_000, "subscribe");
      this.conn = conn;
      if (this.connects++ > 0) this.reconnects++;
      this.log.debug({ lockId: this.target, mtu: peripheral.mtu }, "BLE connected");
      void this.readRssi(peripheral);
      this.setState("open");
      this.touch();
      return conn;
    } catch (e) {
      this.radio.limiter.release(this);
      this.radio.scanner.forget(this.target);
      if (peripheral) await peripheral.disconnectAsync().catch(() => undefined);
      this.lastError = errorMessage(e);
      this.log.warn({ lockId: this.target, err: this.lastError }, "BLE connect failed");
      this.setState("idle");
      throw isLockBridgeError(e) ? e : new LockBridgeError("transport_unavailable", `BLE connect to ${this.target} failed: ${this.lastError}`, this.target);
    }
  }

  /**
   * The signal strength of the new connection: noble reads it from the controller
   * (updateRssiAsync); a proxy reports it with the connection (peripheral.rssi). Best effort
   * and off the request path: a failed or slow read leaves the last value.
   */
  private async readRssi(peripheral: BlePeripheral): Promise<void> {
    let rssi: number | undefined = peripheral.rssi;
    if (typeof peripheral.updateRssiAsync === "function") {
      rssi = await this.withTimeout(peripheral.updateRssiAsync(), 2_000, "RSSI read").catch((e: unknown) => {
        this.log.debug({ lockId: this.target, err: errorMessage(e) }, "BLE RSSI read failed");
        return peripheral.rssi;
      });
    }
    if (validRssi(rssi)) this.connectSignal = { rssi, at: this.clock.now() };
  }

  private lost(conn: Connection): void {
    if (this.conn !== conn) return;
    this.detach(conn);
    this.log.debug({ lockId: this.target }, "BLE link dropped");
    this.emit("close");
    this.setState(this.started ? "idle" : "closed");
  }

  private detach(conn: Connection): void {
    this.conn = undefined;
    this.yieldTimer?.cancel();
    this.yieldTimer = undefined;
    this.idleTimer?.cancel();
    this.idleTimer = undefined;
    conn.tx.removeListener("data", conn.onData);
    conn.peripheral.removeListener("disconnect", conn.onDisconnect);
    this.radio.limiter.release(this);
  }

  private async disconnect(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    this.detach(conn);
    await conn.peripheral.disconnectAsync().catch((e: unknown) => this.log.debug({ lockId: this.target, err: errorMessage(e) }, "BLE disconnect failed"));
    if (this.started) this.setState("idle");
  }

  /**
   * Other locks wait for a connection: once this link has been quiet for a short grace
   * (time for the session to send its next queued request), hand it over.
   */
  private yieldIfOthersWait(): void {
    if (this.radio.limiter.waiting === 0 || this.yieldTimer) return;
    this.yieldTimer = this.clock.setTimeout(() => {
      this.yieldTimer = undefined;
      if (!this.conn || this.radio.limiter.waiting === 0) return;
      if (this.evictable && this.clock.now() - this.lastActivity >= YIELD_GRACE_MS) this.evict();
      else this.yieldIfOthersWait();
    }, YIELD_GRACE_MS);
  }

  private touch(): void {
    this.lastActivity = this.clock.now();
    this.idleTimer?.cancel();
    this.idleTimer = this.clock.setTimeout(() => {
      this.idleTimer = undefined;
      this.log.debug({ lockId: this.target }, "BLE idle; disconnecting");
      void this.disconnect();
    }, this.opts.idleDisconnectMs);
  }

  private withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = this.clock.setTimeout(() => reject(new LockBridgeError("transport_unavailable", `BLE ${what} to ${this.target} timed out after ${ms} ms`, this.target)), ms);
      p.then(
        (v) => {
          t.cancel();
          resolve(v);
        },
        (e: unknown) => {
          t.cancel();
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  private markUnavailable(e: unknown): void {
    this.lastError = errorMessage(e);
    this.setState("unavailable");
  }

  private setState(state: TransportState): void {
    if (state === this.state) return;
    this.state = state;
    this.since = this.clock.now();
    this.emit("state", this.status());
  }
}

function normUuid(uuid: string): string {
  return uuid.replace(/-/g, "").toLowerCase();
}
