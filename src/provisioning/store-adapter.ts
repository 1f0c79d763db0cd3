/**
 * The lock worker's view of the store (LockTableStore) over the real repositories, and the
 * outbox for events. Lock events and their acknowledged seq commit in one transaction,
 * before the worker sends ACK_EVENTS (nothing is lost if the hub dies in between).
 */
import type { CredentialType } from "../access/model.js";
import { keycardSecret, smartKeySecret, doorCodeSecret } from "../access/desired.js";
import type { EventSink, HubEventInput } from "../cloud/events.js";
import type { SlotInfo } from "../protocol/llp/commands.js";
import type { SlotRecord, Store } from "../store/index.js";
import type { HubEvent, SlotOwner } from "./lock-events.js";
import type { LockTableStore, SlotContent, SlotRow } from "./ports.js";
import type { SlotIndex } from "./slot-index.js";

const toRow = (r: SlotRecord): SlotRow => ({
  kind: r.kind,
  slot: r.slot,
  desired: r.desired,
  appliedState: r.appliedState,
  applied: r.applied,
  inSync: r.inSync,
  lastError: r.lastError,
  attempts: r.attempts,
  updatedAt: r.updatedAt,
});

export function toEventInput(e: HubEvent): HubEventInput {
  return e as unknown as HubEventInput;
}

export class StoreLockTables implements LockTableStore {
  constructor(
    private readonly store: Store,
    private readonly events: EventSink,
    private readonly index: SlotIndex,
  ) {}

  slots(lockId: string, kind?: CredentialType): SlotRow[] {
    return this.store.slots.forLock(lockId, kind).map(toRow);
  }

  slot(lockId: string, kind: CredentialType, slot: number): SlotRow | undefined {
    const r = this.store.slots.get(lockId, kind, slot);
    return r && toRow(r);
  }

  markApplied(lockId: string, kind: CredentialType, slot: number, content: SlotContent | null): void {
    this.store.slots.markApplied(lockId, kind, slot, content);
    this.index.refresh(lockId, kind, slot);
  }

  markFailed(lockId: string, kind: CredentialType, slot: number, reason: string, nextAttemptAt: number | null): void {
    this.store.slots.markFailed(lockId, kind, slot, reason, nextAttemptAt);
    this.index.refresh(lockId, kind, slot);
  }

  recordObserved(lockId: string, kind: CredentialType, firstSlot: number, count: number, observed: SlotInfo[]): void {
    this.store.slots.recordObserved(
      lockId,
      kind,
      firstSlot,
      count,
      observed.map((o) => ({ ...o, secretDigest: Buffer.from(o.secretDigest) })),
    );
    this.index.refreshLock(lockId, kind);
  }

  resetApplied(lockId: string, state: "empty" | "unknown"): void {
    this.store.slots.resetApplied(lockId, state);
    this.index.refreshLock(lockId);
  }

  secretOf(credentialId: number): Uint8Array | undefined {
    const c = this.store.credentials.get(credentialId);
    if (!c) return undefined;
    switch (c.kind) {
      case "doorCode":
        return doorCodeSecret(c.value);
      case "keycard":
        return keycardSecret(this.store.keycards.get(c.value)?.uid);
      case "smartKey":
        return smartKeySecret(c.value);
    }
  }

  ownerOf(credentialId: number): SlotOwner | undefined {
    const c = this.store.credentials.get(credentialId);
    return c && { keyId: c.keyId, credential: c.kind };
  }

  lastEventSeq(lockId: string): number {
    return this.store.locks.get(lockId)?.lastEventSeq ?? 0;
  }

  commitLockEvents(lockId: string, events: HubEvent[], uptoSeq: number): void {
    this.store.transaction(() => {
      for (const e of events) this.events.emit(toEventInput(e));
      this.store.locks.setLastEventSeq(lockId, uptoSeq);
    });
  }

  resetEventSeq(lockId: string): void {
    this.store.locks.resetLastEventSeq(lockId, 0);
  }

  appendEvents(events: HubEvent[]): void {
    this.store.transaction(() => {
      for (const e of events) this.events.emit(toEventInput(e));
    });
  }
}
