/**
 * Firmware jobs (issue 15, docs/firmware.md): the job as firmware.update gave it and, per
 * lock, where its update stands (queued, transferring at an offset, committing, restarting,
 * verifying, applied, failed with a reason). Written as the update goes, so a hub restarted
 * mid-update resumes each lock where it was instead of starting over.
 */
import { statementCache, type RepoContext } from "../db.js";

export const FIRMWARE_LOCK_STATES = ["queued", "transferring", "committing", "restarting", "verifying", "applied", "failed"] as const;
export type FirmwareLockState = (typeof FIRMWARE_LOCK_STATES)[number];

export interface FirmwareJobRecord {
  jobId: string;
  version: string;
  url: string;
  sha256: string;
  size: number;
  /** The model the image is built for (optional in firmware.update); null: not checked against it. */
  model: string | null;
  /** A lock unreachable longer than this during its update is marked failed (lock_offline). */
  maxOfflineMs: number;
  createdAt: number;
  endedAt: number | null;
}

export interface FirmwareLockRecord {
  jobId: string;
  lockId: string;
  state: FirmwareLockState;
  /** Bytes the lock acknowledged (a lower bound: the lock's own offset wins on resume). */
  offset: number;
  maxChunk: number | null;
  /** Last percentage reported in firmware.progress. */
  percent: number;
  reason: string | null;
  message: string | null;
  offlineSince: number | null;
  updatedAt: number;
}

interface JobRow {
  job_id: string;
  version: string;
  url: string;
  sha256: string;
  size: number;
  model: string | null;
  max_offline_ms: number;
  created_at: number;
  ended_at: number | null;
}

interface LockRow {
  job_id: string;
  lock_id: string;
  state: FirmwareLockState;
  byte_offset: number;
  max_chunk: number | null;
  percent: number;
  reason: string | null;
  message: string | null;
  offline_since: number | null;
  updated_at: number;
}

const toJob = (r: JobRow): FirmwareJobRecord => ({
  jobId: r.job_id, version: r.version, url: r.url, sha256: r.sha256, size: r.size, model: r.model,
  maxOfflineMs: r.max_offline_ms, createdAt: r.created_at, endedAt: r.ended_at,
});

const toLock = (r: LockRow): FirmwareLockRecord => ({
  jobId: r.job_id, lockId: r.lock_id, state: r.state, offset: r.byte_offset, maxChunk: r.max_chunk, percent: r.percent,
  reason: r.reason, message: r.message, offlineSince: r.offline_since, updatedAt: r.updated_at,
});

/** Ended jobs kept for `lockbridge firmware status`; older ones are deleted when a job ends. */
const KEEP_ENDED_JOBS = 20;

export type FirmwareLockUpdate = Partial<Pick<FirmwareLockRecord, "state" | "offset" | "maxChunk" | "percent" | "reason" | "message" | "offlineSince">>;

export class FirmwareJobsRepo {
  private readonly q;
  constructor(private readonly ctx: RepoContext) {
    this.q = statementCache(ctx.db);
  }

  /** Records a new job with its locks queued; false (nothing changed) when the jobId is known. */
  create(job: Omit<FirmwareJobRecord, "createdAt" | "endedAt">, lockIds: readonly string[]): boolean {
    return this.ctx.db.transaction(() => {
      const now = this.ctx.clock.now();
      const added = this.q(
        `INSERT INTO firmware_jobs (job_id, version, url, sha256, size, model, max_offline_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_id) DO NOTHING`,
      ).run(job.jobId, job.version, job.url, job.sha256, job.size, job.model, job.maxOfflineMs, now).changes;
      if (added === 0) return false;
      for (const lockId of lockIds) {
        this.q("INSERT OR IGNORE INTO firmware_locks (job_id, lock_id, state, updated_at) VALUES (?, ?, 'queued', ?)").run(job.jobId, lockId, now);
      }
      return true;
    }).immediate();
  }

  job(jobId: string): FirmwareJobRecord | undefined {
    const r = this.q("SELECT * FROM firmware_jobs WHERE job_id = ?").get(jobId) as JobRow | undefined;
    return r ? toJob(r) : undefined;
  }

  /** Jobs not ended yet, oldest first (resumed at start). */
  openJobs(): FirmwareJobRecord[] {
    return (this.q("SELECT * FROM firmware_jobs WHERE ended_at IS NULL ORDER BY created_at, job_id").all() as JobRow[]).map(toJob);
  }

  /** The newest jobs first, ended or not. */
  recentJobs(limit = KEEP_ENDED_JOBS): FirmwareJobRecord[] {
    return (this.q("SELECT * FROM firmware_jobs ORDER BY created_at DESC, job_id DESC LIMIT ?").all(limit) as JobRow[]).map(toJob);
  }

  locks(jobId: string): FirmwareLockRecord[] {
    return (this.q("SELECT * FROM firmware_locks WHERE job_id = ? ORDER BY lock_id").all(jobId) as LockRow[]).map(toLock);
  }

  lock(jobId: string, lockId: string): FirmwareLockRecord | undefined {
    const r = this.q("SELECT * FROM firmware_locks WHERE job_id = ? AND lock_id = ?").get(jobId, lockId) as LockRow | undefined;
    return r ? toLock(r) : undefined;
  }

  /** The lock's row in a job not ended yet (lock status), if any. */
  activeFor(lockId: string): FirmwareLockRecord | undefined {
    const r = this.q(
      `SELECT l.* FROM firmware_locks l JOIN firmware_jobs j ON j.job_id = l.job_id
       WHERE l.lock_id = ? AND j.ended_at IS NULL ORDER BY j.created_at DESC LIMIT 1`,
    ).get(lockId) as LockRow | undefined;
    return r ? toLock(r) : undefined;
  }

  updateLock(jobId: string, lockId: string, u: FirmwareLockUpdate): void {
    const cur = this.lock(jobId, lockId);
    if (!cur) return;
    const n = { ...cur, ...u };
    this.q(
      `UPDATE firmware_locks SET state = ?, byte_offset = ?, max_chunk = ?, percent = ?, reason = ?, message = ?, offline_since = ?, updated_at = ?
       WHERE job_id = ? AND lock_id = ?`,
    ).run(n.state, n.offset, n.maxChunk, n.percent, n.reason, n.message, n.offlineSince, this.ctx.clock.now(), jobId, lockId);
  }

  /** Marks the job ended and deletes the oldest ended jobs beyond the ones kept for status. */
  end(jobId: string): void {
    this.ctx.db.transaction(() => {
      this.q("UPDATE firmware_jobs SET ended_at = ? WHERE job_id = ? AND ended_at IS NULL").run(this.ctx.clock.now(), jobId);
      this.q(
        `DELETE FROM firmware_jobs WHERE ended_at IS NOT NULL AND job_id NOT IN
         (SELECT job_id FROM firmware_jobs WHERE ended_at IS NOT NULL ORDER BY ended_at DESC LIMIT ?)`,
      ).run(KEEP_ENDED_JOBS);
    }).immediate();
  }
}
