/**
 * firmware.update jobs (issue 15, docs/firmware.md): a job is stored with its locks before it
 * runs, its image is fetched once, checked (size, SHA-256) and kept in the data dir for every
 * lock of the job, then each lock is updated by its own LockUpdate, all in parallel but one
 * transfer per bus (a configurable number per BLE adapter). A job whose every lock is applied
 * or failed ends: its image is removed. At start the hub resumes the jobs that had not ended.
 */
import type { Clock } from "../shared/clock.js";
import { LockBridgeError, errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { FirmwareJobRecord, FirmwareLockRecord } from "../store/index.js";
import { BusSlots } from "./bus-slots.js";
import type { ImageCache } from "./image-cache.js";
import { LockUpdate } from "./lock-update.js";
import { firmwareJobViews, type FirmwareJobView } from "./view.js";
import { DEFAULT_FIRMWARE_TIMING, type FirmwareJobStore, type FirmwareLocks, type FirmwareReporter, type FirmwareTiming } from "./ports.js";

export interface FirmwareJob {
  jobId: string;
  lockIds: string[];
  version: string;
  url: string;
  sha256: string;
  size: number;
  /** Optional (docs/mqtt-api.md): the model the image is for, checked against each lock. */
  model?: string | undefined;
  /** Optional: how long a lock may stay unreachable before it is failed (lock_offline). */
  maxOfflineS?: number | undefined;
}

export interface FirmwareServiceDeps {
  jobs: FirmwareJobStore;
  locks: FirmwareLocks;
  images: ImageCache;
  report: FirmwareReporter;
  clock: Clock;
  log: Logger;
  timing?: Partial<FirmwareTiming>;
  /** Concurrent transfers per BLE adapter (default 1). */
  blePerAdapter?: number;
  /** Accept http:// image URLs; default false: firmware.update needs https://. */
  allowHttp?: boolean;
}

/** A lock's update as lock status and `lockbridge firmware status` show it. */
export interface FirmwareLockView {
  jobId: string;
  version: string;
  state: FirmwareLockRecord["state"];
  percent: number;
  offset: number;
  size: number;
  reason?: string;
}

export class FirmwareService {
  private readonly running = new Map<string, Promise<void>>();
  private readonly slots: BusSlots;
  private readonly timing: FirmwareTiming;
  private stopper = new AbortController();

  constructor(private readonly d: FirmwareServiceDeps) {
    this.slots = new BusSlots({ blePerAdapter: d.blePerAdapter ?? 1 });
    this.timing = { ...DEFAULT_FIRMWARE_TIMING, ...d.timing };
  }

  /**
   * Stores the job with the locks in service and runs it in the background. A jobId already
   * known is not started twice (a redelivered command). Throws unknown_lock when no lock is in service.
   */
  start(job: FirmwareJob): { accepted: string[]; rejected: string[] } {
    const known = this.d.jobs.job(job.jobId);
    if (known) {
      const locks = this.d.jobs.locks(job.jobId).map((l) => l.lockId);
      return { accepted: locks, rejected: job.lockIds.filter((id) => !locks.includes(id)) };
    }
    if (!this.d.allowHttp && !/^https:/i.test(job.url)) {
      throw new LockBridgeError("invalid_payload", "the image URL must be https:// (set firmware.allowHttp for a lab or tests)", "url");
    }
    const accepted = [...new Set(job.lockIds.filter((id) => this.d.locks.inService(id)))];
    const rejected = job.lockIds.filter((id) => !accepted.includes(id));
    if (accepted.length === 0) throw new LockBridgeError("unknown_lock", "none of the locks is in service", "lockIds");
    const maxOfflineMs = job.maxOfflineS !== undefined ? job.maxOfflineS * 1000 : this.timing.maxOfflineMs;
    this.d.jobs.create({ jobId: job.jobId, version: job.version, url: job.url, sha256: job.sha256.toLowerCase(), size: job.size, model: job.model ?? null, maxOfflineMs }, accepted);
    for (const lockId of accepted) this.d.report.lockChanged(lockId);
    // After the caller's transaction (the command's commit) has ended: a job whose rows were
    // rolled back is found missing and never runs.
    queueMicrotask(() => this.launch(job.jobId));
    return { accepted, rejected };
  }

  /** Resumes every job that had not ended (hub start, after the engine's locks are in service). */
  resume(): void {
    if (this.stopper.signal.aborted) this.stopper = new AbortController();
    for (const job of this.d.jobs.openJobs()) {
      this.d.log.info({ jobId: job.jobId }, "firmware job resumed");
      this.launch(job.jobId);
    }
  }

  /** Stops every job where it is (state kept for the next start). */
  async stop(): Promise<void> {
    this.stopper.abort(new LockBridgeError("lock_offline", "the hub is stopping"));
    await this.idle();
  }

  /** Resolves when every running job has ended or stopped (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /** The lock's update in a job not ended yet (lock status). */
  lockView(lockId: string): FirmwareLockView | undefined {
    const rec = this.d.jobs.activeFor(lockId);
    if (!rec) return undefined;
    const job = this.d.jobs.job(rec.jobId);
    if (!job) return undefined;
    return { jobId: rec.jobId, version: job.version, state: rec.state, percent: rec.percent, offset: rec.offset, size: job.size, ...(rec.reason ? { reason: rec.reason } : {}) };
  }

  /** Recent jobs, newest first, with each lock's state (`lockbridge firmware status`). */
  jobsView(limit = 20): FirmwareJobView[] {
    return firmwareJobViews(this.d.jobs, limit);
  }

  private launch(jobId: string): void {
    if (this.running.has(jobId)) return;
    const p = this.run(jobId)
      .catch((e: unknown) => this.d.log.error({ jobId, err: errorMessage(e) }, "firmware job stopped by an error"))
      .finally(() => this.running.delete(jobId));
    this.running.set(jobId, p);
  }

  private async run(jobId: string): Promise<void> {
    const job = this.d.jobs.job(jobId);
    if (!job) return;
    const open = this.d.jobs.locks(jobId).filter((l) => l.state !== "applied" && l.state !== "failed");
    let image: Buffer;
    try {
      image = await this.d.images.get(job);
    } catch (e) {
      if (this.stopper.signal.aborted) return;
      this.d.log.warn({ jobId, err: errorMessage(e) }, "firmware job failed before any lock: the image was refused");
      for (const l of open) this.failUnsent(job, l.lockId, "image_invalid", errorMessage(e));
      this.end(job);
      return;
    }
    const stop = this.stopper.signal;
    await Promise.all(
      open.map((l) =>
        new LockUpdate({ locks: this.d.locks, jobs: this.d.jobs, slots: this.slots, report: this.d.report, clock: this.d.clock, log: this.d.log, timing: this.timing, stop }, job, image, l.lockId)
          .run()
          .catch((e: unknown) => this.d.log.error({ jobId, lockId: l.lockId, err: errorMessage(e) }, "firmware update of a lock stopped by an error")),
      ),
    );
    if (stop.aborted) return;
    if (this.d.jobs.locks(jobId).every((l) => l.state === "applied" || l.state === "failed")) this.end(job);
  }

  private failUnsent(job: FirmwareJobRecord, lockId: string, reason: string, message: string): void {
    this.d.jobs.updateLock(job.jobId, lockId, { state: "failed", reason, message });
    this.d.report.event("firmware.failed", { jobId: job.jobId, lockId, reason, message });
    this.d.report.lockChanged(lockId);
  }

  private end(job: FirmwareJobRecord): void {
    this.d.jobs.end(job.jobId);
    this.d.images.remove(job.jobId);
    const locks = this.d.jobs.locks(job.jobId);
    for (const l of locks) this.d.report.lockChanged(l.lockId);
    this.d.log.info({ jobId: job.jobId, applied: locks.filter((l) => l.state === "applied").length, failed: locks.filter((l) => l.state === "failed").length }, "firmware job ended");
  }
}
