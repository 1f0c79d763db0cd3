/**
 * From a lock's event log to the contract's events (lock-link-protocol.md §5 ->
 * mqtt-api.md §5). Pure: the caller supplies who holds which slot and the clock reading.
 *
 * Choices (docs/provisioning.md):
 * - `at` is the lock's own event time when the lock's clock is plausible (after 2020),
 *   else the hub's time of reading (a lock that lost power counts from 0).
 * - The slot -> key mapping is the hub's current knowledge of the lock's table; events are
 *   drained before the hub changes a lock's table, so a reused slot is not misattributed.
 * - An ACCESS_* event for a slot the hub does not know carries no keyId (never a guess).
 * - FIRMWARE_APPLIED is not forwarded: the firmware job reports firmware.applied with its
 *   jobId and the version IDENT shows.
 */
import type { LockEvent } from "../../protocol/llp/commands.js";
import { DenyReason, EventType, UNKNOWN_SLOT } from "../../protocol/llp/constants.js";
import type { CredentialType } from "../../access/model.js";
import { formatEpochSeconds } from "../../shared/instant.js";
import type { HubEventInput } from "../../cloud/events.js";

/** The contract's event types this module produces (mqtt-api.md §5). */
export type LockEventType =
  | "access.granted"
  | "access.denied"
  | "door.opened"
  | "door.closed"
  | "door.remote_unlock"
  | "lock.tamper"
  | "lock.battery_low"
  | "lock.clock_lost"
  | "lock.events_lost";

/** A contract event whose time is known (a lock's, or when the hub read it), before the outbox gives it a seq. */
export type ContractEvent = HubEventInput & { readonly at: string };

export interface SlotOwner {
  keyId: string;
  credential: CredentialType;
}

export interface EventContext {
  lockId: string;
  /** The door the lock is on; undefined for a lock not (yet) on a door. */
  doorId: string | undefined;
  /** Hub time (ms) when the event was read. */
  readAtMs: number;
  /** Who holds (kind, slot) on this lock, as far as the hub knows. */
  ownerOf(kind: number, slot: number): SlotOwner | undefined;
}

const KIND_TO_CREDENTIAL: Readonly<Record<number, CredentialType>> = { 1: "doorCode", 2: "keycard", 3: "smartKey" };

/** Lock times before this are a lost clock counting from zero, not real instants. */
export const PLAUSIBLE_LOCK_TIME = 1_577_836_800; // 2020-01-01T00:00:00Z

export const DENY_REASONS: Readonly<Record<number, string>> = {
  [DenyReason.UNKNOWN_CREDENTIAL]: "unknown_credential",
  [DenyReason.OUTSIDE_WINDOW]: "outside_validity_window",
  [DenyReason.WRONG_CODE_LENGTH]: "wrong_code_length",
};

export function eventInstant(lockTime: number, readAtMs: number): string {
  return lockTime >= PLAUSIBLE_LOCK_TIME ? formatEpochSeconds(lockTime) : formatEpochSeconds(Math.floor(readAtMs / 1000));
}

/** The contract event for one lock event, or undefined for a type this version does not know. */
export function mapLockEvent(e: LockEvent, ctx: EventContext): ContractEvent | undefined {
  const base = { at: eventInstant(e.time, ctx.readAtMs), lockId: ctx.lockId, lockSeq: e.seq, ...(ctx.doorId !== undefined && { doorId: ctx.doorId }) };
  switch (e.type) {
    case EventType.ACCESS_GRANTED:
    case EventType.ACCESS_DENIED: {
      const owner = e.slot === UNKNOWN_SLOT ? undefined : ctx.ownerOf(e.kind, e.slot);
      const credential = owner?.credential ?? KIND_TO_CREDENTIAL[e.kind];
      return {
        ...base,
        type: e.type === EventType.ACCESS_GRANTED ? "access.granted" : "access.denied",
        ...(credential !== undefined && { credential }),
        ...(owner !== undefined && { keyId: owner.keyId }),
        ...(e.slot !== UNKNOWN_SLOT && { slot: e.slot }),
        ...(e.type === EventType.ACCESS_DENIED && { reason: DENY_REASONS[e.reason] ?? `lock_reason_${e.reason}` }),
      };
    }
    case EventType.DOOR_OPENED:
      return { ...base, type: "door.opened" };
    case EventType.DOOR_CLOSED:
      return { ...base, type: "door.closed" };
    case EventType.REMOTE_UNLOCK:
      return { ...base, type: "door.remote_unlock" };
    case EventType.TAMPER:
      return { ...base, type: "lock.tamper" };
    case EventType.BATTERY_LOW:
      return { ...base, type: "lock.battery_low", battery: e.reason };
    case EventType.CLOCK_LOST:
      return { ...base, type: "lock.clock_lost" };
    case EventType.FIRMWARE_APPLIED:
      // Reported by the firmware job with its jobId and version (firmware.ts), not twice.
      return undefined;
    default:
      return undefined;
  }
}

/** A gap in the lock's event seq: events fromSeq..toSeq were overwritten before the hub read them. */
export interface SeqGap {
  fromSeq: number;
  toSeq: number;
}

/**
 * The events of one READ_EVENTS answer in order, with the gaps between the expected seq
 * and what the lock returned (lock-link-protocol.md §5: report loss, never hide it).
 * Returns the next seq to ask for.
 */
export function sequenceBatch(
  expectedSeq: number,
  events: readonly LockEvent[],
): { ordered: LockEvent[]; gaps: SeqGap[]; nextSeq: number } {
  const ordered = [...events].filter((e) => e.seq >= expectedSeq).sort((a, b) => a.seq - b.seq);
  const gaps: SeqGap[] = [];
  let next = expectedSeq;
  const unique: LockEvent[] = [];
  for (const e of ordered) {
    if (e.seq < next) continue; // a duplicate seq in one answer: keep the first
    if (e.seq > next) gaps.push({ fromSeq: next, toSeq: e.seq - 1 });
    unique.push(e);
    next = e.seq + 1;
  }
  return { ordered: unique, gaps, nextSeq: next };
}

export function eventsLost(gap: SeqGap, ctx: Pick<EventContext, "lockId" | "doorId" | "readAtMs">): ContractEvent {
  return {
    type: "lock.events_lost",
    at: formatEpochSeconds(Math.floor(ctx.readAtMs / 1000)),
    lockId: ctx.lockId,
    ...(ctx.doorId !== undefined && { doorId: ctx.doorId }),
    fromSeq: gap.fromSeq,
    toSeq: gap.toSeq,
    count: gap.toSeq - gap.fromSeq + 1,
  };
}
