/**
 * The key and lock statuses as read models: derived on demand from the store, the slot index
 * and what the lock workers know now (online, verified, replaced). Nothing here is written:
 * a status can never disagree with the store after a rollback or a restart.
 */
import type { KeyLifecycle } from "../../access/key-activation.js";
import { resolveKeycard, type KeycardAssignment } from "../../access/keycards.js";
import { CREDENTIAL_TYPES, type CredentialType, type Door, type Key, type KeyStatus, type Site } from "../../access/model.js";
import { credentialRef } from "../../access/plan.js";
import { deriveKeyStatus, type CredentialFact, type DoorCodeOutcome, type LockFact, type ProvisioningFacts } from "../../access/status.js";
import type { LockStatus } from "../../cloud/status-publisher.js";
import type { Clock } from "../../shared/clock.js";
import { LockBridgeError } from "../../shared/errors.js";
import { formatInstant } from "../../shared/instant.js";
import type { CredentialRecord, LockRecord, SlotRecord, Store } from "../../store/index.js";
import { currentCredentials } from "../desired/desired.js";
import { isPairingLost } from "../reconcile/pairing-lost.js";
import { failureReason } from "../reconcile/reasons.js";
import type { SecurityAlerts } from "../reconcile/security-alerts.js";
import type { LiveLock } from "../reconcile/fleet.js";

/** The contract's lock status (mqtt-api.md §4) plus the lock's commissioning state (an extension). */
export interface LockStatusPayload extends Omit<LockStatus, "slots"> {
  /** The engine always knows a slot total: from IDENT, else the profile. */
  slots: Record<CredentialType, { used: number; total: number }>;
  /** pairing_lost: reported under LLP v1.1 §9.2, waiting for an installer or a sealed answer. */
  state: LockRecord["state"] | "pairing_lost";
  doorIds: string[];
  link: LockRecord["link"];
  linkErrors: { timeouts: number; crcErrors: number; retries: number };
  securityAlerts: { reason: string; lastAt: string; count: number }[];
}

export type DoorCodeUnavailable = Extract<DoorCodeOutcome, { state: "unavailable" }>["reason"];

export interface StatusModelPorts {
  store: Pick<Store, "credentials" | "doors" | "keyFacts" | "keycards" | "keys" | "site" | "slots" | "lockFacts">;
  clock: Clock;
  slotRows(credentialId: number): SlotRecord[];
  alerts: Pick<SecurityAlerts, "recent">;
  doors(): Map<string, Door>;
  lifecycleOf(key: Pick<Key, "keyId"> & { removedAt?: number | null }): KeyLifecycle;
  lockRecord(lockId: string): LockRecord | undefined;
  slotCount(lockId: string, kind: CredentialType): number;
  /** Credentials the store found no slot for: lockId -> credentialId -> reason. */
  unplaced(): ReadonlyMap<string, ReadonlyMap<number, "lock_memory_full" | "not_supported">>;
  live(lockId: string): LiveLock | undefined;
  linkErrorsOf?: ((lockId: string) => { timeouts: number; crcErrors: number; retries: number } | undefined) | undefined;
}

/** The statuses as the local API reads them. */
export type StatusReader = Pick<StatusModel, "keyStatus" | "lockStatus">;

/**
 * What one batch of computations reads once (see StatusModel.batch): the site record, each
 * lock's fact and each lock's doors. Valid only while nothing can write: a batch is one
 * synchronous run of computations.
 */
interface BatchMemo {
  site: Site | undefined | null;
  lockFacts: Map<string, LockFact | undefined>;
  doorsByLock: Map<string, { doorId: string; linked: boolean }[]>;
}

export class StatusModel {
  private memo: BatchMemo | undefined;

  constructor(private readonly p: StatusModelPorts) {}

  /**
   * Runs `fn` (synchronous: many statuses computed in a row, nothing written meanwhile) with the
   * reads every computation repeats — the site, each lock's fact, each lock's doors — done
   * once. Outside a batch every computation reads them afresh, as before.
   */
  batch<T>(fn: () => T): T {
    if (this.memo) return fn();
    this.memo = { site: null, lockFacts: new Map(), doorsByLock: new Map() };
    try {
      return fn();
    } finally {
      this.memo = undefined;
    }
  }

