/**
 * What the hub concluded about a lock across restarts: a low battery already reported, a
 * pairing that seems lost, another lock answering at its link, its security alerts
 * (LLP v1.1 §9.4) and when each of its tables was last verified. Columns of `locks` and rows of `lock_security_alerts` (ON DELETE CASCADE):
 * decommissioning a lock forgets them.
 */
import type { CredentialType } from "../../access/model.js";
import { statementCache, type RepoContext } from "../db.js";

/** One security alert reason of one lock: occurrences and what the rate limit held back. */
export interface SecurityAlertRecord {
  reason: string;
  firstAtMs: number;
  lastAtMs: number;
  count: number;
  /** When the last event went upstream; 0 when none has yet. */
  emittedAtMs: number;
  /** Occurrences since that event. */
  unreported: number;
}

interface AlertRow {
  reason: string;
  first_at: number;
  last_at: number;
  count: number;
  emitted_at: number;
  unreported: number;
}

const toAlert = (r: AlertRow): SecurityAlertRecord => ({
  reason: r.reason,
  firstAtMs: r.first_at,
  lastAtMs: r.last_at,
  count: r.count,
  emittedAtMs: r.emitted_at,
  unreported: r.unreported,
});

export class LockFactsRepo {
  private readonly q;
  constructor(ctx: RepoContext) {
    this.q = statementCache(ctx.db);
  }

  /** The battery level lock.battery_low was raised at, or null when none is outstanding. */
  batteryLowReported(lockId: string): number | null {
    return this.column<number>(lockId, "battery_low_reported");
  }

  setBatteryLowReported(lockId: string, battery: number | null): void {
    this.q("UPDATE locks SET battery_low_reported = ? WHERE lock_id = ?").run(battery, lockId);
  }

  /** When the lock was found to have lost its pairing, or null. */
  pairingLostAt(lockId: string): number | null {
    return this.column<number>(lockId, "pairing_lost_at");
  }

  setPairingLostAt(lockId: string, atMs: number | null): void {
    this.q("UPDATE locks SET pairing_lost_at = ? WHERE lock_id = ?").run(atMs, lockId);
  }

  /** The lockId that answered at this lock's link instead (a hint: LLP v1.1 §9.1), or null. */
  replacedBy(lockId: string): string | null {
    return this.column<string>(lockId, "replaced_by");
  }

  setReplacedBy(lockId: string, newLockId: string | null): void {
    this.q("UPDATE locks SET replaced_by = ? WHERE lock_id = ?").run(newLockId, lockId);
  }

  securityAlert(lockId: string, reason: string): SecurityAlertRecord | undefined {
    const r = this.q("SELECT reason, first_at, last_at, count, emitted_at, unreported FROM lock_security_alerts WHERE lock_id = ? AND reason = ?").get(lockId, reason) as
      | AlertRow
      | undefined;
    return r && toAlert(r);
  }

  putSecurityAlert(lockId: string, a: SecurityAlertRecord): void {
    this.q(
      `INSERT INTO lock_security_alerts (lock_id, reason, first_at, last_at, count, emitted_at, unreported)
       VALUES (@lockId, @reason, @firstAtMs, @lastAtMs, @count, @emittedAtMs, @unreported)
       ON CONFLICT (lock_id, reason) DO UPDATE SET first_at = excluded.first_at, last_at = excluded.last_at, count = excluded.count,
         emitted_at = excluded.emitted_at, unreported = excluded.unreported`,
    ).run({ lockId, ...a });
  }

  clearSecurityAlerts(lockId: string): void {
    this.q("DELETE FROM lock_security_alerts WHERE lock_id = ?").run(lockId);
  }

  /** When each credential table of the lock last matched its expected digest (ms), by kind. */
  tablesVerifiedAt(lockId: string): Map<CredentialType, number> {
    const rows = this.q("SELECT kind, verified_at FROM lock_table_verifications WHERE lock_id = ?").all(lockId) as { kind: CredentialType; verified_at: number }[];
    return new Map(rows.map((r) => [r.kind, r.verified_at]));
  }

  setTableVerifiedAt(lockId: string, kind: CredentialType, atMs: number): void {
    this.q(
      `INSERT INTO lock_table_verifications (lock_id, kind, verified_at) SELECT lock_id, @kind, @atMs FROM locks WHERE lock_id = @lockId
       ON CONFLICT (lock_id, kind) DO UPDATE SET verified_at = excluded.verified_at`,
    ).run({ lockId, kind, atMs });
  }

  private column<T extends number | string>(lockId: string, column: "battery_low_reported" | "pairing_lost_at" | "replaced_by"): T | null {
    const row = this.q(`SELECT ${column} AS v FROM locks WHERE lock_id = ?`).get(lockId) as { v: T | null } | undefined;
    return row?.v ?? null;
  }
}
