/**
 * LLP sealing counters (lock-link-protocol.md §4). The hub's send counter must never be
 * reused for a link key, even across a crash: counters are reserved in blocks, and the
 * block's high-water mark is committed BEFORE any counter of it is used. After a restart
 * the hub continues above the high-water mark (skipping the unused rest of the block).
 * They live in `lock_link_counters` (schema v11), one narrow row per lock, not in `locks`.
 */
import { LockBridgeError } from "../../shared/errors.js";
import { statementCache, type RepoContext } from "../db.js";

/** An inclusive range of hub send counters that is the caller's alone to use. */
export interface CounterBlock {
  first: number;
  last: number;
}

/** LLP counters are u32. */
export const MAX_COUNTER = 0xffff_ffff;

export class CountersRepo {
  private readonly q;
  constructor(private readonly ctx: RepoContext) {
    this.q = statementCache(ctx.db);
  }

  /**
   * Reserves the next `n` hub send counters for `lockId` and commits the new high-water
   * mark before returning (synchronous=FULL: durable). Throws unknown_lock; throws
   * lock_not_paired once the u32 space is exhausted (the lock must be paired again).
   */
  reserveHubCounters(lockId: string, n: number): CounterBlock {
    if (!Number.isInteger(n) || n < 1) throw new RangeError("reserve at least one counter");
    // all(), not get(): get() returns the RETURNING row before the autocommit, and a commit
    // that fails (disk full) would go unnoticed: the same block handed out again and again.
    const row = (
      this.q(
        "UPDATE lock_link_counters SET hub_counter_reserved = hub_counter_reserved + @n WHERE lock_id = @lockId AND hub_counter_reserved + @n <= @max RETURNING hub_counter_reserved AS hw",
      ).all({ n, lockId, max: MAX_COUNTER }) as { hw: number }[]
    )[0];
    if (!row) {
      if (this.hubCounterHighWater(lockId) === undefined) throw new LockBridgeError("unknown_lock", `no lock ${lockId}`);
      throw new LockBridgeError("lock_not_paired", `hub send counter of ${lockId} exhausted: pair the lock again`);
    }
    return { first: row.hw - n + 1, last: row.hw };
  }

  /** Every hub send counter <= this may have been used (0 after pairing). */
  hubCounterHighWater(lockId: string): number | undefined {
    const row = this.q("SELECT hub_counter_reserved AS hw FROM lock_link_counters WHERE lock_id = ?").get(lockId) as { hw: number } | undefined;
    return row?.hw;
  }

  /**
   * Replay protection for what the lock sends: accepts `counter` only if it is greater than
   * the last accepted one, and records it. @returns false for a replayed or old counter.
   */
  acceptLockCounter(lockId: string, counter: number): boolean {
    return (
      this.q("UPDATE lock_link_counters SET lock_counter_accepted = ? WHERE lock_id = ? AND lock_counter_accepted < ?").run(counter, lockId, counter).changes >
      0
    );
  }

  /** A new link key: the lock starts its counters afresh (part of the caller's statement's transaction). */
  resetLockCounter(lockId: string): void {
    this.q("UPDATE lock_link_counters SET lock_counter_accepted = 0 WHERE lock_id = ?").run(lockId);
  }

  /** The last counter accepted from the lock (0 after pairing). */
  lastLockCounter(lockId: string): number | undefined {
    const row = this.q("SELECT lock_counter_accepted AS c FROM lock_link_counters WHERE lock_id = ?").get(lockId) as { c: number } | undefined;
    return row?.c;
  }
}