  private site(): Site | undefined {
    const memo = this.memo;
    if (!memo) return this.p.store.site.get();
    if (memo.site === null) memo.site = this.p.store.site.get();
    return memo.site;
  }

  /** The key's status; null once a removed key is off every lock (empty retained payload). */
  keyStatus(keyId: string): KeyStatus | null {
    const key = this.p.store.keys.get(keyId);
    if (!key) return null;
    const site = this.site();
    if (!site) return null;
    const history = this.p.store.credentials.history(keyId);
    const { facts, formerDoors, anyPresent } = this.keyFacts(key, history);
    if (key.removedAt !== null && !anyPresent) return null;
    return this.derive(key, site, history, facts, formerDoors);
  }

  /** The status to answer a command with (a removed key answers `revoked` rather than null). */
  keyStatusForResponse(keyId: string): KeyStatus {
    const key = this.p.store.keys.get(keyId);
    const site = this.site();
    if (!key || !site) throw new LockBridgeError("unknown_key", `no key ${keyId}`, "keyId");
    const history = this.p.store.credentials.history(keyId);
    const { facts, formerDoors } = this.keyFacts(key, history);
    return this.derive(key, site, history, facts, formerDoors);
  }

  /** The hub's door code and keycard decisions for a key (status, diagnosis). */
  keyDecisions(key: Key, history: CredentialRecord[] = this.p.store.credentials.history(key.keyId), site: Site | undefined = this.site()): { doorCode: DoorCodeOutcome; keycard: KeycardAssignment } {
    const current = currentCredentials(history);
    // The allocation failure is read only when it can matter: no current code, door codes wanted.
    const unavailable = current.doorCode || !key.doorCode.enabled || site?.credentialTypes.doorCode === false
      ? undefined
      : ((this.p.store.keyFacts.codeUnavailable(key.keyId) ?? undefined) as DoorCodeUnavailable | undefined);
    const doorCode: DoorCodeOutcome = current.doorCode
      ? { state: "assigned", code: current.doorCode.value }
      : unavailable !== undefined
        ? { state: "unavailable", reason: unavailable }
        : { state: "none" };
    return { doorCode, keycard: this.keycardAssignment(key, current.keycard) };
  }

  lockFact(lockId: string): LockFact | undefined {
    const memo = this.memo;
    if (!memo) return this.readLockFact(lockId);
    if (memo.lockFacts.has(lockId)) return memo.lockFacts.get(lockId);
    const fact = this.readLockFact(lockId);
    memo.lockFacts.set(lockId, fact);
    return fact;
  }

  private readLockFact(lockId: string): LockFact | undefined {
    const lock = this.p.lockRecord(lockId);
    if (!lock) return undefined;
    const live = this.p.live(lockId);
    return { lockId, commissioned: lock.state === "commissioned" && live?.replaced !== true, online: live?.online ?? lock.online };
  }

  /** The retained lock status (mqtt-api.md §4). */
  lockStatus(lockId: string): LockStatusPayload | null {
    const { store } = this.p;
    const lock = this.p.lockRecord(lockId);
    if (!lock) return null;
    const used = store.slots.usedCounts(lockId);
    const slots = {} as Record<CredentialType, { used: number; total: number }>;
    for (const k of CREDENTIAL_TYPES) slots[k] = { used: used[k], total: this.p.slotCount(lockId, k) };
    return {
      lockId,
      online: this.p.live(lockId)?.online ?? lock.online,
      ...lockHealthFacts(lock),
      slots,
      state: lock.state === "commissioned" && isPairingLost(store, lockId) ? "pairing_lost" : lock.state,
      doorIds: store.doors.byLock(lockId).map((d) => d.doorId),
      link: lock.link,
      linkErrors: this.p.linkErrorsOf?.(lockId) ?? { timeouts: 0, crcErrors: 0, retries: 0 },
      securityAlerts: this.p.alerts.recent(lockId),
    };
  }

