/**
 * Proving a table: TABLE_DIGEST against the digest of the desired rows once a kind's work is
 * done. Equal: every slot of the kind is verified. Different: READ_SLOTS records what the lock
 * really holds and the next plan repairs it (a lock changed behind the hub's back, memory
 * lost). A table that keeps differing after repairs fails the step, so the loop backs off.
 */
import type { CredentialType } from "../../../access/model.js";
import { LLP_KIND } from "../../../access/model.js";
import type { SlotInfo } from "../../../protocol/llp/commands.js";
import { LockBridgeError } from "../../../shared/errors.js";
import type { SlotRow } from "../ports.js";
import { expectedDigest, readRanges } from "../table-diff.js";
import { allKindsNeedVerify, capacity, notifySlots, supports, type WorkerContext } from "./context.js";

/**
 * When this worker last told the engine a table's rows after a matching digest, per kind. Not
 * `ctx.verifiedAt`: that one is restored from the store after a restart, and the engine has
 * heard of no row then.
 */
const notifiedAt = new WeakMap<WorkerContext, Map<CredentialType, number>>();

/** Verification that failed this many times in a row without progress backs off. */
const MAX_VERIFY_ROUNDS = 3;

export async function verify(ctx: WorkerContext, kind: CredentialType): Promise<void> {
  const { o, lockId } = ctx;
  if (!supports(ctx, kind)) {
    ctx.needs.verify.delete(kind);
    return;
  }
  // Verify only once the kind's work is done: a digest mid-way proves nothing.
  if (ctx.queue.toArray().some((i) => (i.payload.type === "put" || i.payload.type === "delete") && i.payload.kind === kind)) {
    ctx.needs.verify.delete(kind);
    return;
  }
  // No flush first: a confirmed write carries the instant the lock confirmed it, before this
  // digest is asked, whenever its batch is recorded (isVerified compares the two). A flush
  // here was a commit per table check, each rewriting every lock's pending slot pages.
  const rows = o.store.slots(lockId, kind);
  const desired = rows.flatMap((r) => (r.desired ? [{ ...r.desired, slot: r.slot }] : []));
  const expected = expectedDigest(desired);
  const got = await o.link.tableDigest(LLP_KIND[kind]);
  if (got.used === expected.used && Buffer.from(got.digest).equals(expected.digest)) {
    // Exactly the desired table: every slot is what we want, whatever we believed.
    for (const r of rows) {
      if (r.inSync) continue;
      if (r.lastError !== null && r.desired) continue; // refused by the lock: cannot be there
      o.store.markApplied(lockId, kind, r.slot, r.desired);
    }
    ctx.needs.verify.delete(kind);
    const now = o.clock.now();
    const before = ctx.verifiedAt.get(kind);
    ctx.verifiedAt.set(kind, now);
    // Stored only when it changes what a restart would know (a slot written since the last
    // stored verification): a routine check of an unchanged table costs no write.
    if (before === undefined || rows.some((r) => !r.inSync || r.updatedAt > before)) o.store.tableVerified(lockId, kind, now);
    ctx.verifyRounds = 0;
    // Only rows that can have changed state since the last table this worker notified: the
    // engine re-derives each notified credential (its rows, events, its key's status), so
    // notifying the whole table at every check made a snapshot cost O(table) per verification
    // (the lobby's table holds every key: docs/performance.md).
    const seen = notifiedAt.get(ctx)?.get(kind);
    notifySlots(ctx, seen === undefined ? rows : rows.filter((r) => !r.inSync || r.updatedAt > seen));
    if (!notifiedAt.has(ctx)) notifiedAt.set(ctx, new Map());
    notifiedAt.get(ctx)!.set(kind, now);
    return;
  }
  if (ctx.verifyRounds >= MAX_VERIFY_ROUNDS) {
    ctx.verifyRounds = 0;
    throw new LockBridgeError("lock_rejected", `lock ${lockId} ${kind} table does not converge`);
  }
  // Entries missing from one table may be a memory lost whole, with no power loss to tell (a
  // guest's refused code found it): the other tables get their digest checked too, now.
  if (ctx.verifyRounds === 0 && got.used < expected.used) allKindsNeedVerify(ctx);
  ctx.verifyRounds++;
  o.log.info({ lockId, kind, used: got.used, expectedUsed: expected.used }, "table digest differs: reading slots");
  await readTable(ctx, kind, got.used, rows);
  ctx.needs.verify.delete(kind);
  ctx.needs.replan = true;
  // Read again after the repairs.
  ctx.needs.verify.add(kind);
}

/** READ_SLOTS over the table until every used slot is seen; records what the lock holds. */
async function readTable(ctx: WorkerContext, kind: CredentialType, used: number, rows: SlotRow[]): Promise<void> {
  const { o, lockId } = ctx;
  const cap = capacity(ctx, kind);
  if (used === 0) {
    o.store.recordObserved(lockId, kind, 0, cap, []);
    return;
  }
  const maxKnown = rows.reduce((m, r) => Math.max(m, r.slot), -1);
  let seen = 0;
  for (const range of readRanges(cap)) {
    const observed: SlotInfo[] = await o.link.readSlots(LLP_KIND[kind], range.first, range.count);
    o.store.recordObserved(lockId, kind, range.first, range.count, observed);
    seen += observed.length;
    const end = range.first + range.count;
    if (seen >= used && end > maxKnown) {
      // Every used slot was seen: the rest of the table is empty.
      if (end < cap) o.store.recordObserved(lockId, kind, end, cap - end, []);
      break;
    }
  }
  notifySlots(ctx, rows);
}
