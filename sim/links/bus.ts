import { FrameDecoder, type DecoderStats } from "../../src/protocol/llp/index.js";
import type { SimLock } from "../lock/sim-lock.js";

export interface BusOptions {
  /** Honour wire time at this baud rate (10 bits per byte) for request and response bytes. */
  wireBaud?: number;
  /** Locks send EVENT_NOTIFY (SEQ 0) unasked when they log an event (TCP/BLE only; serial is polled). */
  eventNotify?: boolean;
}

/** One attached byte stream (a TCP connection, the lock side of a pty). */
export interface BusPort {
  write(bytes: Buffer): void;
}

export const wireMs = (bytes: number, baud: number | undefined): number => (baud ? (bytes * 10 * 1000) / baud : 0);

const delay = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

/**
 * Many locks behind one byte stream, addressed by ADDR like an RS-485 bus. Half duplex:
 * the bus carries one exchange at a time, in arrival order, whichever port it came from.
 */
export class LockBus {
  private readonly byAddr = new Map<number, SimLock>();
  private readonly ports = new Map<BusPort, FrameDecoder>();
  private tail: Promise<void> = Promise.resolve();
  private readonly unsubscribe: (() => void)[] = [];
  private closed = false;
  /** Frames seen on the bus, answered, and dropped by the decoders (bad CRC, garbage). */
  readonly stats = { requests: 0, answered: 0, notifies: 0 };

  constructor(
    locks: readonly SimLock[],
    readonly options: BusOptions = {},
  ) {
    for (const lock of locks) this.add(lock);
  }

  add(lock: SimLock): void {
    const other = this.byAddr.get(lock.address);
    if (other && other !== lock) throw new RangeError(`two locks at bus address ${lock.address}`);
    this.byAddr.set(lock.address, lock);
    if (this.options.eventNotify) {
      this.unsubscribe.push(lock.onEvent(() => this.enqueue(() => this.notify(lock))));
    }
  }

  get locks(): SimLock[] {
    return [...this.byAddr.values()];
  }

  attach(port: BusPort): { push(chunk: Uint8Array): void; detach(): void } {
    const decoder = new FrameDecoder();
    this.ports.set(port, decoder);
    return {
      push: (chunk) => {
        for (const frame of decoder.push(chunk)) {
          this.stats.requests++;
          this.enqueue(async () => {
            await delay(wireMs(6 + frame.body.length + 2, this.options.wireBaud));
            // An address may have been reassigned meanwhile (a replaced lock): look it up now.
            const lock = this.byAddr.get(frame.addr);
            const reply = lock?.answer(frame);
            if (!reply) return;
            await delay(reply.delayMs + wireMs(reply.bytes.length, this.options.wireBaud));
            if (this.ports.has(port) && !this.closed) {
              this.stats.answered++;
              port.write(reply.bytes);
            }
          });
        }
      },
      detach: () => void this.ports.delete(port),
    };
  }

  /** Decoder stats over every attached port. */
  decoderStats(): DecoderStats {
    const s: DecoderStats = { frames: 0, garbageBytes: 0, badCrc: 0, badLen: 0 };
    for (const d of this.ports.values()) {
      s.frames += d.stats.frames;
      s.garbageBytes += d.stats.garbageBytes;
      s.badCrc += d.stats.badCrc;
      s.badLen += d.stats.badLen;
    }
    return s;
  }

  /** Resolves when every queued exchange is done. */
  idle(): Promise<void> {
    return this.tail;
  }

  close(): void {
    this.closed = true;
    for (const u of this.unsubscribe) u();
    this.ports.clear();
  }

  private async notify(lock: SimLock): Promise<void> {
    if (lock.faults.offline || this.ports.size === 0 || this.closed) return;
    const frame = lock.eventNotifyFrame();
    await delay(wireMs(frame.length, this.options.wireBaud));
    this.stats.notifies++;
    for (const p of this.ports.keys()) p.write(frame);
  }

  private enqueue(task: () => Promise<void>): void {
    this.tail = this.tail.then(task).catch((e: unknown) => {
      // A lock that throws is a simulator bug: make it loud, keep the bus running.
      process.emitWarning(`sim bus: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    });
  }
}
