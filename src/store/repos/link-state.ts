/**
 * What a sealed lock link needs persisted (the lock layer's LinkStateStore, src/lock/link-state.ts,
 * implemented structurally so the store does not depend on the lock layer): hub send counters
 * reserved in blocks, the last counter accepted from the lock, and the active and pending link
 * keys. Every write commits (synchronous=FULL) before the method returns.
 */
import { LockBridgeError } from "../../shared/errors.js";
import { statementCache, type RepoContext } from "../db.js";
import type { CountersRepo } from "./counters.js";

export interface StoredLinkKeys {
  active: Buffer | null;
  pending: Buffer | null;
}

export class LinkStateRepo {
  private readonly q;
  constructor(
    private readonly ctx: RepoContext,
    private readonly counters: CountersRepo,
  ) {
    this.q = statementCache(ctx.db);
  }

  reserveHubCounters(lockId: string, count: number): number {
    return this.counters.reserveHubCounters(lockId, count).first;
  }

  lastLockCounter(lockId: string): number {
    return this.counters.lastLockCounter(lockId) ?? 0;
  }

  /** Records the counter of a verified lock frame; never moves backwards. */
  saveLastLockCounter(lockId: string, counter: number): void {
    this.counters.acceptLockCounter(lockId, counter);
  }

  linkKeys(lockId: string): StoredLinkKeys {
    const row = this.q("SELECT link_key AS active, pending_link_key AS pending FROM locks WHERE lock_id = ?").get(lockId) as
      | { active: Buffer | null; pending: Buffer | null }
      | undefined;
    return { active: row?.active ?? null, pending: row?.pending ?? null };
  }

  /** Stored BEFORE PAIR goes on the wire. */
  savePendingLinkKey(lockId: string, key: Buffer): void {
    if (key.length !== 16) throw new RangeError("a link key is 16 bytes");
    const changed = this.q("UPDATE locks SET pending_link_key = ?, updated_at = ? WHERE lock_id = ?").run(key, this.ctx.clock.now(), lockId).changes;
    if (changed === 0) throw new LockBridgeError("unknown_lock", `no lock ${lockId} to pair`);
  }

  /**
   * pending -> active. The lock starts its own counters afresh for the new key, so the accepted
   * lock counter returns to 0; the hub's send counter never decreases (lock-link-protocol.md
   * §9.3): when an interrupted pairing is recovered, the lock may already have accepted hub
   * counters under the new key, and a reset would make it refuse everything as a replay.
   */
  confirmPendingLinkKey(lockId: string): void {
    // One transaction: the key and the reset of the accepted lock counter (lock_link_counters, v11).
    this.ctx.db
      .transaction(() => {
        const changed = this.q(
          `UPDATE locks SET link_key = pending_link_key, pending_link_key = NULL, updated_at = ?
           WHERE lock_id = ? AND pending_link_key IS NOT NULL`,
        ).run(this.ctx.clock.now(), lockId).changes;
        if (changed > 0) this.counters.resetLockCounter(lockId);
      })
      .immediate();
  }

  /** The setup key from the lock's label (LLP v1.1 §8), or null (a `plain` lock, or none given). */
  setupKey(lockId: string): Buffer | null {
    const row = this.q("SELECT setup_key AS setupKey FROM locks WHERE lock_id = ?").get(lockId) as { setupKey: Buffer | null } | undefined;
    return row?.setupKey ?? null;
  }

  saveSetupKey(lockId: string, key: Buffer | null): void {
    if (key !== null && key.length !== 16) throw new RangeError("a setup key is 16 bytes");
    this.q("UPDATE locks SET setup_key = ?, updated_at = ? WHERE lock_id = ?").run(key, this.ctx.clock.now(), lockId);
  }

  discardPendingLinkKey(lockId: string): void {
    this.q("UPDATE locks SET pending_link_key = NULL, updated_at = ? WHERE lock_id = ?").run(this.ctx.clock.now(), lockId);
  }
}
