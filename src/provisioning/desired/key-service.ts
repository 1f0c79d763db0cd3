/**
 * What a key change MEANS (the cloud's KeyCommands seam, plus doorcode.regenerate and
 * keycard.replace): Protect Configuration, check-in/out, keycard inventory, door code
 * allocation, the key's credentials, then the desired slot rows and the key status.
 *
 * Every method runs synchronously inside the command's transaction (no lock I/O): the
 * fleet's lock workers reconcile the locks afterwards. A refusal throws LockBridgeError with a
 * contract code and, the transaction being rolled back, changes nothing.
 *
 * Choices (docs/provisioning.md):
 * - A strict code that is not available does not fail key.upsert: the key is stored, its
 *   door code is `unassigned`/`code_unavailable` and the response carries a warning (the
 *   article's "No Doorcode Assigned"). doorcode.regenerate with strict answers
 *   `code_unavailable` and keeps the old code.
 * - Check-out and removal revoke every credential (the code enters the cooling-off period,
 *   the card returns to the inventory); a PMS correction checking in again gets new ones.
 * - A site that disables a credential type keeps the key's decision (its code) but nothing
 *   of that type goes to locks: status `disabled`/`credential_type_disabled`.
 */
import { allocateDoorCode, regenerateDoorCode, type AllocationInput, type CodeTargetLock, type RandomSource, DEFAULT_COOLING_OFF_MS } from "../../access/codes.js";
import { holdsKeycard, keyActivation, nextLifecycle, removedLifecycle } from "../../access/key-activation.js";
import type { CodeAssignment, Key, KeyStatus } from "../../access/model.js";
import { applyKeyUpsert, doorSettingsChanges } from "../../access/protect-config.js";
import type { KeyChangeContext, KeyChangeOutcome, KeyCommands } from "../../cloud/handlers/key-commands.js";
import { LockBridgeError } from "../../shared/errors.js";
import type { Clock } from "../../shared/clock.js";
import type { Store } from "../../store/index.js";
import { codeDoors, type DesiredState } from "./desired-state.js";

/** What key semantics use: the desired state (key lifecycles, door codes, re-derivation), the key status, the time. */
export interface KeyServicePorts {
  desired: Pick<DesiredState, "doors" | "lifecycle" | "lifecycleOf" | "setLifecycle" | "indexKeyCode" | "indexCodeOf" | "codesExcept" | "codeRange" | "resyncKeys">;
  statuses: {
    keyStatus(keyId: string): KeyStatus | null;
    /** A removed key answers `revoked` rather than null. */
    keyStatusForResponse(keyId: string): KeyStatus;
  };
  clock: Pick<Clock, "now">;
}

/** The store repositories key semantics read and write. */
export type KeyServiceStore = Pick<Store, "keys" | "keycards" | "credentials" | "keyFacts" | "site" | "afterRollback">;

export interface KeyServiceOptions {
  random: RandomSource;
  coolingOffMs?: number;
}

export class KeyService implements KeyCommands {
  /**
   * Codes that may not be handed out: current anywhere (null) or revoked at a time (ms).
   * Cached because a snapshot allocates for thousands of keys; reloaded from the store when
   * the earliest revocation's cooling-off ends, so the store (not a rolled-back change
   * seen here) decides when a code is free again.
   */
  private cooling: { codes: Map<string, number | null>; reloadAtMs: number } | undefined;

  constructor(
    private readonly store: KeyServiceStore,
    private readonly ports: KeyServicePorts,
    private readonly options: KeyServiceOptions,
  ) {
    // The cooling-off cache follows the store: read again after a rollback.
    store.afterRollback(() => (this.cooling = undefined));
  }

