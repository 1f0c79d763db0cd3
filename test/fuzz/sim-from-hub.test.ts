/**
 * Fuzz: the lock simulator against anything a hub (or an attacker on the bus) can send —
 * random bytes, random frames with valid CRCs (sealed with the right key or not), and valid
 * requests with bit flips. Properties: no crash, an answer is a well-formed frame from the
 * lock, and nothing unsealed, corrupted or malformed changes the paired lock's credential
 * tables or link key.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CredentialKind, decodeFrame, encodeFrame, encodeMessage, type Frame } from "../../src/protocol/llp/index.js";
import type { SimLock } from "../../sim/index.js";
import { KEY, code, lockHarness } from "../helpers/sim-harness.js";
import { FUZZ_TIMEOUT_MS, fuzzParams } from "./runs.js";

const LOCK_ID = "4c42000000000001";

/** What a hub cannot change without the link key: the tables, the key, the latch. */
function lockState(lock: SimLock): string {
  const kinds = [CredentialKind.DOOR_CODE, CredentialKind.KEYCARD, CredentialKind.MOBILE_KEY];
  return JSON.stringify({
    slots: kinds.map((k) => lock.slots(k).map((s) => ({ ...s, secretDigest: Buffer.from(s.secretDigest).toString("hex") }))),
    key: lock.linkKey?.toString("hex") ?? null,
    unlocked: lock.unlocked,
  });
}

function pairedLock(): ReturnType<typeof lockHarness> {
  const h = lockHarness({ paired: true });
  h.ok(code(0, "482916"));
  return h;
}

function answerIsWellFormed(answer: Buffer | null): void {
  if (answer === null) return;
  const f = decodeFrame(answer);
  expect(f.fromLock).toBe(true);
}

const headArb = fc.record({ seq: fc.integer({ min: 0, max: 15 }), cmd: fc.integer({ min: 0, max: 255 }), body: fc.uint8Array({ maxLength: 120 }) });

describe("fuzz: simulator from the hub side", () => {
  it("random bytes: no crash, nothing changes", () => {
    const h = pairedLock();
    const before = lockState(h.lock);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        answerIsWellFormed(h.lock.handleRequest(bytes));
        expect(lockState(h.lock)).toBe(before);
      }),
      fuzzParams(2_000),
    );
  }, FUZZ_TIMEOUT_MS);

  it("unsealed frames with valid CRC and any command/body: a paired lock answers or refuses, and changes nothing", () => {
    const h = pairedLock();
    const before = lockState(h.lock);
    fc.assert(
      fc.property(headArb, ({ seq, cmd, body }) => {
        const bytes = encodeMessage({ addr: h.lock.address, fromLock: false, seq, cmd }, body);
        answerIsWellFormed(h.lock.handleRequest(bytes));
        expect(lockState(h.lock)).toBe(before);
      }),
      fuzzParams(2_000),
    );
  }, FUZZ_TIMEOUT_MS);

  it("sealed with the wrong key or a stale counter: nothing changes", () => {
    const h = pairedLock();
    const before = lockState(h.lock);
    fc.assert(
      fc.property(headArb, fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat({ max: 3 }), ({ seq, cmd, body }, wrongKey, counter) => {
        const key = Buffer.from(wrongKey).equals(Buffer.from(KEY, "hex")) ? Buffer.alloc(16, 0xee) : wrongKey;
        const bytes = encodeMessage({ addr: h.lock.address, fromLock: false, seq, cmd }, body, { linkKey: key, lockId: Buffer.from(LOCK_ID, "hex"), counter });
        answerIsWellFormed(h.lock.handleRequest(bytes));
        expect(lockState(h.lock)).toBe(before);
      }),
      fuzzParams(2_000),
    );
  }, FUZZ_TIMEOUT_MS);

  it("sealed with the right key and any command/body: no crash, answers well-formed", () => {
    const h = pairedLock();
    let counter = 1_000;
    fc.assert(
      fc.property(headArb, ({ seq, cmd, body }) => {
        const bytes = encodeMessage({ addr: h.lock.address, fromLock: false, seq, cmd }, body, {
          linkKey: Buffer.from(KEY, "hex"),
          lockId: Buffer.from(LOCK_ID, "hex"),
          counter: counter++,
        });
        answerIsWellFormed(h.lock.handleRequest(bytes));
      }),
      fuzzParams(2_000),
    );
  }, FUZZ_TIMEOUT_MS);

  it("valid sealed PUT_CREDENTIAL with a flipped bit: refused or dropped, nothing changes", () => {
    const h = pairedLock();
    const before = lockState(h.lock);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 7 }), (at, bit) => {
        const bytes = Buffer.from(h.peer.encode(code(1, "735104")));
        const i = 1 + (at % (bytes.length - 1)); // after SOF: a lost SOF is plain loss
        bytes[i]! ^= 1 << bit;
        const frame: Frame | null = (() => {
          try {
            return decodeFrame(bytes);
          } catch {
            return null;
          }
        })();
        answerIsWellFormed(h.lock.handleRequest(frame ? encodeFrame(frame) : bytes));
        expect(lockState(h.lock)).toBe(before);
      }),
      fuzzParams(2_000),
    );
  }, FUZZ_TIMEOUT_MS);
});
