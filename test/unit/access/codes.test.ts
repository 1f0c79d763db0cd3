import { describe, expect, it } from "vitest";
import {
  allocateDoorCode,
  DEFAULT_COOLING_OFF_MS,
  DoorCodeIndex,
  isTrivialCode,
  pruneRevokedCodes,
  randomCodeLength,
  refuseCode,
  regenerateDoorCode,
  type AllocationInput,
  type CodeTargetLock,
} from "../../../src/access/codes.js";
import { scriptedDigits, seededRandom } from "../../helpers/random.js";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const DAY = 86_400_000;
const room: CodeTargetLock = { lockId: "lock-101", range: { codeMinLen: 4, codeMaxLen: 8 } };
const lobby: CodeTargetLock = { lockId: "lock-lobby", range: { codeMinLen: 4, codeMaxLen: 10 } };

function input(over: Partial<AllocationInput> = {}): AllocationInput {
  return {
    assignment: "random",
    siteLength: 6,
    locks: [room, lobby],
    usage: new DoorCodeIndex().except("k1"),
    revoked: [],
    nowMs: NOW,
    random: seededRandom(42),
    ...over,
  };
}

describe("isTrivialCode", () => {
  it.each([
    ["000000", "all the same digit"],
    ["7777", "all the same digit, short"],
    ["123456", "ascending run"],
    ["654321", "descending run"],
    ["890123", "ascending run wrapping 9 -> 0"],
    ["109876", "descending run wrapping 0 -> 9"],
    ["135791", "constant step of 2"],
    ["1357", "constant step of 2, short"],
    ["121212", "repeated pair"],
    ["1212", "repeated pair, short"],
    ["12121", "repeated pair, odd length"],
    ["123123", "repeated halves"],
    ["48294829", "repeated halves, 8 digits"],
    ["123321", "mirrored"],
    ["1221", "mirrored, short"],
    ["12321", "mirrored, odd"],
    ["112233", "doubled digits"],
    ["998877", "doubled digits, descending"],
    ["111112", "only two distinct digits"],
    ["100100", "only two distinct digits"],
    ["12a456", "not digits"],
    ["", "empty"],
  ])("%s is trivial (%s)", (code) => {
    expect(isTrivialCode(code)).toBe(true);
  });

  it.each(["482916", "7351", "730194", "58203", "294716", "9052", "31415926", "271828"])("%s is not trivial", (code) => {
    expect(isTrivialCode(code)).toBe(false);
  });

  it("rejects a small share of the code space only", () => {
    let trivial = 0;
    for (let i = 0; i < 10_000; i++) if (isTrivialCode(String(i).padStart(4, "0"))) trivial++;
    expect(trivial).toBeGreaterThan(200);
    expect(trivial).toBeLessThan(500);
  });
});

describe("randomCodeLength: site length clamped into every lock's range", () => {
  const lock = (lockId: string, min: number, max: number): CodeTargetLock => ({ lockId, range: { codeMinLen: min, codeMaxLen: max } });
  it.each([
    { name: "site length fits", site: 6, locks: [lock("a", 4, 8)], want: 6, adjusted: false },
    { name: "no locks yet: contract range 4..12", site: 6, locks: [], want: 6, adjusted: false },
    { name: "lock max below site length", site: 6, locks: [lock("a", 4, 5)], want: 5, adjusted: true },
    { name: "lock min above site length", site: 4, locks: [lock("a", 6, 10)], want: 6, adjusted: true },
    { name: "room 6..8 and lobby 4..6", site: 8, locks: [lock("a", 6, 8), lock("b", 4, 6)], want: 6, adjusted: true },
  ])("$name", ({ site, locks, want, adjusted }) => {
    expect(randomCodeLength(site, locks)).toEqual({ ok: true, value: { length: want, adjusted } });
  });

  it("reports when no length suits every lock", () => {
    const r = randomCodeLength(6, [lock("a", 4, 5), lock("b", 6, 8)]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: "code_unavailable", reason: "no_common_length" });
  });
});

