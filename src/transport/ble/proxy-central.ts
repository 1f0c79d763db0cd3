/**
 * A BleCentral served by a BLE proxy over TCP (like ESPHome's Bluetooth proxies): the radio
 * sits near the doors, the hub talks newline-delimited JSON to it. Protocol (team brief):
 *   hub->proxy: scan | stopScan | connect{id} | write{id,data hex} | disconnect{id}
 *   proxy->hub: adv{id,name,manufacturerData,rssi} | connected{id,mtu,rssi?} | written{id}
 *               | notify{id,data} | disconnected{id} | error{id|null,message}
 * The proxy exposes exactly the LLP service: "discovery" returns its RX and TX. `rssi` (dBm)
 * is the signal the proxy's radio saw: on each advertisement, and at connection when it reads it.
 * A lost proxy connection drops every peripheral link and is re-established with backoff.
 */
import { EventEmitter } from "node:events";
import { Socket } from "node:net";
import type { Logger } from "pino";
import { z } from "zod";
import { errorMessage, LockBridgeError } from "../../shared/errors.js";
import { Backoff } from "../../shared/backoff.js";
import {
  bleUnavailable, DEFAULT_ATT_MTU, LLP_RX_UUID, LLP_TX_UUID,
  type BleAdvertisement, type BleCentral, type BleCharacteristic, type BlePeripheral,
} from "./central.js";

const hex = z.string().regex(/^([0-9a-fA-F]{2})*$/);
const proxyEvent = z.discriminatedUnion("ev", [
  z.object({ ev: z.literal("adv"), id: z.string(), name: z.string().optional(), manufacturerData: hex.optional(), rssi: z.number().optional() }),
  z.object({ ev: z.literal("connected"), id: z.string(), mtu: z.number().int().min(23).max(517), rssi: z.number().optional() }),
  z.object({ ev: z.literal("written"), id: z.string() }),
  z.object({ ev: z.literal("notify"), id: z.string(), data: hex }),
  z.object({ ev: z.literal("disconnected"), id: z.string() }),
  z.object({ ev: z.literal("error"), id: z.string().nullable().optional(), message: z.string() }),
]);
type ProxyEvent = z.infer<typeof proxyEvent>;

export interface ProxyCentralOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Per-operation timeout (connect, write). */
  opTimeoutMs?: number;
}

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

class ProxyCharacteristic extends EventEmitter implements BleCharacteristic {
  constructor(
    readonly uuid: string,
    private readonly peripheral: ProxyPeripheral,
  ) {
    super();
  }
  writeAsync(data: Buffer, _withoutResponse: boolean): Promise<void> {
    if (this.uuid !== LLP_RX_UUID) return Promise.reject(new Error("only RX is writable"));
    return this.peripheral.write(data);
  }
  subscribeAsync(): Promise<void> {
    // The proxy forwards TX notifications from connect on.
    return Promise.resolve();
  }
}

class ProxyPeripheral extends EventEmitter implements BlePeripheral {
  advertisement: BleAdvertisement = {};
  /** 127: not reported yet (as noble says it). */
  rssi = 127;
  mtu: number | null = null;
  connected = false;
  readonly rx: ProxyCharacteristic;
  readonly tx: ProxyCharacteristic;
  connectWaiter: Pending | undefined;
  readonly writeWaiters: Pending[] = [];

  constructor(
    readonly id: string,
    private readonly central: ProxyCentral,
  ) {
    super();
    this.rx = new ProxyCharacteristic(LLP_RX_UUID, this);
    this.tx = new ProxyCharacteristic(LLP_TX_UUID, this);
  }

  connectAsync(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.connectWaiter = this.central.pending(resolve, reject, `connect ${this.id}`);
      this.central.send({ op: "connect", id: this.id });
    });
  }

  disconnectAsync(): Promise<void> {
    if (!this.connected) return Promise.resolve();
    this.central.send({ op: "disconnect", id: this.id });
    return Promise.resolve();
  }

  discoverSomeServicesAndCharacteristicsAsync(_s: string[], _c: string[]): Promise<{ characteristics: BleCharacteristic[] }> {
    if (!this.connected) return Promise.reject(new Error(`peripheral ${this.id} not connected`));
    return Promise.resolve({ characteristics: [this.rx, this.tx] });
  }

  write(data: Buffer): Promise<void> {
    if (!this.connected) return Promise.reject(new Error(`peripheral ${this.id} not connected`));
    const max = (this.mtu ?? DEFAULT_ATT_MTU) - 3;
    if (data.length > max) return Promise.reject(new Error(`write of ${data.length} bytes exceeds MTU-3 (${max})`));
    return new Promise((resolve, reject) => {
      this.writeWaiters.push(this.central.pending(resolve, reject, `write ${this.id}`));
      this.central.send({ op: "write", id: this.id, data: data.toString("hex") });
    });
  }

  dropped(reason: string): void {
    const err = new LockBridgeError("transport_closed", `BLE peripheral ${this.id}: ${reason}`);
    this.failAll(err);
    if (this.connected) {
      this.connected = false;
      this.mtu = null;
      this.emit("disconnect");
    }
  }

  failAll(err: Error): void {
    const waiters = [...(this.connectWaiter ? [this.connectWaiter] : []), ...this.writeWaiters.splice(0)];
    this.connectWaiter = undefined;
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}

