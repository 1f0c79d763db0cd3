/**
 * Fuzz: the command dispatcher against random and mutated contract payloads, signed with
 * the cloud's key (so mutations reach the schemas and handlers) or not. Properties: every
 * payload gets an answer (no crash, no hang), a refusal carries a contract error code and a
 * message (naming the field when the payload parsed as an object), and a refused command
 * changes nothing in the store (every table compared before/after).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTRACT_ERROR_CODES } from "../../src/shared/errors.js";
import { cloudKeyPair, commandHarness, door, keyUpsert, nextId, signCommand, site, type CommandHarness } from "../helpers/cloud.js";
import { countRows, dumpStore } from "./store-dump.js";
import { mutate, mutationArb } from "./mutate.js";
import { FUZZ_TIMEOUT_MS, fuzzParams } from "./runs.js";

const cloud = cloudKeyPair();
let h: CommandHarness;
let file: string;

beforeAll(async () => {
  h = commandHarness({ commandKey: cloud.publicKey });
  file = h.store.path;
  const setup = [site(), door("room-101"), door("room-102"), door("lobby", { kind: "common" }), keyUpsert("k-1", 1)];
  for (const c of setup) {
    const r = await h.send(signCommand({ id: nextId(), ts: new Date(h.clock.now()).toISOString(), ...c }, cloud.privateKey));
    expect(r.ok, JSON.stringify(r)).toBe(true);
  }
});
afterAll(() => h.cleanup());

const TEMPLATES: Record<string, unknown>[] = [
  site(),
  door("room-103"),
  keyUpsert("k-2", 1),
  keyUpsert("k-1", 2, { source: "pms", pms: { provider: "mews", reservationId: "R-1" } }),
  { cmd: "key.checkin", keyId: "k-1", checkedIn: false },
  { cmd: "key.remove", keyId: "k-1", version: 5 },
  { cmd: "doorcode.regenerate", keyId: "k-1", assignment: "strict", code: "482916" },
  { cmd: "keycards.upsert", cards: [{ cardId: "c-1", uid: "04a1b2c3d4", label: "1" }] },
  { cmd: "keycards.remove", cardIds: ["c-1"] },
  { cmd: "keycard.replace", keyId: "k-1", cardId: "c-1" },
  { cmd: "door.unlock", doorId: "room-101", seconds: 5 },
  { cmd: "sync.snapshot", snapshotId: "s-1", page: 1, pages: 2, doors: [door("room-104")], keys: [keyUpsert("k-3", 1)] },
  { cmd: "events.resend", fromSeq: 0 },
  { cmd: "status.get" },
  { cmd: "diagnose", keyId: "k-1" },
];

/** Tables a refusal may touch: the inbox keeps the answer of a command that was accepted and then failed in its handler. */
const ANSWERS = ["inbox"];

async function checkOne(payload: string, signedBefore: boolean): Promise<void> {
  const before = dumpStore(file, ANSWERS);
  const answersBefore = countRows(file, "inbox");
  const { response } = await h.sendRaw(payload);
  expect(response).toBeDefined();
  if (response.ok) return;
  expect(CONTRACT_ERROR_CODES).toContain(response.error.code);
  expect(response.error.message.length).toBeGreaterThan(0);
  if (response.error.code === "invalid_payload" && signedBefore) {
    // A parsed object with a bad field: the refusal names it (path) or quotes it in the message.
    expect(response.error.path, response.error.message).toMatch(/^[A-Za-z]/);
  }
  expect(dumpStore(file, ANSWERS)).toBe(before);
  // A payload refused for its signature is not stored at all (a flood must not grow the store).
  // invalid_payload may come from a handler after acceptance (e.g. a keycard UID already on
  // another card: long-run seed -1248523031), whose answer is kept for a resend by id.
  if (response.error.code === "unauthorized") expect(countRows(file, "inbox")).toBe(answersBefore);
}

describe("fuzz: command dispatcher", () => {
  it("mutated contract commands, signed after mutation: answered, refusals clear, nothing changed by a refusal", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TEMPLATES), fc.array(mutationArb, { maxLength: 3 }), fc.boolean(), async (template, mutations, sign) => {
        const cmd = structuredClone({ id: nextId(), ts: new Date(h.clock.now()).toISOString(), ...template });
        for (const m of mutations) mutate(cmd, m);
        const payload = sign ? signCommand(cmd, cloud.privateKey) : cmd;
        await checkOne(JSON.stringify(payload), sign);
      }),
      { ...fuzzParams(400), timeout: 10_000 },
    );
  }, FUZZ_TIMEOUT_MS);

  it("random bytes and random JSON: answered with a contract error, nothing changed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 3 }), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString("latin1"))), async (payload) => {
        await checkOne(payload, false);
      }),
      { ...fuzzParams(1_000), timeout: 10_000 },
    );
  }, FUZZ_TIMEOUT_MS);
});
