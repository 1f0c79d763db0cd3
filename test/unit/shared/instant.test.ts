/** formatInstant's memo: the same text as the Date formatting, across the memo's clearing. */
import { describe, expect, it } from "vitest";
import { formatEpochSeconds, formatInstant } from "../../../src/shared/instant.js";

const plain = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

describe("formatInstant memo", () => {
  it("answers as the Date formatting does, for more seconds than it keeps, asked twice", () => {
    const base = Date.UTC(2026, 11, 1, 14, 0, 0);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3000; i += 1) {
        const ms = base + i * 1000 + (i % 7) * 137;
        expect(formatInstant(ms)).toBe(plain(ms));
      }
    }
    expect(formatEpochSeconds(base / 1000 + 59)).toBe("2026-12-01T14:00:59Z");
    expect(formatInstant(-1)).toBe("1969-12-31T23:59:59Z");
    expect(() => formatInstant(Number.NaN)).toThrow(RangeError);
  });
});
