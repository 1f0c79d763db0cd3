/**
 * A BleCentral available synchronously whose real central is still loading (noble is
 * imported lazily) or failed to load: every call waits for it, and a failed load makes
 * every call reject with the same ble_unavailable error, so BLE locks report it while the
 * rest of the hub runs.
 */
import { EventEmitter } from "node:events";
import type { BleCentral, BlePeripheral } from "./central.js";

export class DeferredCentral extends EventEmitter implements BleCentral {
  private readonly ready: Promise<BleCentral>;

  constructor(central: Promise<BleCentral>) {
    super();
    this.ready = central.then((c) => {
      c.on("discover", (p: BlePeripheral) => this.emit("discover", p));
      return c;
    });
    // Failures surface through the methods; never as an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  async waitForPoweredOnAsync(timeoutMs?: number): Promise<void> {
    await (await this.ready).waitForPoweredOnAsync(timeoutMs);
  }
  async startScanningAsync(serviceUuids?: string[], allowDuplicates?: boolean): Promise<void> {
    await (await this.ready).startScanningAsync(serviceUuids, allowDuplicates);
  }
  async stopScanningAsync(): Promise<void> {
    await (await this.ready).stopScanningAsync();
  }
  async close(): Promise<void> {
    const c = await this.ready.catch(() => undefined);
    await c?.close();
  }
}
