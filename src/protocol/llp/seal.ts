import { createCipheriv, createDecipheriv } from "node:crypto";
import { LockBridgeError } from "../../shared/errors.js";
import { LINK_KEY_LEN, LOCK_ID_LEN, SEAL_TAG_LEN } from "./constants.js";

/**
 * AES-128-CCM sealing (lock-link-protocol.md §4).
 * body = counter u32 || ciphertext || tag(8); nonce = DIR || lockId(8) || counter u32;
 * AAD = ADDR || CTRL || CMD.
 *
 * Per frame: one cipher (CCM takes a new nonce per message) and the output buffer. The nonce
 * and the AAD are written into two module buffers that `createCipheriv`/`setAAD` consume
 * before returning (all of this is synchronous), so they are not allocated per frame.
 */
export interface SealParams {
  linkKey: Uint8Array;
  /** 8 bytes, as sent in IDENT. */
  lockId: Uint8Array;
  fromLock: boolean;
  counter: number;
  addr: number;
  ctrl: number;
  cmd: number;
}

const NONCE = Buffer.alloc(13);
const AAD = Buffer.alloc(3);

function nonce(fromLock: boolean, lockId: Uint8Array, counter: number): Buffer {
  if (lockId.length !== LOCK_ID_LEN) throw new LockBridgeError("frame_invalid", "lockId must be 8 bytes");
  NONCE[0] = fromLock ? 1 : 0;
  NONCE.set(lockId, 1);
  NONCE.writeUInt32LE(counter >>> 0, 9);
  return NONCE;
}

function aad(addr: number, ctrl: number, cmd: number): Buffer {
  AAD[0] = addr;
  AAD[1] = ctrl;
  AAD[2] = cmd;
  return AAD;
}

function checkKey(key: Uint8Array): void {
  if (key.length !== LINK_KEY_LEN) throw new LockBridgeError("frame_invalid", "link key must be 16 bytes");
}

export function sealBody(p: SealParams, plain: Uint8Array): Buffer {
  checkKey(p.linkKey);
  const cipher = createCipheriv("aes-128-ccm", p.linkKey, nonce(p.fromLock, p.lockId, p.counter), { authTagLength: SEAL_TAG_LEN });
  cipher.setAAD(aad(p.addr, p.ctrl, p.cmd), { plaintextLength: plain.length });
  const ct = cipher.update(plain);
  const rest = cipher.final(); // CCM: empty (update gave it all); the tag is computed here
  const out = Buffer.allocUnsafe(4 + ct.length + rest.length + SEAL_TAG_LEN);
  out.writeUInt32LE(p.counter >>> 0, 0);
  out.set(ct, 4);
  out.set(rest, 4 + ct.length);
  out.set(cipher.getAuthTag(), 4 + ct.length + rest.length);
  return out;
}

/** Returns the counter and plaintext, or null when the tag does not verify. */
export function openBody(
  p: Omit<SealParams, "counter">,
  sealed: Uint8Array,
): { counter: number; plain: Buffer } | null {
  checkKey(p.linkKey);
  if (sealed.length < 4 + SEAL_TAG_LEN) return null;
  // A view, not a copy: nothing here writes into it.
  const buf = Buffer.isBuffer(sealed) ? sealed : Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const counter = buf.readUInt32LE(0);
  const ct = buf.subarray(4, buf.length - SEAL_TAG_LEN);
  const tag = buf.subarray(buf.length - SEAL_TAG_LEN);
  try {
    const d = createDecipheriv("aes-128-ccm", p.linkKey, nonce(p.fromLock, p.lockId, counter), { authTagLength: SEAL_TAG_LEN });
    d.setAuthTag(tag);
    d.setAAD(aad(p.addr, p.ctrl, p.cmd), { plaintextLength: ct.length });
    const plain = d.update(ct);
    d.final();
    return { counter, plain };
  } catch {
    // A failed tag is an expected outcome on a hostile or noisy link: the caller counts it.
    return null;
  }
}
