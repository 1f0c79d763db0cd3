// Every test vector of lock-link-protocol.md §7, byte for byte, read from the contract's own JSON.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  crc16CcittFalse, decodeFrame, decodeNakBody, decodeRequestBody, encodeFrame, encodeRequest,
  encodeMessage, encodeNakBody, Cmd, NakCode, openFrame, secretDigest, tableDigest,
} from "../../../src/protocol/llp/index.js";

interface Vectors {
  crc16_ccitt_false: { input_ascii: string; crc: string };
  frames: { name: string; hex: string; linkKey?: string; lockId?: string; counter?: number; plainBody?: string }[];
  secretDigest: { secret_ascii: string; digest: string };
  tableDigest: { entries: { slot: number; validFrom: number; validUntil: number; flags: number; secret_ascii: string }[]; digest: string }[];
}

const specPath = fileURLToPath(new URL("../../../../shared/spec/llp-test-vectors.json", import.meta.url));
const vectors = JSON.parse(readFileSync(specPath, "utf8")) as Vectors;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const frame = (name: string) => {
  const f = vectors.frames.find((v) => v.name.startsWith(name));
  if (!f) throw new Error(`vector ${name} missing`);
  return f;
};

describe("LLP v1 test vectors (§7)", () => {
  it("CRC-16/CCITT-FALSE of '123456789'", () => {
    expect(crc16CcittFalse(Buffer.from(vectors.crc16_ccitt_false.input_ascii)).toString(16)).toBe(vectors.crc16_ccitt_false.crc);
  });

  it("IDENT, ADDR 1, SEQ 1", () => {
    expect(hex(encodeRequest(1, 1, { cmd: "IDENT" }))).toBe(frame("IDENT").hex);
  });

  it("STATUS, ADDR 7, SEQ 3", () => {
    expect(hex(encodeRequest(7, 3, { cmd: "STATUS" }))).toBe(frame("STATUS").hex);
  });

  const put = {
    cmd: "PUT_CREDENTIAL" as const, kind: 1, slot: 5, validFrom: 1767279600, validUntil: 1767538800, flags: 0,
    secret: Buffer.from("482916"),
  };

  it("PUT_CREDENTIAL plain encodes and decodes", () => {
    const v = frame("PUT_CREDENTIAL code");
    expect(hex(encodeRequest(1, 2, put))).toBe(v.hex);
    const f = decodeFrame(Buffer.from(v.hex, "hex"));
    expect(decodeRequestBody(f.cmd, f.body)).toEqual({ ...put, secret: Buffer.from("482916") });
  });

  it("PUT_CREDENTIAL sealed with key 00..0f, lockId 4c42000000000001, counter 7", () => {
    const v = frame("PUT_CREDENTIAL sealed");
    const secrets = { linkKey: Buffer.from(v.linkKey!, "hex"), lockId: Buffer.from(v.lockId!, "hex") };
    expect(hex(encodeRequest(1, 2, put, { ...secrets, counter: v.counter! }))).toBe(v.hex);
    const opened = openFrame(decodeFrame(Buffer.from(v.hex, "hex")), secrets);
    expect(opened?.counter).toBe(7);
    expect(hex(opened!.plain)).toBe(v.plainBody);
    // A flipped ciphertext bit must not verify.
    const bad = Buffer.from(v.hex, "hex");
    bad[12]! ^= 0x01;
    const reframed = encodeFrame({ ...decodeFrame(Buffer.from(v.hex, "hex")), body: bad.subarray(6, bad.length - 2) });
    expect(openFrame(decodeFrame(reframed), secrets)).toBeNull();
  });

  it("NAK DUPLICATE_CREDENTIAL, conflicting slot 3", () => {
    const v = frame("NAK");
    const bytes = encodeMessage({ addr: 1, fromLock: true, seq: 2, cmd: Cmd.NAK }, encodeNakBody({ code: NakCode.DUPLICATE_CREDENTIAL, conflictingSlot: 3 }));
    expect(hex(bytes)).toBe(v.hex);
    const f = decodeFrame(bytes);
    expect(f.fromLock).toBe(true);
    expect(decodeNakBody(f.body)).toMatchObject({ name: "DUPLICATE_CREDENTIAL", conflictingSlot: 3 });
  });

  it("secretDigest of '482916'", () => {
    expect(hex(secretDigest(Buffer.from(vectors.secretDigest.secret_ascii)))).toBe(vectors.secretDigest.digest);
  });

  it.each(vectors.tableDigest.map((t, i) => [i, t] as const))("TABLE_DIGEST vector %i", (_i, t) => {
    const entries = t.entries.map((e) => ({ ...e, secretDigest: secretDigest(Buffer.from(e.secret_ascii)) }));
    expect(hex(tableDigest(entries))).toBe(t.digest);
  });
});
