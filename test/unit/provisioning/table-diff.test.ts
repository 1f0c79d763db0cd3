import { describe, expect, it } from "vitest";
import { diffTable, expectedDigest, readRanges } from "../../../src/provisioning/reconcile/table-diff.js";
import { secretDigest } from "../../../src/protocol/llp/digest.js";

const entry = (slot: number, code: string, validFrom = 100, validUntil = 200, flags = 0) => ({
  slot, validFrom, validUntil, flags, secretDigest: secretDigest(Buffer.from(code)),
});

describe("diffTable", () => {
  it("classifies matching, missing, changed and unwanted slots", () => {
    const desired = [entry(0, "111111"), entry(1, "222222"), entry(2, "333333"), entry(5, "555555")];
    const observed = [
      entry(0, "111111"), // matches
      entry(1, "999999"), // changed behind our back (other secret)
      entry(2, "333333", 100, 300), // window changed
      entry(7, "777777"), // unknown: delete
    ];
    expect(diffTable(desired, observed)).toEqual({ matching: [0], put: [1, 2, 5], remove: [7] });
  });

  it("flags differences count", () => {
    expect(diffTable([entry(3, "1234", 0, 0, 1)], [entry(3, "1234", 0, 0, 0)]).put).toEqual([3]);
  });

  it("only judges the slots of the range read", () => {
    const desired = [entry(0, "111111"), entry(40, "404040")];
    expect(diffTable(desired, [entry(33, "x")], { first: 32, count: 32 })).toEqual({ matching: [], put: [40], remove: [33] });
  });

  it("a lock that lost its memory needs every entry", () => {
    const desired = [entry(4, "1"), entry(2, "2")];
    expect(diffTable(desired, [])).toEqual({ matching: [], put: [2, 4], remove: [] });
  });
});

describe("expectedDigest", () => {
  it("matches the spec vectors", () => {
    expect(expectedDigest([]).digest.toString("hex")).toBe("e3b0c44298fc1c14");
    const one = { slot: 5, validFrom: 1767279600, validUntil: 1767538800, flags: 0, secretDigest: secretDigest(Buffer.from("482916")) };
    expect(expectedDigest([one]).digest.toString("hex")).toBe("1691a91a4f060769");
    const two = { slot: 2, validFrom: 0, validUntil: 0, flags: 0, secretDigest: secretDigest(Buffer.from("7351")) };
    expect(expectedDigest([one, two])).toEqual({ used: 2, digest: Buffer.from("3c1bb9dcc976b3ba", "hex") });
  });
});

describe("readRanges", () => {
  it("covers the table in chunks of at most 32", () => {
    expect(readRanges(70)).toEqual([{ first: 0, count: 32 }, { first: 32, count: 32 }, { first: 64, count: 6 }]);
    expect(readRanges(0)).toEqual([]);
  });
});
