/**
 * The state one lock's worker shares between its steps (loop, identity, health, events,
 * apply, verify, unlock). One object per lock, owned by LockWorker; the step modules are
 * functions over it, so each keeps one job and none holds state of its own.
 */
import type { CredentialType } from "../../../access/model.js";
import { CREDENTIAL_TYPES } from "../../../access/model.js";
import type { IdentInfo } from "../../../protocol/llp/commands.js";
import { usableSlots } from "../../../profiles/identity.js";
import type { TimerHandle } from "../../../shared/clock.js";
import type { PairingRecovery } from "../pairing-recovery.js";
import type { LockLinkPort, SlotRow } from "../ports.js";
import type { WorkQueue } from "../work-queue.js";
import type { LockWorkerOptions } from "./options.js";

/** Write or clear one slot of the lock's credential table. */
export type SlotOp = { type: "put" | "delete"; kind: CredentialType; slot: number };
/** A remote unlock (door.unlock) waiting its turn: first in line, never deferred past its deadline. */
export type UnlockOp = { type: "unlock"; seconds: number; deadlineMs: number; settle: (err?: Error) => void; signal?: AbortSignal | undefined };
/** A one-off exchange run in the loop (a firmware chunk...): its errors go to its caller. */
export type TaskOp = { type: "task"; run: (port: LockLinkPort) => Promise<void>; fail: (err: Error) => void };
export type Op = SlotOp | UnlockOp | TaskOp;

/** What the loop still owes the lock; set by signals, cleared by the step that does it. */
export interface WorkerNeeds {
  handshake: boolean;
  events: boolean;
  status: boolean;
  replan: boolean;
  verify: Set<CredentialType>;
}

export interface WorkerContext {
  readonly lockId: string;
  readonly o: LockWorkerOptions;
  readonly queue: WorkQueue<Op>;
  readonly needs: WorkerNeeds;
  readonly recovery: PairingRecovery;
  /** The lock's last IDENT: what it supports and how many slots each table has. */
  ident: IdentInfo | null;
  stopped: boolean;
  /** Reported as replaced (a hint) and not yet confirmed by a sealed answer. */
  replaced: boolean;
  /** Reported as pairing_lost and not yet confirmed by a sealed answer. */
  pairingLost: boolean;
  /** Failed steps in a row (backoff). */
  failures: number;
  /** Digest mismatches in a row without progress. */
  verifyRounds: number;
  /** Pages of events read since the last queued op ran (provisioning gets a turn after two). */
  eventPagesSinceProvisioning: number;
  lastClockSetMs: number | undefined;
  doorOpen: boolean;
  heldOpenTimer: TimerHandle | undefined;
  /** When each kind's table last matched its expected digest (ms); slots applied after it are unverified. */
  readonly verifiedAt: Map<CredentialType, number>;
  /** When a guest's denied credential last made this lock's table of that kind be checked (ms). */
  readonly deniedCheckAt: Map<CredentialType, number>;
  /** When a failed slot may be tried again, by `${kind}:${slot}`. */
  readonly retryAt: Map<string, number>;
  /** Ids for unlock and task queue items. */
  opSeq: number;
  /** Wakes the loop if it waits for work. */
  kick(): void;
}

export function allKindsNeedVerify(ctx: WorkerContext): void {
  for (const k of CREDENTIAL_TYPES) ctx.needs.verify.add(k);
}

/**
 * Tells the engine (credential events, statuses). The credential events' commit carries the
 * confirmed writes; what the engine reads before it sees them through the store adapter, and
 * the statuses, computed later, read them recorded.
 */
export function notifySlots(ctx: WorkerContext, rows: readonly SlotRow[]): void {
  ctx.o.store.recordWith(ctx.lockId, () => ctx.o.hooks.slotsChanged(ctx.lockId, credentialIds(rows)));
}

/** Without an IDENT yet, assume it does: the IDENT comes before any slot work. */
export function supports(ctx: WorkerContext, kind: CredentialType): boolean {
  return ctx.ident ? usableSlots(ctx.ident, kind) > 0 : true;
}

export function capacity(ctx: WorkerContext, kind: CredentialType): number {
  return ctx.ident ? usableSlots(ctx.ident, kind) : 0;
}

function credentialIds(rows: readonly SlotRow[]): number[] {
  const ids = new Set<number>();
  for (const r of rows) {
    if (r.desired) ids.add(r.desired.credentialId);
    if (r.applied?.credentialId != null) ids.add(r.applied.credentialId);
  }
  return [...ids];
}

export function doorField(ctx: WorkerContext): { doorId?: string } {
  const d = ctx.o.doorId();
  return d === undefined ? {} : { doorId: d };
}

