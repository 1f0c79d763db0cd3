/**
 * What the provisioning engine needs from the rest of the hub, as narrow interfaces: the
 * engine is handed its lock links, its storage and its clock (docs/provisioning.md). The
 * hub wires the real ones (src/lock, src/store, src/cloud); tests may wire the same real
 * parts against simulated locks.
 */
import type { CredentialType } from "../../access/model.js";
import type { CredentialEntry, IdentInfo, LockEvent, SlotInfo, StatusInfo, TableDigestInfo } from "../../protocol/llp/commands.js";
import type { ContractEvent, SlotOwner } from "./lock-events.js";
import type { SlotContent } from "../../store/index.js";

/** One lock as the engine drives it. Errors are LockBridgeErrors (see lock-errors.ts). */
export interface LockLinkPort {
  /** The session's view: false after its consecutive-timeout limit, true again on the next answer; undefined before the first. */
  readonly online: boolean | undefined;
  /** The hub holds a link key for this lock (requests are sealed). */
  readonly paired: boolean;
  ident(): Promise<IdentInfo>;
  status(): Promise<StatusInfo>;
  setTime(epochSeconds: number): Promise<void>;
  putCredential(entry: CredentialEntry & { secret: Uint8Array }): Promise<void>;
  deleteCredential(kind: number, slot: number): Promise<void>;
  readSlots(kind: number, firstSlot: number, count: number): Promise<SlotInfo[]>;
  tableDigest(kind: number): Promise<TableDigestInfo>;
  unlock(seconds: number): Promise<void>;
  readEvents(fromSeq: number, max: number): Promise<LockEvent[]>;
  ackEvents(uptoSeq: number): Promise<void>;
  /**
   * PAIR with a fresh random link key, persisted before it is sent (a crash never loses the
   * key the lock holds). Rejects with a NAK (INVALID_STATE) when the lock keeps another key.
   */
  pair(): Promise<void>;
  /** How the lock's model pairs (its device profile): PAIR_KX with the setup key, or legacy PAIR. */
  readonly pairing: "kx" | "plain";
  /**
   * PAIR_KX with the setup key from the lock's label (LLP v1.1 §8). Rejects with
   * lock_pairing_unconfirmed when the confirm does not prove the key (the hub keeps its key),
   * with a NAK (INVALID_STATE) when the lock keeps a key and is not in pairing mode.
   */
  pairKx(setupKey: Uint8Array): Promise<void>;
  /** IDENT sent unsealed: who answers at the link, as a hint only (LLP v1.1 §9.1). */
  identHint(): Promise<IdentInfo>;
  /** Firmware transfer (lock-link-protocol.md §3, 0x40..0x43). */
  fwBegin(size: number, sha256: Uint8Array, version: string): Promise<{ maxChunk: number }>;
  fwChunk(offset: number, data: Uint8Array): Promise<void>;
  fwCommit(): Promise<void>;
  fwAbort(): Promise<void>;
}

/** Signals from a lock's session. */
export interface LockLinkSignals {
  /** The session went online/offline. */
  onOnlineChange(listener: (online: boolean) => void): () => void;
  /** EVENT_NOTIFY arrived (TCP/BLE). */
  onEventNotify(listener: (eventHead: number) => void): () => void;
  /** The session dropped an unsealed frame where a sealed one was due, or a replayed counter. */
  onSuspicious(listener: (kind: "unsealed" | "replay") => void): () => void;
}

/** One slot's content, as the store keeps it. */
export type { SlotContent };

export interface SlotRow {
  kind: CredentialType;
  slot: number;
  desired: (SlotContent & { credentialId: number }) | null;
  appliedState: "unknown" | "empty" | "held";
  applied: SlotContent | null;
  inSync: boolean;
  lastError: string | null;
  attempts: number;
  updatedAt: number;
}

/** The per-lock part of the store the lock worker reads and writes. */
export interface LockTableStore {
  slots(lockId: string, kind?: CredentialType): SlotRow[];
  slot(lockId: string, kind: CredentialType, slot: number): SlotRow | undefined;
  /** The lock confirmed a write; may be recorded a little later (flush), reads here see it at once. */
  markApplied(lockId: string, kind: CredentialType, slot: number, content: SlotContent | null): void;
  /** Records confirmed writes still pending. */
  flush(): void;
  /** Runs `tell`, the lock's confirmed writes still pending recorded in its first commit (or after it). */
  recordWith(lockId: string, tell: () => void): void;
  markFailed(lockId: string, kind: CredentialType, slot: number, reason: string, nextAttemptAt: number | null): void;
  recordObserved(lockId: string, kind: CredentialType, firstSlot: number, count: number, observed: SlotInfo[]): void;
  /** When each table of the lock last matched its expected digest (survives a restart). */
  tablesVerifiedAt(lockId: string): Map<CredentialType, number>;
  /** The table matched its expected digest at `atMs`. */
  tableVerified(lockId: string, kind: CredentialType, atMs: number): void;
  /** The lock lost everything (factory reset): every applied record becomes `state`. */
  resetApplied(lockId: string, state: "empty" | "unknown"): void;
  /** The bytes to PUT for a credential (door code digits, card UID, mobile key). */
  secretOf(credentialId: number): Uint8Array | undefined;
  ownerOf(credentialId: number): SlotOwner | undefined;
  /** Highest lock event seq already in the outbox and acknowledged. */
  lastEventSeq(lockId: string): number;
  /**
   * Appends the events to the outbox and records `uptoSeq` as acknowledged, in one durable
   * transaction; committed once it returns or its promise resolves (a group commit), not before.
   */
  commitLockEvents(lockId: string, events: ContractEvent[], uptoSeq: number): void | Promise<void>;
  /** Commits the lock event pages waiting for a group commit now (a stop). */
  flushEventPages?(): void;
  resetEventSeq(lockId: string): void;
  /** Appends hub events (lock.online, lock.replaced...) to the outbox. */
  appendEvents(events: ContractEvent[]): void;
}
