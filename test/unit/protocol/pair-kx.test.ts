/**
 * LLP v1.1 §8 PAIR_KX: the spec's test vector byte for byte, from the hub's side and the
 * lock's side, and the property that matters: a peer without the setup key cannot confirm.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Cmd, confirmMatches, decodeFrame, decodePairKxAck, derivePairKx, encodeFrame, encodePairKxAck, freshKxKeyPair, kxKeyPairFromPrivate, PAIR_KX_CMD } from "../../../src/protocol/llp/index.js";

const vectors = JSON.parse(readFileSync(new URL("../../../../shared/spec/llp-test-vectors.json", import.meta.url), "utf8")) as {
  pairKx: Record<"lockId" | "setupKey" | "hubPrivateKey" | "lockPrivateKey" | "hubPub" | "lockPub" | "shared" | "linkKey" | "confirm" | "requestFrame" | "ackFrame", string> & { addr: number; seq: number };
};
const v = vectors.pairKx;
const hex = (s: string) => Buffer.from(s, "hex");

describe("PAIR_KX (LLP v1.1 §8) test vector", () => {
  const hub = kxKeyPairFromPrivate(hex(v.hubPrivateKey));
  const lock = kxKeyPairFromPrivate(hex(v.lockPrivateKey));
  const ctx = { lockId: hex(v.lockId), setupKey: hex(v.setupKey), hubPub: hub.publicKey, lockPub: lock.publicKey };

  it("derives both public keys from the private keys", () => {
    expect(hub.publicKey.toString("hex")).toBe(v.hubPub);
    expect(lock.publicKey.toString("hex")).toBe(v.lockPub);
  });

  it("the hub's request frame is byte for byte the vector", () => {
    const frame = encodeFrame({ addr: v.addr, fromLock: false, sec: false, seq: v.seq, cmd: PAIR_KX_CMD, body: hub.publicKey });
    expect(frame.toString("hex")).toBe(v.requestFrame);
  });

  it("both sides compute the vector's shared secret, link key and confirm", () => {
    for (const own of [hub.privateKey, lock.privateKey]) {
      const s = derivePairKx(own, ctx);
      expect(s.shared.toString("hex")).toBe(v.shared);
      expect(s.linkKey.toString("hex")).toBe(v.linkKey);
      expect(s.confirm.toString("hex")).toBe(v.confirm);
    }
  });

  it("the lock's ACK frame is byte for byte the vector, and the hub reads it back", () => {
    const { confirm } = derivePairKx(lock.privateKey, ctx);
    const frame = encodeFrame({ addr: v.addr, fromLock: true, sec: false, seq: v.seq, cmd: Cmd.ACK, body: encodePairKxAck({ lockPub: lock.publicKey, confirm }) });
    expect(frame.toString("hex")).toBe(v.ackFrame);
    const ack = decodePairKxAck(decodeFrame(hex(v.ackFrame)).body);
    expect(ack.lockPub.toString("hex")).toBe(v.lockPub);
    expect(confirmMatches(derivePairKx(hub.privateKey, { ...ctx, lockPub: ack.lockPub }).confirm, ack.confirm)).toBe(true);
  });
});

describe("PAIR_KX against an impostor", () => {
  it("a peer without the setup key cannot produce a confirm the hub accepts", () => {
    const lockId = hex("4c42000000000001");
    const setupKey = hex("000102030405060708090a0b0c0d0e0f");
    const hub = freshKxKeyPair();
    const impostor = freshKxKeyPair();
    const guess = derivePairKx(impostor.privateKey, { lockId, setupKey: Buffer.alloc(16, 0xaa), hubPub: hub.publicKey, lockPub: impostor.publicKey });
    const expected = derivePairKx(hub.privateKey, { lockId, setupKey, hubPub: hub.publicKey, lockPub: impostor.publicKey });
    expect(confirmMatches(expected.confirm, guess.confirm)).toBe(false);
    expect(guess.linkKey.equals(expected.linkKey)).toBe(false);
  });

  it("refuses bodies of the wrong size with a clear error", () => {
    expect(() => decodePairKxAck(Buffer.alloc(47))).toThrow(/PAIR_KX ACK body must be 48 bytes, got 47/);
    expect(() => kxKeyPairFromPrivate(Buffer.alloc(31))).toThrow(/private key must be 32 bytes/);
  });
});
