/**
 * The hub's one retry schedule: a delay that doubles with every consecutive failure from
 * `firstMs` up to `maxMs`, with a choice of jitter. Every retry loop (MQTT reconnect, link
 * reopen, lock retries, re-pairing) counts failures the same way: `failures` is how many
 * attempts in a row have failed, so the first retry is `retryDelay(1, ...)`.
 *
 * Jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * - "full": uniform in [0, ceiling): a thousand hubs reconnecting after a broker restart
 *   spread over the whole window instead of retrying in lockstep;
 * - "half": uniform in [ceiling/2, ceiling]: 300 locks coming back after a bus outage do not
 *   retry together, yet none retries at once or much later than asked;
 * - "none": the ceiling itself (a single local link: nothing to de-synchronise).
 */
export type Jitter = "none" | "full" | "half";

export interface BackoffPolicy {
  /** Delay ceiling after the first failure, ms. */
  firstMs: number;
  /** Largest delay, ms. */
  maxMs: number;
  jitter: Jitter;
}

/** @param failures consecutive failures so far (1 for the first retry). @param random in [0, 1). */
export function retryDelay(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const doublings = Math.max(0, Math.min(failures - 1, 30));
  const ceiling = Math.min(policy.maxMs, policy.firstMs * 2 ** doublings);
  switch (policy.jitter) {
    case "none":
      return ceiling;
    case "full":
      return Math.floor(random() * ceiling);
    case "half":
      return Math.round(ceiling / 2 + random() * (ceiling / 2));
  }
}

/** A failure counter for one retry loop: next() counts a failure and gives its delay; reset() after a success. */
export class Backoff {
  private failures = 0;
  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    this.failures++;
    return retryDelay(this.failures, this.policy, this.random);
  }

  reset(): void {
    this.failures = 0;
  }

  /** Consecutive failures counted since the last reset. */
  get count(): number {
    return this.failures;
  }
}
