/**
 * Deterministic RandomSources for tests (the hub uses crypto.randomInt).
 */
import type { RandomSource } from "../../src/access/codes.js";
import { seededRandom as seededUnit } from "../../src/shared/random.js";

/** A RandomSource over the shared seeded PRNG (mulberry32); same seed, same sequence. */
export function seededRandom(seed: number): RandomSource {
  const next = seededUnit(seed);
  return { int: (max: number): number => Math.floor(next() * max) };
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
