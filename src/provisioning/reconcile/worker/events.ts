/**
 * Draining the lock's event log: READ_EVENTS from the last acknowledged seq + 1, mapped to
 * contract events (slot -> credential -> key), committed to the outbox with the new seq in
 * one durable transaction, and only then ACK_EVENTS (the lock may forget them).
 */
import { CREDENTIAL_TYPES, LLP_KIND } from "../../../access/model.js";
import { DenyReason, EventType } from "../../../protocol/llp/constants.js";
import { eventsLost, mapLockEvent, sequenceBatch, type ContractEvent } from "../lock-events.js";
import type { LockTableStore } from "../ports.js";
import { allKindsNeedVerify, type WorkerContext } from "./context.js";
import { setDoorOpen } from "./health.js";

/** Events read per READ_EVENTS (the protocol's maximum). */
const EVENT_BATCH = 32;

/**
 * Reads one page of the lock's event log into the outbox and acknowledges it. Returns true
 * when the page was full: more may be waiting. One page per call, so that the loop can let a
 * guest's grant or a revocation go between two pages of a log that keeps filling (loop.ts).
 */
export async function drainEventPage(ctx: WorkerContext): Promise<boolean> {
  const { o, lockId } = ctx;
  const from = o.store.lastEventSeq(lockId) + 1;
  const batch = await o.link.readEvents(from, EVENT_BATCH);
  if (batch.length === 0) return false;
  const readAtMs = o.clock.now();
  const doorId = o.doorId();
  const mapCtx = { lockId, doorId, readAtMs, ownerOf: (kind: number, slot: number) => ownerOf(ctx, kind, slot) };
  const { ordered, gaps, nextSeq } = sequenceBatch(from, batch);
  if (ordered.length === 0) return false;
  const events: ContractEvent[] = gaps.map((g) => eventsLost(g, mapCtx));
  for (const e of ordered) {
    const mapped = mapLockEvent(e, mapCtx);
    if (mapped) events.push(mapped);
  }
  // Durable in the outbox first; only then may the lock forget them.
  await o.store.commitLockEvents(lockId, events, nextSeq - 1);
  await o.link.ackEvents(nextSeq - 1);
  afterEvents(ctx, ordered);
  o.hooks.lockEvents?.(lockId, events);
  return batch.length >= EVENT_BATCH;
}

/**
 * A table is checked again after a guest's credential of its kind was refused as unknown, at
 * most this often per lock and kind: a lock that lost its memory silently (no power loss, no
 * CLOCK_LOST) is otherwise found only at the routine check, up to 15 minutes of a guest at the
 * door. A digest that matches costs one request and no write.
 */
export const DENIED_CHECK_INTERVAL_MS = 60_000;

/** What the log says about the lock itself: door state, a lost clock, new firmware, a refused credential. */
function afterEvents(ctx: WorkerContext, events: readonly { type: number; kind: number; reason: number }[]): void {
  for (const { type: t, kind, reason } of events) {
    if (t === EventType.ACCESS_DENIED && reason === DenyReason.UNKNOWN_CREDENTIAL) checkTableAfterDenial(ctx, kind);
    else if (t === EventType.DOOR_OPENED) setDoorOpen(ctx, true);
    else if (t === EventType.DOOR_CLOSED) setDoorOpen(ctx, false);
    else if (t === EventType.CLOCK_LOST) {
      ctx.lastClockSetMs = undefined;
      ctx.needs.status = true;
      // A power loss may have taken the credential memory too: check the tables now, not at
      // the next routine check (up to 15 minutes of guests locked out).
      allKindsNeedVerify(ctx);
    } else if (t === EventType.FIRMWARE_APPLIED) ctx.needs.handshake = true;
  }
}

function checkTableAfterDenial(ctx: WorkerContext, llpKind: number): void {
  const kind = CREDENTIAL_TYPES.find((c) => LLP_KIND[c] === llpKind);
  if (!kind) return;
  const now = ctx.o.clock.now();
  const last = ctx.deniedCheckAt.get(kind);
  if (last !== undefined && now - last < DENIED_CHECK_INTERVAL_MS) return;
  ctx.deniedCheckAt.set(kind, now);
  ctx.needs.verify.add(kind);
}

/** Whose credential a slot held: what the lock confirmed, else what it was verified to hold. */
function ownerOf(ctx: WorkerContext, kind: number, slot: number): ReturnType<LockTableStore["ownerOf"]> {
  const type = CREDENTIAL_TYPES.find((c) => LLP_KIND[c] === kind);
  if (!type) return undefined;
  const row = ctx.o.store.slot(ctx.lockId, type, slot);
  const id = row?.applied?.credentialId ?? (row?.inSync ? row.desired?.credentialId : undefined);
  return id === undefined || id === null ? undefined : ctx.o.store.ownerOf(id);
}
