import { createCipheriv, createDecipheriv } from "node:crypto";
import { LockBridgeError } from "../../shared/errors.js";
import { LINK_KEY_LEN, LOCK_ID_LEN, SEAL_TAG_LEN } from "./constants.js";

/**
 * AES-128-CCM sealing (lock-link-protocol.md §4).
 * body = counter u32 || ciphertext || tag(8); nonce = DIR || lockId(8) || counter u32;
 * AAD = ADDR || CTRL || CMD.
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

function nonce(p: Pick<SealParams, "fromLock" | "lockId" | "counter">): Buffer {
  if (p.lockId.length !== LOCK_ID_LEN) throw new LockBridgeError("frame_invalid", "lockId must be 8 bytes");
  const n = Buffer.alloc(13);
  n[0] = p.fromLock ? 1 : 0;
  n.set(p.lockId, 1);
  n.writeUInt32LE(p.counter >>> 0, 9);
  return n;
}

function checkKey(key: Uint8Array): void {
  if (key.length !== LINK_KEY_LEN) throw new LockBridgeError("frame_invalid", "link key must be 16 bytes");
}

export function sealBody(p: SealParams, plain: Uint8Array): Buffer {
  checkKey(p.linkKey);
  const cipher = createCipheriv("aes-128-ccm", p.linkKey, nonce(p), { authTagLength: SEAL_TAG_LEN });
  cipher.setAAD(Buffer.from([p.addr, p.ctrl, p.cmd]), { plaintextLength: plain.length });
  const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(p.counter >>> 0, 0);
  return Buffer.concat([head, ct, cipher.getAuthTag()]);
}

/** Returns the counter and plaintext, or null when the tag does not verify. */
export function openBody(
  p: Omit<SealParams, "counter">,
  sealed: Uint8Array,
): { counter: number; plain: Buffer } | null {
  checkKey(p.linkKey);
  if (sealed.length < 4 + SEAL_TAG_LEN) return null;
  const buf = Buffer.from(sealed);
  const counter = buf.readUInt32LE(0);
  const ct = buf.subarray(4, buf.length - SEAL_TAG_LEN);
  const tag = buf.subarray(buf.length - SEAL_TAG_LEN);
  try {
    const d = createDecipheriv("aes-128-ccm", p.linkKey, nonce({ ...p, counter }), { authTagLength: SEAL_TAG_LEN });
    d.setAuthTag(tag);
    d.setAAD(Buffer.from([p.addr, p.ctrl, p.cmd]), { plaintextLength: ct.length });
    const plain = d.update(ct);
    d.final();
    return { counter, plain };
  } catch {
    // A failed tag is an expected outcome on a hostile or noisy link: the caller counts it.
    return null;
  }
}
