/**
 * Reconnect delays: exponential backoff with full jitter (AWS architecture blog,
 * "Exponential Backoff And Jitter"): delay = random(0, min(cap, base * 2^attempt)).
 * Full jitter spreads a thousand hubs reconnecting after a broker restart over the whole
 * window instead of having them retry in lockstep.
 */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 60_000 };

/** @param attempt 0 for the first retry after a failure. @param random in [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
