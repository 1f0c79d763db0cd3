import { createPublicKey, createPrivateKey, KeyObject, randomBytes, sign, verify } from "node:crypto";
import { Capability, CredentialKind, DenyReason, EventType, PutFlag, UNKNOWN_SLOT } from "../../src/protocol/llp/index.js";
import type { LockContext } from "./context.js";
import { withinWindow, type CredentialTable } from "./credential-table.js";

/** What happened at the door, as the lock logged it. */
export type AccessResult =
  | { granted: true; kind: number; slot: number }
  | { granted: false; kind: number; slot: number; reason: number };

const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** A stored mobile key (raw 32-byte Ed25519 public key) as a KeyObject; undefined when it is not a key. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject | undefined {
  try {
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
  } catch {
    // Any 32 bytes can be PUT as a mobile key; one that is not a valid point simply never matches.
    return undefined;
  }
}

/** A phone's private key: a KeyObject, or the raw 32-byte seed (Buffer, hex or base64). */
export type PhonePrivateKey = KeyObject | Uint8Array | string;

export function ed25519PrivateKey(k: PhonePrivateKey): KeyObject {
  if (k instanceof KeyObject) return k;
  const raw = typeof k === "string" ? (/^[0-9a-f]{64}$/i.test(k) ? Buffer.from(k, "hex") : Buffer.from(k, "base64")) : Buffer.from(k);
  if (raw.length !== 32) throw new RangeError("an Ed25519 private key seed is 32 bytes");
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
}

/** The raw 32-byte public key of a phone's private key (what the hub PUTs as the mobile key secret). */
export function ed25519RawPublicKey(k: PhonePrivateKey): Buffer {
  const der = createPublicKey(ed25519PrivateKey(k)).export({ format: "der", type: "spki" });
  return Buffer.from(der.subarray(der.length - 32));
}

/** The phone's side of the challenge. */
export function signChallenge(k: PhonePrivateKey, challenge: Uint8Array): Buffer {
  return sign(null, challenge, ed25519PrivateKey(k));
}

function requireCapability(ctx: LockContext, bit: number, what: string): void {
  if ((ctx.profile.capabilities & bit) === 0) throw new Error(`lock ${ctx.state.lockId.toString("hex")} has no ${what}`);
}

function decide(ctx: LockContext, kind: number, table: CredentialTable, slot: number | undefined): AccessResult {
  if (slot === undefined) return deny(ctx, kind, UNKNOWN_SLOT, DenyReason.UNKNOWN_CREDENTIAL);
  const c = table.get(slot)!;
  if (!withinWindow(c, ctx.clock.nowSec())) return deny(ctx, kind, slot, DenyReason.OUTSIDE_WINDOW);
  ctx.logEvent({ type: EventType.ACCESS_GRANTED, kind, slot });
  if ((c.flags & PutFlag.ONE_TIME) !== 0) table.delete(slot);
  ctx.releaseLatch(ctx.options.unlockSeconds);
  ctx.drainBattery(ctx.options.batteryDrainPerUnlock);
  return { granted: true, kind, slot };
}

function deny(ctx: LockContext, kind: number, slot: number, reason: number): AccessResult {
  ctx.logEvent({ type: EventType.ACCESS_DENIED, kind, slot, reason });
  return { granted: false, kind, slot, reason };
}

/** A guest types a code on the keypad. */
export function enterCode(ctx: LockContext, code: string): AccessResult {
  requireCapability(ctx, Capability.DOOR_CODES, "keypad");
  const kind = CredentialKind.DOOR_CODE;
  const table = ctx.table(kind)!;
  if (!/^[0-9]*$/.test(code)) throw new RangeError("a keypad has digits only");
  if (code.length < ctx.profile.codeMinLen || code.length > ctx.profile.codeMaxLen) {
    return deny(ctx, kind, UNKNOWN_SLOT, DenyReason.WRONG_CODE_LENGTH);
  }
  return decide(ctx, kind, table, table.findSecret(Buffer.from(code, "ascii")));
}

/** A guest holds a keycard to the reader. */
export function presentCard(ctx: LockContext, uidHex: string): AccessResult {
  requireCapability(ctx, Capability.KEYCARDS, "card reader");
  const uid = uidHex.replace(/[\s:]/g, "");
  if (!/^([0-9a-f]{2})+$/i.test(uid)) throw new RangeError("a card UID is hex bytes");
  const kind = CredentialKind.KEYCARD;
  const table = ctx.table(kind)!;
  return decide(ctx, kind, table, table.findSecret(Buffer.from(uid, "hex")));
}

/** The lock's half of a phone unlock: a fresh challenge. */
export function issueChallenge(): Buffer {
  return randomBytes(16);
}

/** The lock verifies the phone's signature against every stored mobile key. */
export function verifyPhone(ctx: LockContext, challenge: Uint8Array, signature: Uint8Array): AccessResult {
  requireCapability(ctx, Capability.MOBILE_KEYS, "BLE mobile key support");
  const kind = CredentialKind.MOBILE_KEY;
  const table = ctx.table(kind)!;
  let match: number | undefined;
  for (const [slot, c] of table.entries()) {
    const pub = ed25519PublicKey(c.secret);
    if (pub && signature.length === 64 && verify(null, challenge, pub, signature)) {
      match = slot;
      break;
    }
  }
  return decide(ctx, kind, table, match);
}
