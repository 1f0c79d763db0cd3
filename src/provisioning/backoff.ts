/**
 * Retry delays for transient lock errors (timeouts, BUSY, a link that dropped): exponential
 * with full jitter, capped, so that 300 locks coming back after a bus outage do not retry in
 * lockstep. The random source is injected so tests are deterministic.
 */
export interface BackoffPolicy {
  /** First delay ceiling, ms. */
  baseMs: number;
  /** Largest delay, ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 60_000 };

/** Delay before retry number `attempt` (1-based): uniform in [ceiling/2, ceiling]. */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  // Half fixed, half jitter: never retries at once, never waits much longer than asked.
  return Math.round(exp / 2 + random() * (exp / 2));
}
