import { describe, expect, it } from "vitest";
import { credentialRef, parseCredentialRef, planLock, type DesiredCredential, type KnownTables, type LockPlan, type PlanInput, type SlotAssignments } from "../../../src/access/plan.js";
import type { CredentialType } from "../../../src/access/model.js";
import { secretDigest, tableDigest } from "../../../src/protocol/llp/digest.js";
import type { SlotInfo } from "../../../src/protocol/llp/commands.js";
import { seededRandom } from "../../helpers/random.js";

const FROM = 1767279600;
const UNTIL = 1767538800;
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

const code = (keyId: string, secret: string, validFrom = FROM, validUntil = UNTIL): DesiredCredential => ({
  kind: "doorCode",
  ref: credentialRef(keyId, "doorCode"),
  secret: Buffer.from(secret),
  validFrom,
  validUntil,
  flags: 0,
});
const slotOf = (d: DesiredCredential, slot: number): SlotInfo => ({ slot, validFrom: d.validFrom, validUntil: d.validUntil, flags: d.flags, secretDigest: secretDigest(d.secret) });
const counts = (doorCode = 10, keycard = 10, smartKey = 10): Record<CredentialType, number> => ({ doorCode, keycard, smartKey });
const assigned = (...pairs: [string, number][]): SlotAssignments => new Map(pairs.map(([ref, slot]) => [ref, { kind: "doorCode" as CredentialType, slot }]));

function plan(over: Partial<PlanInput>): LockPlan {
  return planLock({ desired: [], known: {}, slotCounts: counts(), assignments: new Map(), ...over });
}

/** Apply a plan's operations to a model of the lock's table (what the lock would do). */
function apply(known: KnownTables, p: LockPlan): Record<CredentialType, SlotInfo[]> {
  const out = {} as Record<CredentialType, SlotInfo[]>;
  for (const kind of ["doorCode", "keycard", "smartKey"] as const) {
    const t = new Map((known[kind] ?? []).map((s) => [s.slot, s]));
    for (const op of p.operations) {
      if (op.kind !== kind) continue;
      if (op.op === "delete") t.delete(op.slot);
      else t.set(op.slot, { slot: op.slot, validFrom: op.validFrom, validUntil: op.validUntil, flags: op.flags, secretDigest: secretDigest(op.secret) });
    }
    out[kind] = [...t.values()].sort((a, b) => a.slot - b.slot);
  }
  return out;
}

describe("expected TABLE_DIGEST (lock-link-protocol.md §7 vectors)", () => {
  it("empty table", () => {
    expect(hex(plan({}).expected.doorCode.digest)).toBe("e3b0c44298fc1c14");
  });
  it('code "482916" in slot 5', () => {
    const d = code("k1", "482916");
    const p = plan({ desired: [d], assignments: assigned([d.ref, 5]) });
    expect(p.expected.doorCode.used).toBe(1);
    expect(hex(p.expected.doorCode.digest)).toBe("1691a91a4f060769");
  });
  it('that code plus "7351" in slot 2, unbounded', () => {
    const a = code("k1", "482916");
    const b = code("k2", "7351", 0, 0);
    const p = plan({ desired: [a, b], assignments: assigned([a.ref, 5], [b.ref, 2]) });
    expect(hex(p.expected.doorCode.digest)).toBe("3c1bb9dcc976b3ba");
  });
});