  upsert(incoming: Key, ctx: KeyChangeContext): KeyChangeOutcome {
    const store = this.store;
    const record = store.keys.get(incoming.keyId);
    const stored = record && record.removedAt === null ? record : undefined;
    const { key, warnings: protect } = applyKeyUpsert(stored, incoming, this.ports.desired.doors());
    const at = this.nowMs();
    // Door-setting changes and blocked PMS attempts, for diagnosis.
    this.store.keyFacts.addSettingsChanges(key.keyId, [
      ...doorSettingsChanges(stored, key).map((c) => ({ atMs: at, source: key.source, doorId: c.doorId, fields: c.fields, applied: true })),
      ...protect.map((w) => ({ atMs: at, source: key.source, doorId: w.doorId, fields: w.fields, applied: false })),
    ]);
    const lifecycle = nextLifecycle(stored, stored ? this.ports.desired.lifecycle(key.keyId) : undefined, key);
    const activation = keyActivation(key, lifecycle);
    // The inventory first: a card held by another key refuses the whole upsert.
    if (holdsKeycard(activation) && key.keycard.enabled && key.keycard.cardId !== undefined) store.keycards.assign(key.keycard.cardId, key.keyId);
    else store.keycards.releaseKey(key.keyId);
    store.keys.upsert(key);
    this.ports.desired.setLifecycle(key.keyId, lifecycle);
    const warnings = [...protect.map((w) => w.message), ...this.ensureCredentials(key.keyId)];
    return this.finish(key.keyId, ctx, warnings);
  }

  checkin(keyId: string, checkedIn: boolean, ctx: KeyChangeContext): KeyChangeOutcome {
    const store = this.store;
    const stored = store.keys.get(keyId);
    if (!stored || stored.removedAt !== null) throw new LockBridgeError("unknown_key", `no key ${keyId}`, "keyId");
    const lifecycle = nextLifecycle(stored, this.ports.desired.lifecycle(keyId), { checkedIn });
    store.keys.setCheckedIn(keyId, checkedIn);
    this.ports.desired.setLifecycle(keyId, lifecycle);
    const key = store.keys.get(keyId)!;
    if (!holdsKeycard(keyActivation(key, lifecycle))) store.keycards.releaseKey(keyId);
    else if (key.keycard.enabled && key.keycard.cardId !== undefined) store.keycards.assign(key.keycard.cardId, keyId);
    return this.finish(keyId, ctx, this.ensureCredentials(keyId));
  }

  remove(keyId: string, version: number, ctx: KeyChangeContext): KeyChangeOutcome {
    const store = this.store;
    const prev = this.ports.desired.lifecycle(keyId);
    if (store.keys.remove(keyId, version) === undefined) throw new LockBridgeError("unknown_key", `no key ${keyId}`, "keyId");
    this.ports.desired.setLifecycle(keyId, removedLifecycle(prev));
    store.keycards.releaseKey(keyId);
    return this.finish(keyId, ctx, this.ensureCredentials(keyId));
  }

  status(keyId: string): KeyStatus | null {
    return this.ports.statuses.keyStatus(keyId);
  }

  /**
   * doorcode.regenerate: the old code is revoked (cooling off: never the new one) and a new
   * one assigned with the given policy (default: the key's). Strict and unavailable:
   * code_unavailable, nothing changes.
   */
  regenerateCode(keyId: string, assignment: CodeAssignment | undefined, code: string | undefined, ctx: KeyChangeContext): KeyChangeOutcome {
    const store = this.store;
    const key = this.liveKey(keyId);
    const site = store.site.get();
    if (!site) throw new LockBridgeError("unknown_site", "no site configured", "keyId");
    const policy = assignment ?? key.doorCode.assignment;
    const requested = code ?? (assignment === undefined ? key.doorCode.code : undefined);
    const old = store.credentials.currentOf(keyId, "doorCode")?.value;
    const r = regenerateDoorCode({ ...this.allocationBase(key, site.doorCodeLength), assignment: policy, requested, old });
    if (!r.ok) throw new LockBridgeError("code_unavailable", r.error.message, code !== undefined ? "code" : "keyId");
    const doorCode = { enabled: true, assignment: policy, ...(requested !== undefined ? { code: requested } : {}) };
    store.keys.upsert({ ...key, doorCode });
    store.credentials.assign({ keyId, kind: "doorCode", value: r.value.code, assignment: policy });
    this.coolingChanged(r.value.code, old);
    this.ports.desired.indexKeyCode(keyId);
    return this.finish(keyId, ctx, r.value.warnings.map((w) => w.message));
  }