describe("allocateDoorCode: random", () => {
  it("gives a non-trivial code of the site length", () => {
    const r = allocateDoorCode(input());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.code).toMatch(/^\d{6}$/);
    expect(isTrivialCode(r.value.code)).toBe(false);
    expect(r.value.warnings).toEqual([]);
  });

  it("is deterministic for a given random source and varies with it", () => {
    const a = allocateDoorCode(input({ random: seededRandom(7) }));
    const b = allocateDoorCode(input({ random: seededRandom(7) }));
    const c = allocateDoorCode(input({ random: seededRandom(8) }));
    expect(a).toEqual(b);
    expect(a.ok && c.ok && a.value.code !== c.value.code).toBe(true);
  });

  it("clamps to the locks' range and says so", () => {
    const r = allocateDoorCode(input({ siteLength: 12 }));
    expect(r.ok && r.value.code.length).toBe(8);
    expect(r.ok && r.value.warnings).toEqual([expect.objectContaining({ code: "code_length_adjusted", length: 8 })]);
  });

  it("skips trivial draws", () => {
    const r = allocateDoorCode(input({ random: scriptedDigits("123456", "111111", "730194") }));
    expect(r.ok && r.value.code).toBe("730194");
  });

  it("a code must be unique on the room lock AND the linked common doors' locks", () => {
    const index = new DoorCodeIndex();
    index.add("lock-lobby", "482916", "k2"); // another guest's code, on the lobby only
    index.add("lock-101", "730194", "k3"); // an earlier guest's code, still on the room
    const r = allocateDoorCode(input({ usage: index.except("k1"), random: scriptedDigits("482916", "730194", "294716") }));
    expect(r.ok && r.value.code).toBe("294716");
  });

  it("codes that prefix each other conflict on a lock (keypads accept as soon as a code matches)", () => {
    const index = new DoorCodeIndex();
    index.add("lock-lobby", "482916", "k2");
    const strict = (code: string): AllocationInput => input({ assignment: "strict", requested: code, usage: index.except("k1") });
    expect(allocateDoorCode(strict("4829"))).toMatchObject({ ok: false, error: { reason: "in_use" } });
    expect(allocateDoorCode(strict("48291637"))).toMatchObject({ ok: false, error: { reason: "in_use" } });
    expect(allocateDoorCode(strict("4830"))).toMatchObject({ ok: true, value: { code: "4830" } });
  });

  it("does not reissue a code revoked within the cooling-off period", () => {
    const revoked = [{ code: "482916", revokedAtMs: NOW - 3 * DAY }];
    expect(allocateDoorCode(input({ revoked, random: scriptedDigits("482916", "730194") }))).toMatchObject({ ok: true, value: { code: "730194" } });
    const old = [{ code: "482916", revokedAtMs: NOW - 8 * DAY }];
    expect(allocateDoorCode(input({ revoked: old, random: scriptedDigits("482916") }))).toMatchObject({ ok: true, value: { code: "482916" } });
    // The period is a parameter.
    expect(allocateDoorCode(input({ revoked, coolingOffMs: 2 * DAY, random: scriptedDigits("482916") }))).toMatchObject({ ok: true, value: { code: "482916" } });
  });

  it("finds the last free code of a crowded space, and reports exhaustion", () => {
    const four: CodeTargetLock = { lockId: "tiny", range: { codeMinLen: 4, codeMaxLen: 4 } };
    const onlyOne = { isTaken: (_l: string, c: string) => c !== "7351" };
    expect(allocateDoorCode(input({ locks: [four], usage: onlyOne }))).toMatchObject({ ok: true, value: { code: "7351" } });
    const none = { isTaken: () => true };
    expect(allocateDoorCode(input({ locks: [four], usage: none }))).toMatchObject({ ok: false, error: { code: "code_unavailable", reason: "exhausted" } });
  });

  it("keeps the key's current code when it still fits", () => {
    const r = allocateDoorCode(input({ current: "730194" }));
    expect(r).toEqual({ ok: true, value: { code: "730194", kept: true, warnings: [] } });
  });

  it("replaces the current code when a lock no longer accepts it", () => {
    const r = allocateDoorCode(input({ current: "7301948", locks: [{ lockId: "x", range: { codeMinLen: 4, codeMaxLen: 6 } }] }));
    expect(r.ok && r.value.kept).toBe(false);
    expect(r.ok && r.value.code.length).toBe(6);
  });

  it("1000 allocations on one lobby lock stay unique", () => {
    const index = new DoorCodeIndex();
    const random = seededRandom(3);
    for (let i = 0; i < 1000; i++) {
      const r = allocateDoorCode(input({ locks: [lobby], usage: index.except(`k${i}`), random }));
      expect(r.ok).toBe(true);
      if (r.ok) index.add("lock-lobby", r.value.code, `k${i}`);
    }
    expect(new Set(index.codesOn("lock-lobby")).size).toBe(1000);
  });
});

