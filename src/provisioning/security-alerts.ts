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
import type { Store } from "../store/index.js";

export const SECURITY_ALERT_REASONS = ["pairing_unconfirmed", "pairing_lost", "unsealed_from_paired_lock", "identity_mismatch", "replay"] as const;
export type SecurityAlertReason = (typeof SECURITY_ALERT_REASONS)[number];

/** At most one event per lock and reason this often. */
export const ALERT_INTERVAL_MS = 15 * 60_000;
/** Shown in lock status and `diagnose` this long after the last occurrence. */
export const ALERT_VISIBLE_MS = 24 * 60 * 60_000;
/** Unsealed frames where sealed ones are due: this many within the window is "repeated". */
export const UNSEALED_REPEAT_COUNT = 3;
export const UNSEALED_WINDOW_MS = 60_000;

export interface SecurityAlertRecord {
  reason: SecurityAlertReason;
  /** ISO time of the first occurrence since the record was cleared. */
  firstAt: string;
  lastAt: string;
  /** Occurrences since the record was cleared. */
  count: number;
  /** ms of the last event sent upstream (0: none yet). */
  emittedAtMs: number;
  /** Occurrences since that event. */
  unreported: number;
}

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

const META = (lockId: string, reason: SecurityAlertReason): string => `lock.securityAlert:${lockId}:${reason}`;

export class SecurityAlerts {
  private readonly unsealedSeen = new Map<string, number[]>();

  constructor(
    private readonly store: Pick<Store, "meta">,
    private readonly now: () => number,
    /** Appends to the outbox (in the caller's transaction, if any). */
    private readonly emit: (event: SecurityAlertEvent) => void,
    private readonly doorOf: (lockId: string) => { doorId?: string },
  ) {}

  /** Records one occurrence; returns whether an event went upstream. */
  raise(lockId: string, reason: SecurityAlertReason, detail?: string): boolean {
    const nowMs = this.now();
    const at = new Date(nowMs).toISOString();
    const prev = this.read(lockId, reason);
    const rec: SecurityAlertRecord = prev
      ? { ...prev, lastAt: at, count: prev.count + 1, unreported: prev.unreported + 1 }
      : { reason, firstAt: at, lastAt: at, count: 1, emittedAtMs: 0, unreported: 1 };
    const due = rec.emittedAtMs === 0 || nowMs - rec.emittedAtMs >= ALERT_INTERVAL_MS;
    if (due) {
      this.emit({ type: "lock.security_alert", at, lockId, reason, occurrences: rec.unreported, ...(detail ? { detail } : {}), ...this.doorOf(lockId) });
      rec.emittedAtMs = nowMs;
      rec.unreported = 0;
    }
    this.store.meta.set(META(lockId, reason), JSON.stringify(rec));
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
      const r = this.read(lockId, reason);
      return r && nowMs - Date.parse(r.lastAt) < ALERT_VISIBLE_MS ? [{ reason, lastAt: r.lastAt, count: r.count }] : [];
    }).sort((a, b) => b.lastAt.localeCompare(a.lastAt));
  }

  /** Commissioning starts the lock's record afresh. */
  clear(lockId: string): void {
    for (const reason of SECURITY_ALERT_REASONS) this.store.meta.delete(META(lockId, reason));
    this.unsealedSeen.delete(lockId);
  }

  private read(lockId: string, reason: SecurityAlertReason): SecurityAlertRecord | undefined {
    const raw = this.store.meta.get(META(lockId, reason));
    if (raw === undefined) return undefined;
    try {
      const r = JSON.parse(raw) as SecurityAlertRecord;
      return typeof r.count === "number" && typeof r.lastAt === "string" ? r : undefined;
    } catch {
      return undefined; // a damaged note is dropped, not fatal: the next occurrence starts it again
    }
  }
}