describe("planLock", () => {
  it("fresh lock: puts only, most urgent first and in the lowest slot", () => {
    const late = code("k-late", "730194", FROM + 86_400);
    const early = code("k-early", "482916", FROM);
    const card: DesiredCredential = { kind: "keycard", ref: credentialRef("k-early", "keycard"), secret: Buffer.from("04a1b2c3", "hex"), validFrom: FROM + 3600, validUntil: UNTIL, flags: 0 };
    const p = plan({ desired: [late, card, early] });
    expect(p.operations.map((o) => [o.op, o.kind, o.slot, o.op === "put" ? o.ref : ""])).toEqual([
      ["put", "doorCode", 0, early.ref],
      ["put", "keycard", 0, card.ref],
      ["put", "doorCode", 1, late.ref],
    ]);
    expect(p.failures).toEqual([]);
    expect(p.assignments.get(late.ref)).toEqual({ kind: "doorCode", slot: 1 });
  });

  it("lock that lost its memory: the same slots are written again, nothing deleted", () => {
    const a = code("k1", "482916");
    const b = code("k2", "730194");
    const p = plan({ desired: [a, b], known: { doorCode: [] }, assignments: assigned([a.ref, 7], [b.ref, 3]) });
    expect(p.operations.map((o) => [o.op, o.slot])).toEqual([
      ["put", 3],
      ["put", 7],
    ]);
    expect(p.operations.every((o) => o.op === "put" && o.why === "missing")).toBe(true);
    expect(p.assignments).toEqual(new Map([[a.ref, { kind: "doorCode", slot: 7 }], [b.ref, { kind: "doorCode", slot: 3 }]]));
  });

  it("a lock already holding the desired table needs nothing", () => {
    const a = code("k1", "482916");
    const p = plan({ desired: [a], known: { doorCode: [slotOf(a, 4)] }, assignments: assigned([a.ref, 4]) });
    expect(p.operations).toEqual([]);
    expect(p.satisfied).toEqual([a.ref]);
  });

  it("drift: an entry of ours changed behind the hub's back is overwritten before other puts", () => {
    const a = code("k1", "482916", FROM + 7200);
    const b = code("k2", "730194", FROM);
    const tampered: SlotInfo = { ...slotOf(a, 4), secretDigest: secretDigest(Buffer.from("000000")) };
    const p = plan({ desired: [a, b], known: { doorCode: [tampered] }, assignments: assigned([a.ref, 4]) });
    expect(p.operations.map((o) => [o.op, o.slot, o.op === "put" && o.why, o.op === "put" && o.revokes])).toEqual([
      ["put", 4, "replace", true],
      ["put", 0, "missing", false],
    ]);
  });

  it("an extended stay is a plain put; a shortened one takes access away and goes first", () => {
    const a = code("k1", "482916");
    const b = code("k2", "730194", FROM - 3600);
    const longer = { ...a, validUntil: UNTIL + 86_400 };
    const shorter = { ...a, validUntil: UNTIL - 86_400 };
    const known = { doorCode: [slotOf(a, 1)] };
    const ext = plan({ desired: [longer, b], known, assignments: assigned([a.ref, 1]) });
    expect(ext.operations.map((o) => [o.slot, o.op === "put" && o.revokes])).toEqual([
      [0, false],
      [1, false],
    ]);
    const cut = plan({ desired: [shorter, b], known, assignments: assigned([a.ref, 1]) });
    expect(cut.operations.map((o) => [o.slot, o.op === "put" && o.revokes])).toEqual([
      [1, true],
      [0, false],
    ]);
  });

  it("an unknown extra slot is deleted", () => {
    const a = code("k1", "482916");
    const stranger: SlotInfo = { slot: 9, validFrom: 0, validUntil: 0, flags: 0, secretDigest: secretDigest(Buffer.from("111222")) };
    const p = plan({ desired: [a], known: { doorCode: [slotOf(a, 0), stranger] }, assignments: assigned([a.ref, 0]) });
    expect(p.operations).toEqual([{ op: "delete", kind: "doorCode", slot: 9, ref: undefined }]);
  });

  it("revocation: the removed key's slot is deleted first, even when a new key reuses it", () => {
    const gone = code("k-gone", "482916");
    const stay = code("k-stay", "730194");
    const fresh = code("k-new", "294716", FROM - 86_400);
    const p = plan({
      desired: [stay, fresh],
      known: { doorCode: [slotOf(gone, 0), slotOf(stay, 1)] },
      assignments: assigned([gone.ref, 0], [stay.ref, 1]),
    });
    expect(p.operations.map((o) => [o.op, o.slot, o.ref])).toEqual([
      ["delete", 0, gone.ref],
      ["put", 0, fresh.ref],
    ]);
    expect(p.assignments.has(gone.ref)).toBe(false);
  });

  it("slots are stable: a credential keeps its slot; new ones take the lowest free slot", () => {
    const a = code("k1", "482916");
    const b = code("k2", "730194", FROM - 86_400);
    const p = plan({ desired: [a, b], known: { doorCode: [slotOf(a, 7)] }, assignments: assigned([a.ref, 7]) });
    expect(p.assignments.get(a.ref)?.slot).toBe(7);
    expect(p.assignments.get(b.ref)?.slot).toBe(0);
    expect(p.operations).toHaveLength(1);
  });

  it("after a hub store loss, credentials adopt the slots already holding them: nothing rewritten", () => {
    const a = code("k1", "482916");
    const b = code("k2", "730194");
    const p = plan({ desired: [a, b], known: { doorCode: [slotOf(a, 12), slotOf(b, 3)] }, slotCounts: counts(20) });
    expect(p.operations).toEqual([]);
    expect(p.assignments.get(a.ref)?.slot).toBe(12);
    expect(p.assignments.get(b.ref)?.slot).toBe(3);
  });

  it("memory full: the least urgent credentials fail; placed credentials are never evicted", () => {
    const placedLate = code("k-placed", "482916", FROM + 10 * 86_400);
    const urgent = code("k-urgent", "730194", FROM);
    const soon = code("k-soon", "294716", FROM + 3600);
    const later = code("k-later", "590317", FROM + 86_400);
    const p = plan({ desired: [later, placedLate, urgent, soon], slotCounts: counts(3), assignments: assigned([placedLate.ref, 2]) });
    expect(p.failures).toEqual([{ ref: later.ref, kind: "doorCode", reason: "lock_memory_full" }]);
    expect([...p.assignments.keys()].sort()).toEqual([placedLate.ref, soon.ref, urgent.ref].sort());
    expect(p.expected.doorCode.used).toBe(3);
  });

  it("a kind the lock lacks fails with not_supported", () => {
    const mk: DesiredCredential = { kind: "smartKey", ref: credentialRef("k1", "smartKey"), secret: new Uint8Array(32).fill(7), validFrom: FROM, validUntil: UNTIL, flags: 0 };
    const p = plan({ desired: [mk], slotCounts: counts(10, 10, 0) });
    expect(p.failures).toEqual([{ ref: mk.ref, kind: "smartKey", reason: "not_supported" }]);
    expect(p.operations).toEqual([]);
  });

  it("a stored slot beyond the lock's slot count is reallocated", () => {
    const a = code("k1", "482916");
    const p = plan({ desired: [a], slotCounts: counts(4), assignments: assigned([a.ref, 9]) });
    expect(p.assignments.get(a.ref)?.slot).toBe(0);
  });

  it("random scenarios converge: after the operations the lock holds exactly the expected table", () => {
    const rnd = seededRandom(99);
    for (let round = 0; round < 200; round++) {
      const slots = 1 + rnd.int(12);
      const pool = Array.from({ length: 16 }, (_, i) => code(`k${i}`, String(100000 + i * 7919), FROM + rnd.int(5) * 3600, UNTIL + rnd.int(3) * 3600));
      const desired = pool.filter(() => rnd.int(2) === 0);
      const known: SlotInfo[] = [];
      const assignments = new Map<string, { kind: CredentialType; slot: number }>();
      for (let s = 0; s < slots; s++) {
        const pick = rnd.int(4);
        const d = pool[rnd.int(pool.length)]!;
        if (pick === 0) continue; // empty
        if (pick === 1) known.push(slotOf(d, s)); // a credential, maybe stale
        if (pick === 2) known.push({ ...slotOf(d, s), validUntil: d.validUntil + 1 }); // drifted
        if (pick === 3) known.push({ slot: s, validFrom: 0, validUntil: 0, flags: 0, secretDigest: secretDigest(Buffer.from(`x${s}`)) }); // foreign
        if (rnd.int(2) === 0 && ![...assignments.values()].some((a) => a.slot === s)) assignments.set(d.ref, { kind: "doorCode", slot: s });
      }
      const p = plan({ desired, known: { doorCode: known }, slotCounts: counts(slots), assignments });
      const after = apply({ doorCode: known }, p);
      expect(hex(tableDigest(after.doorCode))).toBe(hex(p.expected.doorCode.digest));
      expect(after.doorCode.length).toBe(Math.min(desired.length, slots));
      expect(p.failures.length).toBe(Math.max(0, desired.length - slots));
      // Deletes come first, and puts never target a slot twice.
      const firstPut = p.operations.findIndex((o) => o.op === "put");
      expect(p.operations.slice(firstPut === -1 ? p.operations.length : firstPut).every((o) => o.op === "put")).toBe(true);
      const putSlots = p.operations.filter((o) => o.op === "put").map((o) => o.slot);
      expect(new Set(putSlots).size).toBe(putSlots.length);
      // Planning again from the result needs nothing.
      const again = plan({ desired, known: after, slotCounts: counts(slots), assignments: p.assignments });
      expect(again.operations).toEqual([]);
    }
  });
});

describe("credentialRef", () => {
  it("round-trips, including key ids with colons", () => {
    expect(parseCredentialRef(credentialRef("k:1042", "keycard"))).toEqual({ keyId: "k:1042", type: "keycard" });
    expect(parseCredentialRef("nonsense")).toBeUndefined();
  });
});
