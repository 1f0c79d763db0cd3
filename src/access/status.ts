/**
 * Key and door status per the contract (mqtt-api.md §4), derived from the desired state and
 * what the engine knows about each lock (online, commissioned, and per credential: verified,
 * pending, failed, or still present after it stopped being desired).
 *
 * Door state, first match wins:
 * - key removed / checked out: `revoking` while any of its credentials is still on the lock
 *   (+ lock_offline when it cannot be reached), then `revoked`;
 * - not checked in: `inactive` [not_checked_in, + what would block it once checked in:
 *   not_commissioned, provisioning_disabled, lock_offline];
 * - window ended: `inactive` [access_period_ended];
 * - no lock on the door, or lock not commissioned: `pending` [not_commissioned];
 * - Allow Provisioning off: `pending` [provisioning_disabled (+ lock_offline)];
 * - no credential type left to deliver because the site disables them: `pending`
 *   [credential_type_disabled];
 * - a credential refused (allocation or lock): `failed` [code_unavailable, keycard_unavailable,
 *   lock_memory_full, not_supported, lock_rejected];
 * - a credential not yet verified on the lock: `pending` [lock_offline if offline];
 * - all verified but the window not started: `inactive` [access_period_not_started];
 * - else `active`.
 * A smart key still waiting for the guest's public key (app not activated) does not hold the
 * door back: its own state says `pending`.
 */
import type { AllocationError } from "./codes.js";
import { wantedTypes, secretOf } from "./desired.js";
import { keyActivation, type KeyLifecycle } from "./key-activation.js";
import type { KeycardAssignment } from "./keycards.js";
import { targetDoors, type TargetDoor } from "./linked-doors.js";
import {
  CREDENTIAL_TYPES,
  DOOR_STATE_SEVERITY,
  type CredentialAssignmentState,
  type CredentialType,
  type Door,
  type DoorReason,
  type DoorState,
  type DoorStatus,
  type Key,
  type KeyStatus,
  type Site,
  type SmartKeyState,
} from "./model.js";
import { credentialRef } from "./plan.js";
import { windowState } from "./windows.js";
import { formatInstant, formatEpochSeconds } from "../shared/instant.js";

export interface LockFact {
  lockId: string;
  commissioned: boolean;
  online: boolean;
}

export type LockFailureReason = "lock_memory_full" | "not_supported" | "lock_rejected";

/** Where one credential stands on one lock. */
export type CredentialFact =
  /** On the lock exactly as desired, confirmed by TABLE_DIGEST or READ_SLOTS. */
  | { state: "verified" }
  /** Desired but not confirmed yet (queued, in flight, lock offline). */
  | { state: "pending" }
  /** The lock refused it (NAK mapped by the engine) or the plan found no slot. */
  | { state: "failed"; reason: LockFailureReason }
  /** No longer desired but still on the lock (delete pending). */
  | { state: "present" };

/**
 * The engine's knowledge of locks. For a credential the hub wants on a lock, undefined reads
 * as pending; for one it no longer wants, any fact means "still on the lock" (the engine
 * forgets the fact once the delete is verified).
 */
export interface ProvisioningFacts {
  lock(lockId: string): LockFact | undefined;
  credential(lockId: string, ref: string): CredentialFact | undefined;
}

/** The hub's door code decision for the key. */
export type DoorCodeOutcome =
  | { state: "assigned"; code: string }
  | { state: "unavailable"; reason: AllocationError["reason"] }
  /** Not allocated (door code disabled, or not attempted yet). */
  | { state: "none" };

export interface KeyStatusInput {
  site: Site;
  doors: ReadonlyMap<string, Door>;
  key: Key;
  lifecycle: KeyLifecycle;
  doorCode: DoorCodeOutcome;
  keycard: KeycardAssignment;
  facts: ProvisioningFacts;
  /** Doors that are no longer targets but may still hold this key's credentials. */
  formerDoors?: readonly { doorId: string; linked: boolean }[];
  nowMs: number;
}

const FAIL_ORDER: DoorReason[] = ["code_unavailable", "keycard_unavailable", "lock_memory_full", "not_supported", "lock_rejected"];

/** The worst of some door states (mqtt-api.md §4: key state = worst of its doors'). */
export function worstState(states: Iterable<DoorState>): DoorState | undefined {
  let worst: DoorState | undefined;
  for (const s of states) {
    if (worst === undefined || DOOR_STATE_SEVERITY.indexOf(s) < DOOR_STATE_SEVERITY.indexOf(worst)) worst = s;
  }
  return worst;
}

interface DoorContext {
  lockId: string | null;
  lock: LockFact | undefined;
}

function doorContext(input: KeyStatusInput, doorId: string): DoorContext {
  const lockId = input.doors.get(doorId)?.lockId ?? null;
  return { lockId, lock: lockId === null ? undefined : input.facts.lock(lockId) };
}

