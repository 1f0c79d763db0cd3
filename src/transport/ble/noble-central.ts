/**
 * The real radio through @abandonware/noble, loaded lazily: a static import of noble throws
 * EAFNOSUPPORT on a kernel without Bluetooth and would take the whole hub down. Every
 * failure here becomes a typed `ble_unavailable` error and one clear log line; the hub
 * keeps running its serial and TCP locks.
 */
import { EventEmitter } from "node:events";
import type * as NobleModule from "@abandonware/noble";
import type { Logger } from "pino";
import { errorMessage } from "../../shared/errors.js";
import { bleUnavailable, type BleCentral, type BlePeripheral } from "./central.js";

type Noble = typeof NobleModule;

export interface NobleCentralOptions {
  logger: Logger;
  /** Loads noble; replaceable so tests can simulate a broken install. */
  load?: () => Promise<unknown>;
}

/** Load noble and wrap it; rejects with ble_unavailable (never throws anything else, never crashes). */
export async function createNobleCentral(opts: NobleCentralOptions): Promise<BleCentral> {
  const log = opts.logger;
  let noble: Noble;
  try {
    const mod = (await (opts.load ?? (() => import("@abandonware/noble")))()) as { default?: Noble } & Noble;
    noble = mod.default ?? mod;
    if (typeof noble.on !== "function" || typeof noble.startScanningAsync !== "function") throw new Error("not a noble module");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    log.warn({ err: errorMessage(e), errno: code }, "BLE unavailable: no usable Bluetooth adapter or driver (noble failed to load); BLE locks stay offline");
    throw bleUnavailable(`BLE unavailable: ${errorMessage(e)}`, code ?? e);
  }
  return new NobleCentral(noble, log);
}

class NobleCentral extends EventEmitter implements BleCentral {
  private state: string;

  constructor(
    private readonly noble: Noble,
    private readonly log: Logger,
  ) {
    super();
    const n = noble as unknown as { state?: string; _state?: string };
    this.state = n.state ?? n._state ?? "unknown";
    noble.on("stateChange", (s: string) => {
      this.state = s;
      this.log.info({ state: s }, "BLE radio state");
    });
    // noble's HCI layer reports some failures as events: contain them, never let them become uncaught.
    noble.on("warning", (m: string) => this.log.warn({ warning: m }, "BLE radio warning"));
    (noble as unknown as EventEmitter).on("error", (e: unknown) => this.log.error({ err: errorMessage(e) }, "BLE radio error"));
    // Noble's peripherals have the shape BlePeripheral names (central.ts is the noble subset).
    noble.on("discover", (p) => this.emit("discover", p as unknown as BlePeripheral));
  }

  waitForPoweredOnAsync(timeoutMs = 5_000): Promise<void> {
    if (this.state === "poweredOn") return Promise.resolve();
    if (this.state === "unsupported" || this.state === "unauthorized") {
      return Promise.reject(bleUnavailable(`BLE unavailable: radio is ${this.state}`));
    }
    return new Promise((resolve, reject) => {
      const onState = (s: string) => {
        if (s === "poweredOn") {
          clearTimeout(timer);
          this.noble.removeListener("stateChange", onState);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.noble.removeListener("stateChange", onState);
        reject(bleUnavailable(`BLE unavailable: radio is ${this.state} after ${timeoutMs} ms`));
      }, timeoutMs);
      this.noble.on("stateChange", onState);
    });
  }

  async startScanningAsync(serviceUuids?: string[], allowDuplicates?: boolean): Promise<void> {
    try {
      await this.noble.startScanningAsync(serviceUuids, allowDuplicates);
    } catch (e) {
      throw bleUnavailable(`BLE scan failed: ${errorMessage(e)}`, e);
    }
  }

  async stopScanningAsync(): Promise<void> {
    await this.noble.stopScanningAsync().catch((e: unknown) => this.log.debug({ err: errorMessage(e) }, "BLE stopScanning failed"));
  }

  async close(): Promise<void> {
    await this.stopScanningAsync();
    this.removeAllListeners();
  }
}
