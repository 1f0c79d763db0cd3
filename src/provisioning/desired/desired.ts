/**
 * From one key's desired state to the slot rows it wants on each lock (the store's
 * lock_slots.desired_*), incrementally: a key change touches only that key's rows, so a
 * common door holding thousands of credentials is never recomputed whole.
 *
 * The access rules decide WHAT goes WHERE (keyCredentials: live key, provisioning allowed,
 * commissioned lock, window not ended, type enabled, secret known); the store allocates
 * slots (a credential keeps its slot while it is desired: stable across restarts).
 */
import { keyCredentials, type KeySecrets } from "../../access/desired.js";
import { keyActivation, type KeyLifecycle } from "../../access/key-activation.js";
import { targetDoors } from "../../access/linked-doors.js";
import type { CredentialType, Door, Key, Site } from "../../access/model.js";
import { secretDigest } from "../../protocol/llp/digest.js";
import type { CredentialRecord, Store } from "../../store/index.js";
import type { SlotIndex } from "./slot-index.js";

export interface DesiredContext {
  store: Pick<Store, "credentials" | "keycards" | "keys" | "slots">;
  index: SlotIndex;
  site: Site | undefined;
  doors: ReadonlyMap<string, Door>;
  nowMs: number;
  lifecycle(key: Key): KeyLifecycle;
  isCommissioned(lockId: string): boolean;
  /** Slots of a kind on a lock (IDENT / profile); 0 when the lock lacks the kind. */
  slotCount(lockId: string, kind: CredentialType): number;
}

export interface DesiredOutcome {
  /** Locks whose desired table changed. */
  changedLocks: Set<string>;
  /** Credentials that could not be placed: lockId -> credentialId -> why (no free slot, or the lock lacks the kind). */
  unplaced: Map<string, Map<number, "lock_memory_full" | "not_supported">>;
}

/** The current credential of each kind of a key, from its credential history. */
export function currentCredentials(history: readonly CredentialRecord[]): Partial<Record<CredentialType, CredentialRecord>> {
  const out: Partial<Record<CredentialType, CredentialRecord>> = {};
  for (const c of history) if (c.revokedAt === null) out[c.kind] = c;
  return out;
}

/** Writes the key's wanted slot rows; must run inside a store transaction. */
export function syncKeyDesired(keyId: string, ctx: DesiredContext): DesiredOutcome {
  const { store } = ctx;
  const outcome: DesiredOutcome = { changedLocks: new Set(), unplaced: new Map() };
  const key = store.keys.get(keyId);
  const history = store.credentials.history(keyId);
  const current = currentCredentials(history);
  const wanted = new Map<string, { lockId: string; kind: CredentialType; credentialId: number; validFrom: number; validUntil: number; flags: number; digest: Buffer }>();

  if (key && key.removedAt === null && ctx.site) {
    const activation = keyActivation(key, ctx.lifecycle(key));
    const { targets } = targetDoors(key, ctx.doors, ctx.site.timezone);
    const cardId = current.keycard?.value;
    const secrets: KeySecrets = {
      doorCode: current.doorCode?.value,
      keycardUid: cardId === undefined ? undefined : store.keycards.get(cardId)?.uid,
    };
    const perLock = keyCredentials({
      site: ctx.site,
      key,
      activation,
      targets,
      doors: ctx.doors,
      isCommissioned: ctx.isCommissioned,
      secrets,
      nowMs: ctx.nowMs,
    });
    for (const lc of perLock) {
      for (const c of lc.credentials) {
        const record = current[c.kind];
        // keyCredentials reads the smart key from the key itself; deliver it only once the
        // hub recorded it as the key's credential (same value).
        if (!record) continue;
        wanted.set(`${lc.lockId}|${record.credentialId}`, {
          lockId: lc.lockId,
          kind: c.kind,
          credentialId: record.credentialId,
          validFrom: c.validFrom,
          validUntil: c.validUntil,
          flags: c.flags,
          digest: secretDigest(c.secret),
        });
      }
    }
  }

  // Rows this key desires today but should not any more: the slot is to be emptied.
  for (const c of history) {
    for (const row of ctx.index.rows(c.credentialId)) {
      if (row.desired?.credentialId !== c.credentialId) continue;
      if (wanted.has(`${row.lockId}|${c.credentialId}`)) continue;
      store.slots.clearDesired(row.lockId, row.kind, row.slot);
      ctx.index.refresh(row.lockId, row.kind, row.slot);
      outcome.changedLocks.add(row.lockId);
    }
  }

  for (const w of wanted.values()) {
    const slot = store.slots.slotOf(w.lockId, w.kind, w.credentialId);
    const before = slot === undefined ? undefined : store.slots.get(w.lockId, w.kind, slot)?.desired;
    const same =
      before !== undefined &&
      before !== null &&
      before.validFrom === w.validFrom &&
      before.validUntil === w.validUntil &&
      before.flags === w.flags &&
      before.secretDigest.equals(w.digest);
    if (same) continue;
    const count = ctx.slotCount(w.lockId, w.kind);
    const assigned =
      count === 0
        ? null
        : store.slots.assign(
            w.lockId,
            w.kind,
            { credentialId: w.credentialId, validFrom: w.validFrom, validUntil: w.validUntil, flags: w.flags, secretDigest: w.digest },
            count,
          );
    if (assigned !== null) ctx.index.refresh(w.lockId, w.kind, assigned);
    if (assigned === null) {
      const m = outcome.unplaced.get(w.lockId) ?? new Map<number, "lock_memory_full" | "not_supported">();
      m.set(w.credentialId, count === 0 ? "not_supported" : "lock_memory_full");
      outcome.unplaced.set(w.lockId, m);
    }
    outcome.changedLocks.add(w.lockId);
  }
  return outcome;
}