export class ProxyCentral extends EventEmitter implements BleCentral {
  /** The last connect failure logged (a change is logged again; a repeat is not). */
  private lastConnectError: string | undefined;
  private socket: Socket | undefined;
  private buffer = "";
  private readonly peripherals = new Map<string, ProxyPeripheral>();
  private connected: Promise<void> | undefined;
  private scanning = false;
  private closed = false;
  private readonly backoff = new Backoff({ firstMs: 200, maxMs: 5_000, jitter: "none" });
  private retry: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly opTimeoutMs: number;

  constructor(private readonly opts: ProxyCentralOptions) {
    super();
    this.log = opts.logger;
    this.opTimeoutMs = opts.opTimeoutMs ?? 10_000;
  }

  get target(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  waitForPoweredOnAsync(timeoutMs = 5_000): Promise<void> {
    if (this.closed) return Promise.reject(bleUnavailable("BLE proxy client closed"));
    this.connected ??= this.connect(timeoutMs);
    return this.connected;
  }

  async startScanningAsync(): Promise<void> {
    await this.waitForPoweredOnAsync();
    this.scanning = true;
    this.send({ op: "scan" });
  }

  stopScanningAsync(): Promise<void> {
    this.scanning = false;
    if (this.socket) this.send({ op: "stopScan" });
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    for (const p of this.peripherals.values()) p.dropped("proxy client closed");
    this.socket?.destroy();
    this.socket = undefined;
    return Promise.resolve();
  }

  /** @internal */
  send(msg: Record<string, unknown>): void {
    if (!this.socket || this.socket.destroyed) throw new LockBridgeError("transport_closed", `BLE proxy ${this.target} not connected`);
    this.socket.write(`${JSON.stringify(msg)}\n`);
  }

  /** @internal A waiter for one proxy answer, with a timeout. */
  pending(resolve: () => void, reject: (e: Error) => void, what: string): Pending {
    const timer = setTimeout(() => reject(new LockBridgeError("transport_unavailable", `BLE proxy: ${what} timed out`)), this.opTimeoutMs);
    return {
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
      timer,
    };
  }

  private connect(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      socket.setNoDelay(true);
      let up = false;
      const timer = setTimeout(() => socket.destroy(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
      socket.on("data", (chunk: Buffer) => this.onData(chunk));
      socket.on("error", (e) => {
        if (!up) {
          clearTimeout(timer);
          this.connected = undefined;
          // Once per cause: every BLE lock asks for the proxy, and they ask again with backoff.
          if (e.message !== this.lastConnectError) this.log.warn({ proxy: this.target, err: e.message }, "BLE unavailable: cannot reach the BLE proxy");
          else this.log.debug({ proxy: this.target, err: e.message }, "BLE proxy still unreachable");
          this.lastConnectError = e.message;
          reject(bleUnavailable(`BLE proxy ${this.target} unreachable: ${e.message}`));
        }
      });
      socket.on("close", () => {
        if (up) this.onLost();
      });
      socket.connect(this.opts.port, this.opts.host, () => {
        up = true;
        clearTimeout(timer);
        clearTimeout(this.retry);
        this.socket = socket;
        this.backoff.reset();
        this.lastConnectError = undefined;
        this.log.info({ proxy: this.target }, "BLE proxy connected");
        if (this.scanning) this.send({ op: "scan" });
        resolve();
      });
    });
  }

  private onLost(): void {
    this.socket = undefined;
    this.connected = undefined;
    this.buffer = "";
    for (const p of this.peripherals.values()) p.dropped("BLE proxy connection lost");
    if (this.closed) return;
    const delay = this.backoff.next();
    this.log.warn({ proxy: this.target, retryMs: delay }, "BLE proxy connection lost; reconnecting");
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      if (this.connected || this.closed) return; // a caller reconnected meanwhile
      this.connected = this.connect(5_000);
      this.connected.catch(() => this.onLost());
    }, delay);
  }

  private onData(chunk: Buffer): void {
    this.buffer += chunk.toString("utf8");
    let nl: number;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onLine(line);
    }
  }

  private onLine(line: string): void {
    let ev: ProxyEvent;
    try {
      ev = proxyEvent.parse(JSON.parse(line));
    } catch (e) {
      this.log.warn({ proxy: this.target, err: errorMessage(e) }, "BLE proxy sent an invalid line; ignored");
      return;
    }
    if (ev.ev === "error" && (ev.id === null || ev.id === undefined)) {
      this.log.warn({ proxy: this.target, message: ev.message }, "BLE proxy error");
      return;
    }
    const id = ev.id!;
    let p = this.peripherals.get(id);
    if (!p) {
      p = new ProxyPeripheral(id, this);
      this.peripherals.set(id, p);
    }
    switch (ev.ev) {
      case "adv":
        p.advertisement = {
          localName: ev.name,
          manufacturerData: ev.manufacturerData !== undefined ? Buffer.from(ev.manufacturerData, "hex") : undefined,
        };
        p.rssi = ev.rssi ?? p.rssi;
        this.emit("discover", p);
        break;
      case "connected":
        p.connected = true;
        p.mtu = ev.mtu;
        p.rssi = ev.rssi ?? p.rssi;
        p.connectWaiter?.resolve();
        p.connectWaiter = undefined;
        break;
      case "written":
        p.writeWaiters.shift()?.resolve();
        break;
      case "notify":
        p.tx.emit("data", Buffer.from(ev.data, "hex"), true);
        break;
      case "disconnected":
        p.dropped("disconnected");
        break;
      case "error":
        p.failAll(new LockBridgeError("transport_unavailable", `BLE proxy: ${ev.message}`));
        break;
    }
  }
}
