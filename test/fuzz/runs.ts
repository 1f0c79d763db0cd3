/**
 * How many cases each fuzz target runs: a fast CI default, or LOCKBRIDGE_FUZZ_RUNS for the
 * long mode (`npm run fuzz` runs 100,000 per target). LOCKBRIDGE_FUZZ_SEED replays a run.
 */
import type { Parameters } from "fast-check";

const envRuns = Number(process.env.LOCKBRIDGE_FUZZ_RUNS ?? "");
const envSeed = Number(process.env.LOCKBRIDGE_FUZZ_SEED ?? "");

/** fast-check parameters: `ciRuns` cases unless the env var asks for more. */
export function fuzzParams<T>(ciRuns: number): Parameters<T> {
  const numRuns = Number.isInteger(envRuns) && envRuns > 0 ? envRuns : ciRuns;
  return { numRuns, ...(Number.isInteger(envSeed) && envSeed !== 0 ? { seed: envSeed } : {}), endOnFailure: true };
}

/** A long run must not hit vitest's per-test timeout. */
export const FUZZ_TIMEOUT_MS = Number.isInteger(envRuns) && envRuns > 0 ? 3_600_000 : 60_000;
