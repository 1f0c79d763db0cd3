/**
 * `lock.security_alert` (lock-link-protocol.md §9.4, mqtt-api.md): what the hub noticed on a
 * lock's link, reported upstream, rate-limited, and kept per lock and reason in the store's
 * meta so lock status and `diagnose` name it after a restart too.
 *
 * Rate limit: one event per lock and reason per ALERT_INTERVAL_MS; occurrences in between are
 * counted and the next event carries the count (`occurrences`), so a flood on the bus costs
 * the cloud a few events, not one per frame. Unsealed frames are counted in a short window and
 * alerted only when repeated (a single stray frame on a noisy bus is not an attack).
 */
import { formatInstant } from "../../shared/instant.js";
import type { SecurityAlertRecord, Store } from "../../store/index.js";

export const SECURITY_ALERT_REASONS = ["pairing_unconfirmed", "pairing_lost", "unsealed_from_paired_lock", "identity_mismatch", "replay"] as const;
export type SecurityAlertReason = (typeof SECURITY_ALERT_REASONS)[number];

/** At most one event per lock and reason this often. */
export const ALERT_INTERVAL_MS = 15 * 60_000;
/** Shown in lock status and `diagnose` this long after the last occurrence. */
export const ALERT_VISIBLE_MS = 24 * 60 * 60_000;
/** Unsealed frames where sealed ones are due: this many within the window is "repeated". */
export const UNSEALED_REPEAT_COUNT = 3;
export const UNSEALED_WINDOW_MS = 60_000;

export interface SecurityAlertEvent {
  type: "lock.security_alert";
  at: string;
  lockId: string;
  reason: SecurityAlertReason;
  /** Occurrences this event stands for (more than 1 when the rate limit held some back). */
  occurrences: number;
  detail?: string;
  doorId?: string;
}

export class SecurityAlerts {
  private readonly unsealedSeen = new Map<string, number[]>();

  constructor(
    private readonly store: Pick<Store, "lockFacts">,
    private readonly now: () => number,
    /** Appends to the outbox (in the caller's transaction, if any). */
    private readonly emit: (event: SecurityAlertEvent) => void,
    private readonly doorOf: (lockId: string) => { doorId?: string },
  ) {}

  /** Records one occurrence; returns whether an event went upstream. */
  raise(lockId: string, reason: SecurityAlertReason, detail?: string): boolean {
    const nowMs = this.now();
    const at = formatInstant(nowMs);
    const prev = this.store.lockFacts.securityAlert(lockId, reason);
    const rec: SecurityAlertRecord = prev
      ? { ...prev, lastAtMs: nowMs, count: prev.count + 1, unreported: prev.unreported + 1 }
      : { reason, firstAtMs: nowMs, lastAtMs: nowMs, count: 1, emittedAtMs: 0, unreported: 1 };
    const due = rec.emittedAtMs === 0 || nowMs - rec.emittedAtMs >= ALERT_INTERVAL_MS;
    if (due) {
      this.emit({ type: "lock.security_alert", at, lockId, reason, occurrences: rec.unreported, ...(detail ? { detail } : {}), ...this.doorOf(lockId) });
      rec.emittedAtMs = nowMs;
      rec.unreported = 0;
    }
    this.store.lockFacts.putSecurityAlert(lockId, rec);
    return due;
  }

  /** An unsealed frame from a paired lock: alerted once repeated within the window. */
  unsealedFrame(lockId: string): boolean {
    const nowMs = this.now();
    const seen = (this.unsealedSeen.get(lockId) ?? []).filter((t) => nowMs - t < UNSEALED_WINDOW_MS);
    seen.push(nowMs);
    if (seen.length < UNSEALED_REPEAT_COUNT) {
      this.unsealedSeen.set(lockId, seen);
      return false;
    }
    this.unsealedSeen.set(lockId, []);
    return this.raise(lockId, "unsealed_from_paired_lock", `${seen.length} unsealed frames within ${UNSEALED_WINDOW_MS / 1000} s where sealed ones are due`);
  }

  /** Alerts of the lock seen within ALERT_VISIBLE_MS, newest first (lock status, diagnose). */
  recent(lockId: string): { reason: SecurityAlertReason; lastAt: string; count: number }[] {
    const nowMs = this.now();
    return SECURITY_ALERT_REASONS.flatMap((reason) => {
      const r = this.store.lockFacts.securityAlert(lockId, reason);
      return r && nowMs - r.lastAtMs < ALERT_VISIBLE_MS ? [{ reason, lastAtMs: r.lastAtMs, count: r.count }] : [];
    })
      .sort((a, b) => b.lastAtMs - a.lastAtMs)
      .map(({ reason, lastAtMs, count }) => ({ reason, lastAt: formatInstant(lastAtMs), count }));
  }

  /** Commissioning starts the lock's record afresh. */
  clear(lockId: string): void {
    this.store.lockFacts.clearSecurityAlerts(lockId);
    this.unsealedSeen.delete(lockId);
  }
}