const commissioned = (c: DoorContext): boolean => c.lockId !== null && c.lock?.commissioned === true;
const offline = (c: DoorContext): boolean => commissioned(c) && c.lock?.online !== true;

/** Is this credential type's secret decided (code allocated, card assigned, public key valid)? */
function secretReady(type: CredentialType, input: KeyStatusInput): boolean {
  return secretOf(type, input.key, {
    doorCode: input.doorCode.state === "assigned" ? input.doorCode.code : undefined,
    keycardUid: input.keycard.state === "assigned" ? input.keycard.card.uid : undefined,
  }) !== undefined;
}

/** One target door's status. */
export function deriveDoorStatus(input: KeyStatusInput, target: TargetDoor): DoorStatus {
  const c = doorContext(input, target.doorId);
  const base = {
    doorId: target.doorId,
    linked: target.linked,
    validFrom: formatEpochSeconds(target.window.validFrom),
    validUntil: formatEpochSeconds(target.window.validUntil),
  };
  const result = (state: DoorState, reasons: DoorReason[]): DoorStatus => ({ ...base, state, reasons });
  const activation = keyActivation(input.key, input.lifecycle);

  if (activation.state === "revoked") return revokingOrRevoked(input, target.doorId, target.linked, base);

  const blockers: DoorReason[] = [];
  if (!commissioned(c)) blockers.push("not_commissioned");
  if (!target.allowProvisioning) blockers.push("provisioning_disabled");
  if (offline(c)) blockers.push("lock_offline");

  if (activation.state === "inactive") return result("inactive", ["not_checked_in", ...blockers]);
  const window = windowState(target.window, input.nowMs);
  if (window === "ended") return result("inactive", ["access_period_ended"]);
  if (!commissioned(c)) return result("pending", ["not_commissioned"]);
  if (!target.allowProvisioning) return result("pending", blockers);

  const types = wantedTypes(input.site, input.key);
  const siteDisabled = CREDENTIAL_TYPES.some((t) => input.key[t].enabled && !input.site.credentialTypes[t]);
  if (types.length === 0 && siteDisabled) return result("pending", ["credential_type_disabled"]);

  const failed = new Set<DoorReason>();
  let pending = false;
  for (const type of types) {
    if (!secretReady(type, input)) {
      if (type === "doorCode") failed.add("code_unavailable");
      if (type === "keycard") failed.add("keycard_unavailable");
      // smartKey without a (valid) public key: its own state is pending; the door is not held back.
      continue;
    }
    const fact = c.lockId === null ? undefined : input.facts.credential(c.lockId, credentialRef(input.key.keyId, type));
    if (fact?.state === "failed") failed.add(fact.reason);
    else if (fact?.state !== "verified") pending = true;
  }
  if (failed.size > 0) return result("failed", FAIL_ORDER.filter((r) => failed.has(r)));
  if (pending) return result("pending", offline(c) ? ["lock_offline"] : []);
  if (window === "not_started") return result("inactive", ["access_period_not_started"]);
  return result("active", []);
}

function revokingOrRevoked(input: KeyStatusInput, doorId: string, linked: boolean, base: Partial<DoorStatus> = {}): DoorStatus {
  const c = doorContext(input, doorId);
  const stillThere =
    c.lockId !== null && CREDENTIAL_TYPES.some((t) => c.lockId !== null && input.facts.credential(c.lockId, credentialRef(input.key.keyId, t)) !== undefined);
  return stillThere
    ? { ...base, doorId, linked, state: "revoking", reasons: offline(c) ? ["lock_offline"] : [] }
    : { ...base, doorId, linked, state: "revoked", reasons: [] };
}

/** Deliverable doors of a credential type: live key, commissioned lock, provisioning allowed, window not ended. */
function deliverableDoors(input: KeyStatusInput, targets: readonly TargetDoor[]): { target: TargetDoor; c: DoorContext }[] {
  return targets
    .map((target) => ({ target, c: doorContext(input, target.doorId) }))
    .filter(({ target, c }) => commissioned(c) && target.allowProvisioning && windowState(target.window, input.nowMs) !== "ended");
}

type Delivery = { kind: "failed"; reason: string } | { kind: "offline" } | { kind: "ok"; everywhere: boolean };

/** How one credential type is doing across the key's deliverable doors. */
function delivery(input: KeyStatusInput, type: CredentialType, targets: readonly TargetDoor[]): Delivery {
  const ref = credentialRef(input.key.keyId, type);
  const doors = deliverableDoors(input, targets);
  let verified = 0;
  let onlineWaiting = 0;
  for (const { c } of doors) {
    const fact = c.lockId === null ? undefined : input.facts.credential(c.lockId, ref);
    if (fact?.state === "failed") return { kind: "failed", reason: fact.reason };
    if (fact?.state === "verified") verified++;
    else if (!offline(c)) onlineWaiting++;
  }
  if (doors.length > 0 && verified === 0 && onlineWaiting === 0) return { kind: "offline" };
  return { kind: "ok", everywhere: verified === doors.length };
}