  private derive(key: Key & { removedAt: number | null }, site: Site, history: CredentialRecord[], facts: ProvisioningFacts, formerDoors: { doorId: string; linked: boolean }[]): KeyStatus {
    const { doorCode, keycard } = this.keyDecisions(key, history, site);
    return deriveKeyStatus({ site, doors: this.p.doors(), key, lifecycle: this.p.lifecycleOf(key), doorCode, keycard, facts, formerDoors, nowMs: this.p.clock.now() });
  }

  private keycardAssignment(key: Key, current: CredentialRecord | undefined): KeycardAssignment {
    const { store } = this.p;
    if (current) {
      const card = store.keycards.get(current.value);
      if (card) return { state: "assigned", card };
    }
    const cardId = key.keycard.cardId;
    if (cardId === undefined || cardId === "") return { state: "unassigned", reason: "keycard_unavailable", detail: "no_card_selected" };
    const card = store.keycards.get(cardId);
    if (!card) return { state: "unassigned", reason: "keycard_unavailable", detail: "unknown_keycard" };
    const holders = new Map<string, string>();
    if (card.assignedKeyId !== null) holders.set(card.cardId, card.assignedKeyId);
    return resolveKeycard(key, new Map([[card.cardId, card]]), holders);
  }

  /** What is known about this key's credentials on each lock. */
  private keyFacts(key: Key, history: CredentialRecord[]): { facts: ProvisioningFacts; formerDoors: { doorId: string; linked: boolean }[]; anyPresent: boolean } {
    const byRef = new Map<string, CredentialFact>();
    const presentLocks = new Set<string>();
    let anyPresent = false;
    for (const c of history) {
      const ref = credentialRef(key.keyId, c.kind);
      for (const row of this.p.slotRows(c.credentialId)) {
        const k = `${row.lockId}|${ref}`;
        if (row.desired?.credentialId === c.credentialId) {
          let fact: CredentialFact;
          if (row.lastError !== null && !row.inSync) fact = { state: "failed", reason: failureReason(row.lastError) };
          else if (this.p.live(row.lockId)?.isVerified(row) === true) fact = { state: "verified" };
          else fact = { state: "pending" };
          byRef.set(k, fact);
        } else if (row.appliedState === "held" && row.applied?.credentialId === c.credentialId) {
          anyPresent = true;
          presentLocks.add(row.lockId);
          if (!byRef.has(k)) byRef.set(k, { state: "present" });
        }
      }
      for (const [lockId, m] of this.p.unplaced()) {
        const why = m.get(c.credentialId);
        if (why !== undefined) byRef.set(`${lockId}|${ref}`, { state: "failed", reason: why });
      }
    }
    // Doors whose lock still holds something of this key although the key no longer targets them.
    const formerDoors: { doorId: string; linked: boolean }[] = [];
    for (const lockId of presentLocks) formerDoors.push(...this.doorsOfLock(lockId));
    const facts: ProvisioningFacts = { lock: (lockId) => this.lockFact(lockId), credential: (lockId, ref) => byRef.get(`${lockId}|${ref}`) };
    return { facts, formerDoors, anyPresent };
  }

  private doorsOfLock(lockId: string): { doorId: string; linked: boolean }[] {
    const memo = this.memo;
    const cached = memo?.doorsByLock.get(lockId);
    if (cached) return cached;
    const doors = this.p.store.doors.byLock(lockId).map((d) => ({ doorId: d.doorId, linked: d.kind === "common" }));
    memo?.doorsByLock.set(lockId, doors);
    return doors;
  }
}

/** What the store knows of a lock's identity and health, as the lock status shows it. */
export function lockHealthFacts(lock: LockRecord): Pick<LockStatusPayload, "lastSeen" | "profile" | "model" | "firmware" | "battery" | "doorOpen" | "clockDriftS"> {
  return {
    lastSeen: lock.lastSeen === null ? null : formatInstant(lock.lastSeen),
    profile: lock.profileId,
    model: lock.ident?.model ?? null,
    firmware: lock.ident?.firmware ?? null,
    battery: lock.battery,
    doorOpen: lock.doorOpen,
    clockDriftS: lock.clockDriftS,
  };
}
