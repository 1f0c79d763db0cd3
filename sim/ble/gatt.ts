import { createHash } from "node:crypto";
import { BLE_ADDR, FrameDecoder } from "../../src/protocol/llp/index.js";
import type { SimLock } from "../lock/sim-lock.js";

/** lock-link-protocol.md §6, in noble's UUID form (lower-case, no dashes). */
export const LLP_SERVICE_UUID = "4c4b00016c624c4c800000805f9b34fb";
export const LLP_RX_UUID = "4c4b00026c624c4c800000805f9b34fb";
export const LLP_TX_UUID = "4c4b00036c624c4c800000805f9b34fb";
export const DEFAULT_MTU = 23;

export interface SimAdvertisement {
  localName: string;
  manufacturerData: Buffer;
  serviceUuids: string[];
}

/** §6: name `LB-` + 16 upper hex; manufacturer data 0xFFFF (LE) || lockId || STATUS flags. */
export function advertisementOf(lock: SimLock): SimAdvertisement {
  return {
    localName: `LB-${lock.lockId.toUpperCase()}`,
    manufacturerData: Buffer.concat([Buffer.from([0xff, 0xff]), lock.state.lockId, Buffer.from([lock.statusFlags])]),
    serviceUuids: [LLP_SERVICE_UUID],
  };
}

/**
 * A stable peripheral id, like the radio address noble reports: derived from the lockId
 * but deliberately not equal to it, so the hub must identify locks by their advertisement.
 */
export function peripheralIdOf(lockId: string): string {
  return createHash("sha256").update(`ble:${lockId}`).digest("hex").slice(0, 12);
}

/**
 * One GATT connection to a lock: RX writes are reassembled as a byte stream (SOF/LEN),
 * answers go out as TX notifications of at most MTU-3 bytes. One exchange at a time.
 */
export class GattLink {
  private readonly decoder = new FrameDecoder();
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(
    readonly lock: SimLock,
    readonly mtu: number,
    private readonly notify: (chunk: Buffer) => void,
    opts: { eventNotify?: boolean } = {},
  ) {
    if (lock.address !== BLE_ADDR) lock.address = BLE_ADDR;
    this.unsubscribe = opts.eventNotify === false ? () => undefined : lock.onEvent(() => this.enqueue(async () => this.send(lock.eventNotifyFrame())));
  }

  /** Largest write and notification payload: ATT MTU - 3. */
  get maxPayload(): number {
    return this.mtu - 3;
  }

  /** An RX write. Throws when it exceeds MTU-3 (the hub must fragment). */
  write(data: Uint8Array): void {
    if (this.closed) throw new Error("not connected");
    if (data.length > this.maxPayload) throw new Error(`write of ${data.length} bytes exceeds MTU-3 (${this.maxPayload})`);
    for (const frame of this.decoder.push(data)) {
      this.enqueue(async () => {
        const reply = this.lock.answer(frame);
        if (!reply) return;
        if (reply.delayMs > 0) await new Promise((r) => setTimeout(r, reply.delayMs));
        this.send(reply.bytes);
      });
    }
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private send(frame: Buffer): void {
    if (this.closed || this.lock.faults.offline) return;
    for (let off = 0; off < frame.length; off += this.maxPayload) this.notify(frame.subarray(off, off + this.maxPayload));
  }

  private enqueue(task: () => Promise<void>): void {
    this.tail = this.tail.then(task).catch((e: unknown) => {
      process.emitWarning(`sim gatt: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    });
  }
}
