import { LockBridgeError } from "../shared/errors.js";
import type { LinkStateStore } from "./link-state.js";

/** Counters are u32 on the wire; beyond this the link must be re-paired. */
const MAX_COUNTER = 0xffff_ffff;

/**
 * Counters reserved per durable write. 1024, not 64: a lock polled every 2 s used up a block
 * every 2 minutes, which at 500 locks was a durable commit every quarter second of an idle
 * hub (docs/performance.md). What a restart skips (the rest of a block) stays negligible: the
 * u32 space lasts 4 million restarts.
 */
export const DEFAULT_COUNTER_BLOCK = 1024;

/**
 * The hub's send counter for one lock, taken from blocks reserved (and persisted) in the
 * store, so that one durable write covers `blockSize` sealed frames. After a crash the rest
 * of a block is skipped, never reused.
 */
export class HubCounter {
  private next = 0;
  private end = 0;

  constructor(
    private readonly store: LinkStateStore,
    private readonly lockId: string,
    private readonly blockSize = DEFAULT_COUNTER_BLOCK,
  ) {}

  /**
   * Drop the rest of the current block (at a new link key): the store may restart the
   * counter space for the new key, so the next counter must come from a fresh reservation.
   */
  discardBlock(): void {
    this.next = this.end = 0;
  }

  /** Synchronous when the current block has room (the hot path). */
  take(): number | Promise<number> {
    if (this.next < this.end) return this.next++;
    return this.refill();
  }

  private async refill(): Promise<number> {
    const first = await this.store.reserveHubCounters(this.lockId, this.blockSize);
    if (!Number.isInteger(first) || first < 1 || first + this.blockSize - 1 > MAX_COUNTER) {
      throw new LockBridgeError("lock_not_paired", `hub send counters for lock ${this.lockId} are exhausted; pair again`);
    }
    this.next = first + 1;
    this.end = first + this.blockSize;
    return first;
  }
}
