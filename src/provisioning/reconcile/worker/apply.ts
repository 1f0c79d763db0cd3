/**
 * Planning and applying one lock's table: the work list is re-derived from the store (slots
 * whose desired and applied differ), revocations before grants by arrival, and each PUT or
 * DELETE recorded as the lock confirms it. A refusal (NAK) marks the slot failed with its
 * reason; it is retried after a reconnect, at the verify interval, or (memory full) when a
 * slot frees and at a poll after a backoff.
 */
import type { CredentialType } from "../../../access/model.js";
import { LLP_KIND } from "../../../access/model.js";
import { classifyLockError } from "../lock-errors.js";
import type { SlotRow } from "../ports.js";
import { isTransientNak, nakReason } from "../reasons.js";
import type { WorkClass } from "../work-queue.js";
import { notifySlots, supports, type SlotOp, type WorkerContext } from "./context.js";

/** Rebuild the queue from the store: every slot whose desired and applied differ. */
export function replan(ctx: WorkerContext): void {
  ctx.needs.replan = false;
  ctx.queue.retain((i) => i.payload.type === "unlock" || i.payload.type === "task");
  const now = ctx.o.clock.now();
  const unknownKinds = new Set<CredentialType>();
  for (const row of ctx.o.store.slots(ctx.lockId)) {
    if (row.inSync) continue;
    if (!supports(ctx, row.kind)) continue;
    // A failed slot waits for its retry time (or for the desired state to change).
    if (row.lastError !== null && !retryDue(ctx, row, now)) continue;
    if (row.appliedState === "unknown") unknownKinds.add(row.kind);
    const op: SlotOp = { type: row.desired ? "put" : "delete", kind: row.kind, slot: row.slot };
    if (!row.desired && row.appliedState === "unknown") continue; // resolved by reading the table
    const cls: WorkClass = row.desired ? "grant" : "revoke";
    const order = row.desired ? row.desired.validFrom * 1000 : row.updatedAt;
    ctx.queue.push({ id: `${row.kind}:${row.slot}`, class: cls, order, payload: op });
  }
  // Unknown content: read the table before writing blindly.
  for (const k of unknownKinds) ctx.needs.verify.add(k);
}

/** Some failed slot's retry time has come (the poll's question: is a plan worth it). */
export function retryIsDue(ctx: WorkerContext): boolean {
  const now = ctx.o.clock.now();
  for (const at of ctx.retryAt.values()) if (at <= now) return true;
  return false;
}

function retryDue(ctx: WorkerContext, row: SlotRow, now: number): boolean {
  const retry = ctx.retryAt.get(`${row.kind}:${row.slot}`);
  return retry !== undefined && retry <= now;
}

export async function execSlotOp(ctx: WorkerContext, op: SlotOp): Promise<void> {
  const { o, lockId } = ctx;
  const row = o.store.slot(lockId, op.kind, op.slot);
  if (!row || row.inSync) return;
  const kind = LLP_KIND[op.kind];
  const key = `${op.kind}:${op.slot}`;
  try {
    if (row.desired) {
      const secret = o.store.secretOf(row.desired.credentialId);
      if (!secret) {
        // The credential vanished between plan and apply: the next plan settles it.
        ctx.needs.replan = true;
        return;
      }
      await o.link.putCredential({ kind, slot: op.slot, validFrom: row.desired.validFrom, validUntil: row.desired.validUntil, flags: row.desired.flags, secret });
      o.store.markApplied(lockId, op.kind, op.slot, row.desired);
    } else {
      await o.link.deleteCredential(kind, op.slot);
      o.store.markApplied(lockId, op.kind, op.slot, null);
      retryMemoryFull(ctx, op.kind);
    }
    ctx.retryAt.delete(key);
    ctx.needs.verify.add(op.kind);
    ctx.verifyRounds = 0;
    // A put changes no key's status until the table is verified (pending -> active); a
    // delete may end a revocation (revoking -> revoked) at once.
    if (row.desired && row.lastError === null) o.hooks.tableChanged?.(lockId);
    else notifySlots(ctx, [row]);
  } catch (e) {
    const f = classifyLockError(e);
    if (f.kind !== "nak" || isTransientNak(f.nak)) throw e;
    if (f.nak === "DUPLICATE_CREDENTIAL" && f.conflictingSlot !== undefined && row.desired) {
      // The same secret sits in another slot: if we do not want it there, clear it first.
      const other = o.store.slot(lockId, op.kind, f.conflictingSlot);
      if (!other?.desired || other.desired.credentialId === row.desired.credentialId) {
        await o.link.deleteCredential(kind, f.conflictingSlot);
        o.store.markApplied(lockId, op.kind, f.conflictingSlot, null);
        ctx.queue.push({ id: key, class: "grant", order: row.desired.validFrom * 1000, payload: op });
        return;
      }
    }
    const reason = nakReason(f.nak);
    ctx.retryAt.delete(key);
    // A full lock may free memory without the hub (a one-time code used, someone at the
    // lock): try again at a poll after a backoff (30 s, doubling), not only when the hub
    // frees a slot or at the routine check.
    if (reason === "lock_memory_full") ctx.retryAt.set(key, memoryFullRetryAt(ctx, row.attempts));
    o.log.warn({ lockId, kind: op.kind, slot: op.slot, nak: f.nak, reason }, "lock refused a credential");
    o.store.markFailed(lockId, op.kind, op.slot, reason, null);
    notifySlots(ctx, [row]);
  }
}

/** First retry of a credential refused for lack of memory (then doubling, up to the routine check). */
const MEMORY_FULL_RETRY_MS = 30_000;
const DEFAULT_VERIFY_INTERVAL_MS = 15 * 60_000;

function memoryFullRetryAt(ctx: WorkerContext, attempts: number): number {
  const cap = ctx.o.verifyIntervalMs ?? DEFAULT_VERIFY_INTERVAL_MS;
  return ctx.o.clock.now() + Math.min(MEMORY_FULL_RETRY_MS * 2 ** Math.min(attempts, 10), cap);
}

/** A slot was freed: credentials that failed for lack of memory may fit now. */
function retryMemoryFull(ctx: WorkerContext, kind: CredentialType): void {
  const now = ctx.o.clock.now();
  for (const row of ctx.o.store.slots(ctx.lockId, kind)) {
    if (row.lastError === "lock_memory_full") ctx.retryAt.set(`${row.kind}:${row.slot}`, now);
  }
  ctx.needs.replan = true;
}

/** Retry every failed slot at the next plan (after a reconnect or a recommission). */
export function retryFailed(ctx: WorkerContext): void {
  const now = ctx.o.clock.now();
  for (const row of ctx.o.store.slots(ctx.lockId)) if (row.lastError !== null) ctx.retryAt.set(`${row.kind}:${row.slot}`, now);
  ctx.needs.replan = true;
  ctx.kick();
}