describe("allocateDoorCode: preferred and strict", () => {
  const index = new DoorCodeIndex();
  index.add("lock-101", "482916", "k2");
  const revoked = [{ code: "590317", revokedAtMs: NOW - DAY }];
  const base = (over: Partial<AllocationInput>): AllocationInput => input({ usage: index.except("k1"), revoked, random: scriptedDigits("730194"), ...over });

  it.each([
    { name: "free", requested: "294716", reason: undefined },
    { name: "in use on the room lock", requested: "482916", reason: "in_use" },
    { name: "trivial", requested: "123456", reason: "trivial" },
    { name: "cooling off", requested: "590317", reason: "cooling_off" },
    { name: "too long for the room lock", requested: "294716385", reason: "length_out_of_range" },
    { name: "not digits", requested: "29471a", reason: "invalid_format" },
    { name: "missing", requested: undefined, reason: "no_requested_code" },
  ])("requested code $name", ({ requested, reason }) => {
    const preferred = allocateDoorCode(base({ assignment: "preferred", requested }));
    const strict = allocateDoorCode(base({ assignment: "strict", requested }));
    if (reason === undefined) {
      expect(preferred).toEqual({ ok: true, value: { code: requested, kept: false, warnings: [] } });
      expect(strict).toEqual(preferred);
      return;
    }
    // Preferred: random code instead, with a warning saying why.
    expect(preferred.ok).toBe(true);
    if (preferred.ok) {
      expect(preferred.value.code).toBe("730194");
      expect(preferred.value.warnings).toEqual([expect.objectContaining({ code: "preferred_code_unavailable", reason })]);
    }
    // Strict: code_unavailable.
    expect(strict).toMatchObject({ ok: false, error: { code: "code_unavailable", reason } });
  });

  it("keeps the current code only if it is the requested one", () => {
    expect(allocateDoorCode(base({ assignment: "strict", requested: "294716", current: "294716" }))).toMatchObject({ ok: true, value: { kept: true } });
    expect(allocateDoorCode(base({ assignment: "strict", requested: "294716", current: "730194" }))).toMatchObject({ ok: true, value: { code: "294716", kept: false } });
  });
});

describe("regenerateDoorCode", () => {
  it("revokes the old code (cooling off) and assigns a new one", () => {
    const r = regenerateDoorCode({ ...input({ random: scriptedDigits("730194", "294716") }), old: "730194" });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.code).toBe("294716");
    expect(r.value.revoked).toEqual({ code: "730194", revokedAtMs: NOW });
  });

  it("strict regeneration with the old code fails: it is cooling off", () => {
    const r = regenerateDoorCode({ ...input({ assignment: "strict", requested: "730194" }), old: "730194" });
    expect(r).toMatchObject({ ok: false, error: { reason: "cooling_off" } });
  });
});

describe("DoorCodeIndex", () => {
  it("ignores the allocating key's own codes and forgets removed keys", () => {
    const index = new DoorCodeIndex();
    index.add("L", "482916", "k1");
    index.add("M", "482916", "k1");
    expect(index.except("k1").isTaken("L", "482916")).toBe(false);
    expect(index.except("k2").isTaken("L", "482916")).toBe(true);
    expect(index.except("k2").isTaken("L", "4829")).toBe(true);
    index.removeKey("k1");
    expect(index.except("k2").isTaken("L", "482916")).toBe(false);
    expect(index.except("k2").isTaken("M", "4829")).toBe(false);
    expect(index.codesOn("L")).toEqual([]);
  });
});

describe("pruneRevokedCodes", () => {
  it("forgets codes whose cooling-off is over", () => {
    const list = [
      { code: "1", revokedAtMs: NOW - DEFAULT_COOLING_OFF_MS },
      { code: "2", revokedAtMs: NOW - DEFAULT_COOLING_OFF_MS + 1 },
    ];
    expect(pruneRevokedCodes(list, NOW).map((r) => r.code)).toEqual(["2"]);
  });
});

describe("DoorCodeIndex.removeKey (through the key's own entries)", () => {
  it("removes every code of the key on every lock and nothing of the others, also after a code changed hands", () => {
    const index = new DoorCodeIndex();
    index.add("lobby", "482916", "k1");
    index.add("room-1", "482916", "k1");
    index.add("lobby", "551203", "k2");
    // The same code given to k3 on the gym, then taken over there by k2.
    index.add("gym", "700188", "k3");
    index.add("gym", "700188", "k2");
    index.removeKey("k1");
    expect(index.codesOn("lobby")).toEqual(["551203"]);
    expect(index.codesOn("room-1")).toEqual([]);
    expect(index.except("k9").isTaken("lobby", "4829")).toBe(false); // its prefixes went too
    index.removeKey("k3"); // no longer holds the gym's code: k2 keeps it
    expect(index.holder("gym", "700188")).toBe("k2");
    index.remove("lobby", "551203");
    index.removeKey("k2");
    expect(index.codesOn("gym")).toEqual([]);
    expect(index.codesOn("lobby")).toEqual([]);
  });
});

describe("allocation with a caller's own set of unavailable codes", () => {
  it("never hands out a code of the set, whether drawn or requested", () => {
    const unavailable = new Set(["482916"]);
    const given = input({ assignment: "preferred", requested: "482916", unavailable });
    const r = allocateDoorCode(given);
    expect(r.ok && r.value.code).not.toBe("482916");
    expect(r.ok && r.value.warnings[0]?.code).toBe("preferred_code_unavailable");
    expect(refuseCode("482916", given)).toBe("cooling_off");
    // The key's own current code is not out of reach for itself.
    const kept = allocateDoorCode({ ...given, assignment: "random", current: "482916" });
    expect(kept.ok && kept.value).toMatchObject({ code: "482916", kept: true });
  });
});