function assignmentStatus(
  input: KeyStatusInput,
  type: "doorCode" | "keycard",
  targets: readonly TargetDoor[],
): { state: CredentialAssignmentState; code?: string; cardId?: string; reason?: string } {
  if (!input.key[type].enabled) return { state: "disabled" };
  if (!input.site.credentialTypes[type]) return { state: "disabled", reason: "credential_type_disabled" };
  const activation = keyActivation(input.key, input.lifecycle).state;
  if (activation === "revoked") return { state: "unassigned", reason: "key_revoked" };
  let shown: { code: string } | { cardId: string };
  if (type === "doorCode") {
    if (input.doorCode.state !== "assigned") return { state: "unassigned", reason: "code_unavailable" };
    shown = { code: input.doorCode.code };
  } else {
    if (input.keycard.state !== "assigned") return { state: "unassigned", reason: "keycard_unavailable" };
    shown = { cardId: input.keycard.card.cardId };
  }
  // Before check-in the code/card is decided but deliberately not on the locks yet.
  if (activation === "inactive") return { state: "assigned", ...shown };
  const d = delivery(input, type, targets);
  if (d.kind === "failed") return { state: "failed", reason: d.reason, ...shown };
  // Not on any lock yet and every lock is offline: the guest would get a code that does not
  // open anything yet (the article's "No Doorcode Assigned ... lock is offline").
  if (d.kind === "offline") return { state: "unassigned", reason: "lock_offline" };
  return { state: "assigned", ...shown };
}

function smartKeyStatus(input: KeyStatusInput, targets: readonly TargetDoor[]): { state: SmartKeyState; reason?: string } {
  if (!input.key.smartKey.enabled) return { state: "disabled" };
  if (!input.site.credentialTypes.smartKey) return { state: "disabled", reason: "credential_type_disabled" };
  if (keyActivation(input.key, input.lifecycle).state === "revoked") return { state: "disabled", reason: "key_revoked" };
  if (input.key.smartKey.publicKey === undefined || input.key.smartKey.publicKey === "") return { state: "pending", reason: "awaiting_public_key" };
  if (!secretReady("smartKey", input)) return { state: "failed", reason: "invalid_public_key" };
  if (keyActivation(input.key, input.lifecycle).state === "inactive") return { state: "pending", reason: "not_checked_in" };
  const d = delivery(input, "smartKey", targets);
  if (d.kind === "failed") return { state: "failed", reason: d.reason };
  if (d.kind === "offline") return { state: "pending", reason: "lock_offline" };
  // "ready once every door has it" — and at least one door must exist to have it.
  if (deliverableDoors(input, targets).length > 0 && d.everywhere) return { state: "ready" };
  return { state: "pending" };
}

/** The key status payload (mqtt-api.md §4). */
export function deriveKeyStatus(input: KeyStatusInput): KeyStatus {
  const { targets } = targetDoors(input.key, input.doors, input.site.timezone);
  const doors: DoorStatus[] = targets.map((t) => deriveDoorStatus(input, t));
  const targetIds = new Set(targets.map((t) => t.doorId));
  for (const former of input.formerDoors ?? []) {
    if (targetIds.has(former.doorId)) continue;
    const s = revokingOrRevoked(input, former.doorId, former.linked);
    // A door the key no longer has, once cleared, drops out of the status.
    if (s.state === "revoking") doors.push(s);
  }
  const activation = keyActivation(input.key, input.lifecycle);
  const state = worstState(doors.map((d) => d.state)) ?? (activation.state === "revoked" ? "revoked" : "inactive");
  return {
    keyId: input.key.keyId,
    version: input.key.version,
    state,
    doors,
    doorCode: assignmentStatus(input, "doorCode", targets),
    keycard: assignmentStatus(input, "keycard", targets),
    smartKey: smartKeyStatus(input, targets),
    updatedAt: formatInstant(input.nowMs),
  };
}

/** A ProvisioningFacts over plain maps (tests, snapshots). Keys of `credentials`: `${lockId}|${ref}`. */
export function factsFromMaps(locks: Iterable<LockFact>, credentials: Iterable<[lockId: string, ref: string, fact: CredentialFact]>): ProvisioningFacts {
  const l = new Map([...locks].map((x) => [x.lockId, x]));
  const c = new Map([...credentials].map(([lockId, ref, fact]) => [`${lockId}|${ref}`, fact]));
  return { lock: (id) => l.get(id), credential: (lockId, ref) => c.get(`${lockId}|${ref}`) };
}