  /** keycard.replace: the old card leaves every door, the new one goes on; the old returns to the inventory. */
  replaceKeycard(keyId: string, cardId: string, ctx: KeyChangeContext): KeyChangeOutcome {
    const store = this.store;
    const key = this.liveKey(keyId);
    const card = store.keycards.get(cardId);
    if (!card) throw new LockBridgeError("unknown_keycard", `no keycard ${cardId}`, "cardId");
    if (card.assignedKeyId !== null && card.assignedKeyId !== keyId) {
      throw new LockBridgeError("keycard_in_use", `keycard ${cardId} serves key ${card.assignedKeyId}`, "cardId");
    }
    store.keycards.assign(cardId, keyId);
    store.keys.upsert({ ...key, keycard: { enabled: true, cardId } });
    return this.finish(keyId, ctx, this.ensureCredentials(keyId));
  }

  private liveKey(keyId: string): Key {
    const key = this.store.keys.get(keyId);
    if (!key || key.removedAt !== null) throw new LockBridgeError("unknown_key", `no key ${keyId}`, "keyId");
    return key;
  }

  private finish(keyId: string, ctx: KeyChangeContext, warnings: string[]): KeyChangeOutcome {
    this.ports.desired.resyncKeys([keyId]);
    ctx.keyChanged(keyId);
    // Computed when read: a command answers with it; a snapshot applying 2,000 keys does not ask.
    const statuses = this.ports.statuses;
    let status: KeyStatus | undefined;
    return {
      get status(): KeyStatus {
        status ??= statuses.keyStatusForResponse(keyId);
        return status;
      },
      warnings,
    };
  }

  /**
   * Brings the key's credential records (the hub's decisions) in line with the key: door
   * code allocated or kept, keycard and mobile key recorded, everything revoked for a
   * revoked key. @returns warnings for the response.
   */
  ensureCredentials(keyId: string): string[] {
    const store = this.store;
    // Each read once (the key, its lifecycle, its current credentials of every kind): a
    // snapshot runs this for every key, and each step below touches one kind only.
    const key = store.keys.get(keyId);
    const site = store.site.get();
    if (!key || !site) return [];
    const activation = keyActivation(key, this.ports.desired.lifecycleOf(key));
    const revoked = activation.state === "revoked" || key.removedAt !== null;
    const warnings: string[] = [];
    const current = new Map(store.credentials.current(keyId).map((c) => [c.kind, c]));

    // Door code.
    const currentCode = current.get("doorCode");
    let codeNow = currentCode?.value;
    if (revoked || !key.doorCode.enabled) {
      if (currentCode && store.credentials.revoke(currentCode.credentialId)) this.coolingChanged(undefined, currentCode.value);
      codeNow = undefined;
      this.store.keyFacts.setCodeUnavailable(keyId, null);
    } else if (site.credentialTypes.doorCode) {
      const r = allocateDoorCode({
        ...this.allocationBase(key, site.doorCodeLength),
        assignment: key.doorCode.assignment,
        requested: key.doorCode.code,
        current: currentCode?.value,
      });
      this.store.keyFacts.setCodeUnavailable(keyId, r.ok ? null : r.error.reason);
      if (r.ok) {
        if (r.value.code !== currentCode?.value) {
          store.credentials.assign({ keyId, kind: "doorCode", value: r.value.code, assignment: key.doorCode.assignment });
          this.coolingChanged(r.value.code, currentCode?.value);
        }
        codeNow = r.value.code;
        warnings.push(...r.value.warnings.map((w) => w.message));
      } else {
        if (currentCode && store.credentials.revoke(currentCode.credentialId)) this.coolingChanged(undefined, currentCode.value);
        codeNow = undefined;
        warnings.push(r.error.message);
      }
    }
    this.ports.desired.indexCodeOf(key, codeNow);

    // Keycard: the inventory decided (upsert/checkin); the credential follows the assigned card.
    const currentCard = current.get("keycard");
    const card = store.keycards.assignedTo(keyId);
    if (revoked || !key.keycard.enabled || !card) {
      if (currentCard) store.credentials.revoke(currentCard.credentialId);
    } else if (currentCard?.value !== card.cardId) {
      store.credentials.assign({ keyId, kind: "keycard", value: card.cardId });
    }

    // Mobile key: its public key.
    const currentMobile = current.get("smartKey");
    const publicKey = key.smartKey.publicKey;
    if (revoked || !key.smartKey.enabled || publicKey === undefined || publicKey === "") {
      if (currentMobile) store.credentials.revoke(currentMobile.credentialId);
    } else if (currentMobile?.value !== publicKey) {
      store.credentials.assign({ keyId, kind: "smartKey", value: publicKey });
    }
    return warnings;
  }

