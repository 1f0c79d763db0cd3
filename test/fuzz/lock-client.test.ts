/**
 * Fuzz: the hub's lock client and session (src/lock) against a lying lock side. A paired
 * simulated lock answers over an in-process link whose tap replaces each answer: dropped,
 * truncated, bit-flipped (bad CRC), re-framed with a broken seal (valid CRC), forged unsealed
 * with a random body, replayed from earlier, or a random frame. Properties: every operation
 * settles (no hang on the manual clock), a failure is a LockBridgeError, whatever the client
 * returns is what the lock really holds, the link key is untouched, and once the link is
 * honest again the client works.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CredentialKind, decodeFrame, encodeFrame, encodeMessage, type Frame } from "../../src/protocol/llp/index.js";
import { ManualClock } from "../../src/shared/clock.js";
import { isLockBridgeError } from "../../src/shared/errors.js";
import { SimLock } from "../../sim/index.js";
import { hubRig, InProcessLink, outcome } from "../helpers/lock-link.js";
import { FUZZ_TIMEOUT_MS, fuzzParams } from "./runs.js";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const LOCK_ID = "4c42000000000001";
const LINK_KEY = "000102030405060708090a0b0c0d0e0f";

type Lie =
  | { kind: "pass" | "drop" | "replay" }
  | { kind: "truncate"; at: number }
  | { kind: "flip" | "reseal"; at: number; bit: number }
  | { kind: "forge"; body: Uint8Array; cmd: number | null };

const lieArb: fc.Arbitrary<Lie> = fc.oneof(
  fc.constantFrom({ kind: "pass" as const }, { kind: "drop" as const }, { kind: "replay" as const }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constantFrom("flip" as const, "reseal" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("forge" as const), body: fc.uint8Array({ maxLength: 80 }), cmd: fc.option(fc.integer({ min: 0, max: 255 })) }),
);

type Op = "status" | "readSlots" | "digest" | "events" | "put" | "identity";
const opArb = fc.constantFrom<Op>("status", "readSlots", "digest", "events", "put", "identity");

function lie(l: Lie, request: Frame, answer: Buffer | null, previous: Buffer | null): Buffer | null {
  if (answer === null) return null;
  switch (l.kind) {
    case "pass":
      return answer;
    case "drop":
      return null;
    case "replay":
      return previous;
    case "truncate":
      return answer.subarray(0, l.at % answer.length);
    case "flip": {
      const b = Buffer.from(answer);
      b[l.at % b.length]! ^= 1 << l.bit;
      return b;
    }
    case "reseal": {
      const f = decodeFrame(answer);
      const body = Buffer.from(f.body);
      if (body.length === 0) return answer;
      body[l.at % body.length]! ^= 1 << l.bit;
      return encodeFrame({ ...f, body });
    }
    case "forge":
      return encodeMessage({ addr: request.addr, fromLock: true, seq: request.seq, cmd: l.cmd ?? request.cmd }, l.body);
  }
}

function rig() {
  const clock = new ManualClock(T0);
  const lock = new SimLock({ clock, lockId: LOCK_ID, linkKey: LINK_KEY });
  const link = new InProcessLink([lock], clock);
  const r = hubRig(link, clock, [lock]);
  r.store.setActiveLinkKey(LOCK_ID, Buffer.from(LINK_KEY, "hex"));
  return { clock, lock, link, client: r.clients[0]! };
}

describe("fuzz: lock client and session against a lying lock", () => {
  it("every operation settles; failures are LockBridgeErrors; results are the truth; the client recovers", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(opArb, fc.array(lieArb, { minLength: 1, maxLength: 4 })), { minLength: 1, maxLength: 4 }), async (steps) => {
        const { clock, lock, link, client } = rig();
        let previous: Buffer | null = null;
        for (const [op, lies] of steps) {
          let i = 0;
          link.tap = (request, answer) => {
            const out = lie(lies[i++ % lies.length]!, request, answer, previous);
            previous = answer;
            return out;
          };
          const run = (): Promise<unknown> => {
            switch (op) {
              case "status":
                return client.status();
              case "readSlots":
                return client.readAllSlots(CredentialKind.DOOR_CODE, 8);
              case "digest":
                return client.tableDigest(CredentialKind.DOOR_CODE);
              case "events":
                return client.readEvents(0);
              case "put":
                return client.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 3, validFrom: 0, validUntil: 0, secret: "482916" });
              case "identity":
                return client.checkIdentity();
            }
          };
          const r = await outcome(clock, run());
          if (!r.ok) {
            expect(isLockBridgeError(r.error), String(r.error)).toBe(true);
            continue;
          }
          if (op === "readSlots") {
            const truth = lock.slots(CredentialKind.DOOR_CODE).map((s) => [s.slot, Buffer.from(s.secretDigest).toString("hex")]);
            expect((r.value as { slot: number; secretDigest: Uint8Array }[]).map((s) => [s.slot, Buffer.from(s.secretDigest).toString("hex")])).toEqual(truth);
          }
          if (op === "digest") expect((r.value as { used: number }).used).toBe(lock.slots(CredentialKind.DOOR_CODE).length);
          if (op === "put") expect(lock.slots(CredentialKind.DOOR_CODE).map((s) => s.slot)).toContain(3);
        }
        expect(lock.linkKey?.toString("hex")).toBe(LINK_KEY);
        link.tap = undefined;
        const again = await outcome(clock, client.status());
        expect(again.ok, again.ok ? "" : String(again.error)).toBe(true);
      }),
      { ...fuzzParams(300), timeout: 20_000 },
    );
  }, FUZZ_TIMEOUT_MS);
});
