/**
 * What a key puts on each lock: the bridge from the desired state (site, doors, key) to the
 * per-lock credential tables that plan.ts reconciles. The engine concatenates the results of
 * every key for a lock to get that lock's desired table.
 *
 * A key's credential goes to a target door's lock when: the key is live (checked in, not
 * removed or checked out), the door entry allows provisioning, the door has a commissioned
 * lock, the window has not ended (ended credentials leave the lock to free its slots; a
 * window not yet started IS provisioned, the lock enforces validFrom), the credential type is
 * enabled for the site and the key, and its secret is known (code allocated, card assigned,
 * public key valid).
 */
import { holdsCredentials, type KeyActivation } from "./key-activation.js";
import type { TargetDoor } from "./linked-doors.js";
import { CREDENTIAL_TYPES, type CredentialType, type Door, type Key, type Site } from "./model.js";
import { credentialRef, type DesiredCredential } from "./plan.js";
import { windowState } from "./windows.js";

/** The secrets the hub decided or looked up for a key. */
export interface KeySecrets {
  /** The allocated door code. */
  doorCode?: string | undefined;
  /** The assigned keycard's UID (hex). */
  keycardUid?: string | undefined;
}

export interface KeyCredentialsInput {
  site: Site;
  key: Key;
  activation: KeyActivation;
  /** From targetDoors(). */
  targets: readonly TargetDoor[];
  doors: ReadonlyMap<string, Door>;
  isCommissioned(lockId: string): boolean;
  secrets: KeySecrets;
  nowMs: number;
}

export interface LockCredentials {
  lockId: string;
  doorId: string;
  credentials: DesiredCredential[];
}

/** Credential types enabled both for the site and in the key. */
export function wantedTypes(site: Pick<Site, "credentialTypes">, key: Pick<Key, "doorCode" | "keycard" | "smartKey">): CredentialType[] {
  return CREDENTIAL_TYPES.filter((t) => site.credentialTypes[t] && key[t].enabled);
}

export function doorCodeSecret(code: string | undefined): Uint8Array | undefined {
  return code !== undefined && /^\d{4,12}$/.test(code) ? Buffer.from(code, "ascii") : undefined;
}

/** Card UID hex, 4..10 bytes (contract). */
export function keycardSecret(uidHex: string | undefined): Uint8Array | undefined {
  if (uidHex === undefined || !/^([0-9a-fA-F]{2}){4,10}$/.test(uidHex)) return undefined;
  return Buffer.from(uidHex, "hex");
}

/** Base64 Ed25519 public key: exactly 32 bytes. */
export function smartKeySecret(publicKey: string | undefined): Uint8Array | undefined {
  if (publicKey === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(publicKey)) return undefined;
  const b = Buffer.from(publicKey, "base64");
  return b.length === 32 ? b : undefined;
}

/** The secret of one credential type of a key, if known and valid. */
export function secretOf(type: CredentialType, key: Key, secrets: KeySecrets): Uint8Array | undefined {
  switch (type) {
    case "doorCode":
      return doorCodeSecret(secrets.doorCode);
    case "keycard":
      return keycardSecret(secrets.keycardUid);
    case "smartKey":
      return smartKeySecret(key.smartKey.publicKey);
  }
}

/** Why a target door gets nothing from this key (undefined: it gets its credentials). */
export type NoDeliveryReason = "key_not_live" | "provisioning_disabled" | "not_commissioned" | "access_period_ended";

export function deliveryBlocker(input: Omit<KeyCredentialsInput, "targets" | "secrets" | "site" | "key">, target: TargetDoor): NoDeliveryReason | undefined {
  if (!holdsCredentials(input.activation)) return "key_not_live";
  const lockId = input.doors.get(target.doorId)?.lockId ?? null;
  if (lockId === null || !input.isCommissioned(lockId)) return "not_commissioned";
  if (!target.allowProvisioning) return "provisioning_disabled";
  if (windowState(target.window, input.nowMs) === "ended") return "access_period_ended";
  return undefined;
}

/** The credentials this key puts on each of its target doors' locks. */
export function keyCredentials(input: KeyCredentialsInput): LockCredentials[] {
  const types = wantedTypes(input.site, input.key);
  const out: LockCredentials[] = [];
  for (const target of input.targets) {
    if (deliveryBlocker(input, target) !== undefined) continue;
    const lockId = input.doors.get(target.doorId)?.lockId;
    if (lockId === undefined || lockId === null) continue;
    const credentials: DesiredCredential[] = [];
    for (const type of types) {
      const secret = secretOf(type, input.key, input.secrets);
      if (!secret) continue;
      credentials.push({ kind: type, ref: credentialRef(input.key.keyId, type), secret, validFrom: target.window.validFrom, validUntil: target.window.validUntil, flags: 0 });
    }
    out.push({ lockId, doorId: target.doorId, credentials });
  }
  return out;
}
