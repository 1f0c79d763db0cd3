import { createHash } from "node:crypto";
import { ByteWriter } from "./bytes.js";

/** First 4 bytes of SHA-256(secret) (lock-link-protocol.md §3). */
export function secretDigest(secret: Uint8Array): Buffer {
  return createHash("sha256").update(secret).digest().subarray(0, 4);
}

export interface DigestEntry {
  slot: number;
  validFrom: number;
  validUntil: number;
  flags: number;
  secretDigest: Uint8Array;
}

/** TABLE_DIGEST: first 8 bytes of SHA-256 over the used slots in ascending slot order. */
export function tableDigest(entries: readonly DigestEntry[]): Buffer {
  const w = new ByteWriter();
  for (const e of [...entries].sort((a, b) => a.slot - b.slot)) {
    w.u16(e.slot).u32(e.validFrom).u32(e.validUntil).u8(e.flags).bytes(e.secretDigest);
  }
  return createHash("sha256").update(w.build()).digest().subarray(0, 8);
}