  private allocationBase(key: Key, siteLength: number): Omit<AllocationInput, "assignment" | "requested" | "current"> {
    const doors = this.ports.desired.doors();
    const locks: CodeTargetLock[] = codeDoors(key, doors).map((doorId) => {
      const lockId = doors.get(doorId)?.lockId ?? null;
      const range = (lockId !== null ? this.ports.desired.codeRange(lockId) : undefined) ?? { codeMinLen: 4, codeMaxLen: 12 };
      return { lockId: doorId, range };
    });
    const now = this.nowMs();
    return {
      siteLength,
      locks,
      usage: this.ports.desired.codesExcept(key.keyId),
      // A current code (null) counts as revoked now: it stays out of reach for the whole window.
      // Asked of the cache code by code: a list of the site's codes built per key made a
      // snapshot's allocation O(keys²).
      revoked: [],
      unavailable: { has: (code) => this.coolingAt(code, now) },
      coolingOffMs: this.coolingOffMs(),
      nowMs: now,
      random: this.options.random,
    };
  }

  private nowMs(): number {
    return this.ports.clock.now();
  }

  private coolingOffMs(): number {
    return this.options.coolingOffMs ?? DEFAULT_COOLING_OFF_MS;
  }

  /** The codes out of reach at `now`, from the store once the earliest cooling-off has ended. */
  private coolingCodes(now: number): Map<string, number | null> {
    if (!this.cooling || now >= this.cooling.reloadAtMs) {
      const window = this.coolingOffMs();
      const codes = this.store.credentials.unavailableDoorCodes(now - window);
      let reloadAtMs = Number.POSITIVE_INFINITY;
      for (const at of codes.values()) if (at !== null) reloadAtMs = Math.min(reloadAtMs, at + window);
      this.cooling = { codes, reloadAtMs };
    }
    return this.cooling.codes;
  }

  /** Whether `code` is out of reach at `now`: current somewhere, or revoked within the cooling-off window. */
  private coolingAt(code: string, now: number): boolean {
    const at = this.coolingCodes(now).get(code);
    return at !== undefined && (at === null || at + this.coolingOffMs() > now);
  }

  /** Keeps the cache in step with a code handed out (`current`) and one revoked (`revoked`). */
  private coolingChanged(current: string | undefined, revoked: string | undefined): void {
    if (!this.cooling) return;
    const now = this.nowMs();
    if (revoked !== undefined && revoked !== current) {
      this.cooling.codes.set(revoked, now);
      this.cooling.reloadAtMs = Math.min(this.cooling.reloadAtMs, now + this.coolingOffMs());
    }
    if (current !== undefined) this.cooling.codes.set(current, null);
  }
}
