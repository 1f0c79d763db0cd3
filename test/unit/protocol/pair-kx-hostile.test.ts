import { describe, expect, it } from "vitest";
import { derivePairKx, freshKxKeyPair } from "../../../src/protocol/llp/pair-kx.js";
import { LockBridgeError } from "../../../src/shared/errors.js";

// An impostor answering PAIR_KX may send a low-order X25519 point as lockPub, hoping for a
// predictable (all-zero) shared secret. The derivation must refuse it with a named error the
// hub can treat as an unconfirmed pairing, never a bare OpenSSL error.
describe("PAIR_KX against a hostile lockPub", () => {
  const lowOrder = [
    "00".repeat(32),
    "01" + "00".repeat(31),
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  ];
  for (const hex of lowOrder) {
    it(`refuses the low-order point ${hex.slice(0, 8)}…`, () => {
      const hub = freshKxKeyPair();
      const ctx = { lockId: Buffer.alloc(8, 1), setupKey: Buffer.alloc(16, 2), hubPub: hub.publicKey, lockPub: Buffer.from(hex, "hex") };
      let caught: unknown;
      try {
        derivePairKx(hub.privateKey, ctx);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(LockBridgeError);
      expect((caught as LockBridgeError).message).toMatch(/low-order/);
    });
  }
});
