import { describe, expect, it } from "vitest";
import { Backoff, retryDelay } from "../../../src/shared/backoff.js";
import { formatEpochSeconds, formatInstant } from "../../../src/shared/instant.js";

describe("retryDelay", () => {
  it("doubles from the first delay with every failure, capped (no jitter)", () => {
    const policy = { firstMs: 60_000, maxMs: 3_600_000, jitter: "none" as const };
    expect([1, 2, 3, 6, 7, 40].map((n) => retryDelay(n, policy))).toEqual([60_000, 120_000, 240_000, 1_920_000, 3_600_000, 3_600_000]);
  });

  it("full jitter draws below the ceiling, down to zero", () => {
    const policy = { firstMs: 500, maxMs: 60_000, jitter: "full" as const };
    expect([1, 2, 3, 4, 11].map((n) => retryDelay(n, policy, () => 0.999999))).toEqual([499, 999, 1999, 3999, 59_999]);
    expect(retryDelay(6, policy, () => 0)).toBe(0);
  });

  it("full jitter spreads a fleet reconnecting after a broker restart over the whole window", () => {
    const delays = Array.from({ length: 1000 }, () => retryDelay(7, { firstMs: 500, maxMs: 60_000, jitter: "full" }));
    const buckets = new Array<number>(8).fill(0);
    for (const d of delays) buckets[Math.floor((d / 32_000) * 8)]!++;
    // Roughly 125 per eighth of the 32 s window; nowhere near all at once.
    for (const b of buckets) expect(b).toBeGreaterThan(60);
    expect(Math.max(...delays)).toBeLessThan(32_000);
  });

  it("half jitter never retries sooner than half the ceiling nor later than the ceiling", () => {
    const policy = { firstMs: 500, maxMs: 60_000, jitter: "half" as const };
    expect(retryDelay(3, policy, () => 0)).toBe(1000);
    expect(retryDelay(3, policy, () => 0.999999)).toBe(2000);
  });
});

describe("Backoff", () => {
  it("counts failures, doubles up to the cap and starts over after a success", () => {
    const b = new Backoff({ firstMs: 100, maxMs: 500, jitter: "none" });
    expect([b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 500]);
    expect(b.count).toBe(4);
    b.reset();
    expect(b.next()).toBe(100);
  });
});

describe("instants", () => {
  it("are ISO-8601 UTC in whole seconds, as the contract writes them", () => {
    expect(formatInstant(Date.UTC(2026, 11, 1, 14, 0, 0))).toBe("2026-12-01T14:00:00Z");
    expect(formatInstant(Date.UTC(2026, 11, 1, 14, 0, 0, 999))).toBe("2026-12-01T14:00:00Z");
    expect(formatEpochSeconds(Date.UTC(2026, 11, 1, 14, 0, 5) / 1000)).toBe("2026-12-01T14:00:05Z");
  });
});
