/**
 * PAIR_KX (0x60), authenticated pairing (lock-link-protocol.md v1.1 §8): an X25519 key
 * agreement whose result is bound to the lock's setup key, so that only a lock that knows the
 * key printed on its label can answer with a valid confirm, and nothing on the link learns the
 * link key by listening. Pure: private keys are handed in (fresh per pairing; fixed in the
 * spec's vectors), nothing is stored.
 *
 * The byte-exact core both sides share: the hub's LockClient.pairKx and the simulator's lock.
 */
import { createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, timingSafeEqual, type KeyObject } from "node:crypto";
import { LockBridgeError } from "../../shared/errors.js";
import { LINK_KEY_LEN, LOCK_ID_LEN } from "./constants.js";

export const PAIR_KX_CMD = 0x60; // = Cmd.PAIR_KX
export const X25519_KEY_LEN = 32;
export const SETUP_KEY_LEN = 16;
export const PAIR_KX_CONFIRM_LEN = 16;

/** PKCS#8 DER prefix of a raw 32-byte X25519 private key (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
/** SPKI DER prefix of a raw 32-byte X25519 public key. */
const X25519_SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

export interface KxKeyPair {
  privateKey: KeyObject;
  /** The raw 32-byte public key, as it travels in PAIR_KX. */
  publicKey: Buffer;
}

/** A fresh key pair for one pairing (never stored). */
export function freshKxKeyPair(): KxKeyPair {
  const { privateKey } = generateKeyPairSync("x25519");
  return { privateKey, publicKey: rawPublicKey(privateKey) };
}

/** A key pair from raw private bytes (the spec's vectors; a simulator with a seeded PRNG). */
export function kxKeyPairFromPrivate(raw: Uint8Array): KxKeyPair {
  checkLength(raw, X25519_KEY_LEN, "X25519 private key");
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
  return { privateKey, publicKey: rawPublicKey(privateKey) };
}

function rawPublicKey(privateKey: KeyObject): Buffer {
  const der = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return Buffer.from(der.subarray(der.length - X25519_KEY_LEN));
}

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) throw new LockBridgeError("frame_invalid", `${what} must be ${length} bytes, got ${bytes.length}`);
}

/** The lock's ACK body: lockPub (32) || confirm (16). */
export interface PairKxAck {
  lockPub: Buffer;
  confirm: Buffer;
}

export function encodePairKxAck(ack: PairKxAck): Buffer {
  checkLength(ack.lockPub, X25519_KEY_LEN, "lockPub");
  checkLength(ack.confirm, PAIR_KX_CONFIRM_LEN, "confirm");
  return Buffer.concat([ack.lockPub, ack.confirm]);
}

export function decodePairKxAck(body: Uint8Array): PairKxAck {
  checkLength(body, X25519_KEY_LEN + PAIR_KX_CONFIRM_LEN, "PAIR_KX ACK body");
  return { lockPub: Buffer.from(body.subarray(0, X25519_KEY_LEN)), confirm: Buffer.from(body.subarray(X25519_KEY_LEN)) };
}

export interface PairKxContext {
  /** 8 bytes, as in IDENT. */
  lockId: Uint8Array;
  setupKey: Uint8Array;
  hubPub: Uint8Array;
  lockPub: Uint8Array;
}

export interface PairKxSecrets {
  /** The X25519 result (the spec's vectors show it; nothing else uses it). */
  shared: Buffer;
  linkKey: Buffer;
  /** What a lock that knows the setup key answers (first 16 bytes of the HMAC). */
  confirm: Buffer;
}

/** Both sides: shared = X25519(own private, peer public); then HKDF and the confirm of §8. */
export function derivePairKx(ownPrivate: KeyObject, ctx: PairKxContext): PairKxSecrets {
  checkLength(ctx.lockId, LOCK_ID_LEN, "lockId");
  checkLength(ctx.setupKey, SETUP_KEY_LEN, "setup key");
  checkLength(ctx.hubPub, X25519_KEY_LEN, "hubPub");
  checkLength(ctx.lockPub, X25519_KEY_LEN, "lockPub");
  const ownPub = rawPublicKey(ownPrivate);
  const peer = ownPub.equals(Buffer.from(ctx.hubPub)) ? ctx.lockPub : ctx.hubPub;
  const publicKey = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, peer]), format: "der", type: "spki" });
  // A low-order point (all zeros, or one of the few small-subgroup points) gives an all-zero
  // shared secret, which OpenSSL refuses with a bare Error: name the field instead, so the hub
  // treats it as any other unconfirmed pairing and nothing else above has to know OpenSSL.
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: ownPrivate, publicKey });
  } catch {
    throw new LockBridgeError("frame_invalid", "PAIR_KX public key is a low-order point: no key agreement possible");
  }
  const info = Buffer.concat([Buffer.from("LLP1.1 pair", "ascii"), ctx.lockId, ctx.hubPub, ctx.lockPub]);
  const okm = Buffer.from(hkdfSync("sha256", shared, ctx.setupKey, info, LINK_KEY_LEN + 32));
  const linkKey = okm.subarray(0, LINK_KEY_LEN);
  const confirmKey = okm.subarray(LINK_KEY_LEN);
  const confirm = createHmac("sha256", confirmKey)
    .update(Buffer.concat([Buffer.from("lock", "ascii"), ctx.hubPub, ctx.lockPub]))
    .digest()
    .subarray(0, PAIR_KX_CONFIRM_LEN);
  return { shared: Buffer.from(shared), linkKey: Buffer.from(linkKey), confirm: Buffer.from(confirm) };
}

/** Hub side: does the lock's confirm prove the setup key? Constant-time (§8). */
export function confirmMatches(expected: Uint8Array, received: Uint8Array): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}
