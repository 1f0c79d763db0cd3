/**
 * Deterministic RandomSources for tests (the hub uses crypto.randomInt).
 */
import type { RandomSource } from "../../src/access/codes.js";

/** mulberry32: a small seeded PRNG; same seed, same sequence. */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return {
    int(max: number): number {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      return Math.floor(u * max);
    },
  };
}

/**
 * Plays back the digits of the given strings one by one (then falls back to a seeded
 * sequence), so a test can say exactly which codes random allocation will draw.
 */
export function scriptedDigits(...codes: string[]): RandomSource {
  const digits = codes.join("").split("").map(Number);
  const rest = seededRandom(1);
  return { int: (max) => (digits.length > 0 ? (digits.shift() ?? 0) % max : rest.int(max)) };
}
