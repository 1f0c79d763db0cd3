/**
 * One lock's firmware update as a state machine whose state is in the store (docs/firmware.md):
 *
 *   queued -> transferring (offset) -> committing -> restarting -> verifying -> applied
 *                                                                  (any) -> failed (reason)
 *
 * Every step is resumable: a hub restarted mid-transfer sends the next chunk at the offset it
 * stored and the lock's NAK INVALID_STATE names the offset it really expects (a lock that lost
 * the transfer altogether gets FW_BEGIN again); a hub restarted after FW_COMMIT asks IDENT
 * before committing again. Each request runs in the lock's worker, so remote unlocks,
 * revocations and grants for the lock go between two chunks; a bus slot (bus-slots.ts) keeps
 * one transfer per bus. An unreachable lock is waited for up to the job's offline limit.
 */
import { createHash } from "node:crypto";
import { isLockNak } from "../lock/errors.js";
import { MAX_FW_CHUNK } from "../protocol/llp/constants.js";
import { classifyLockError } from "../provisioning/reconcile/lock-errors.js";
import { sleep, type Clock } from "../shared/clock.js";
import { LockBridgeError, errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { FirmwareJobRecord, FirmwareLockRecord, FirmwareLockUpdate } from "../store/index.js";
import type { BusSlots } from "./bus-slots.js";
import type { FirmwareJobStore, FirmwareLink, FirmwareLocks, FirmwareReporter, FirmwareTiming } from "./ports.js";

export interface LockUpdateDeps {
  locks: FirmwareLocks;
  jobs: Pick<FirmwareJobStore, "lock" | "updateLock">;
  slots: BusSlots;
  report: FirmwareReporter;
  clock: Clock;
  log: Logger;
  timing: FirmwareTiming;
  /** Aborted when the hub stops: the lock's state stays as stored, to be resumed. */
  stop: AbortSignal;
}

/** Ends the update of one lock with firmware.failed and this reason. */
class UpdateFailed extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Stored offsets are a lower bound (the lock's own offset wins): written every this many chunks. */
const SAVE_EVERY_CHUNKS = 32;

export class LockUpdate {
  private rec: FirmwareLockRecord;
  private readonly sha256: Buffer;
  private chunksSinceSave = 0;
  /** The bus slot, held from FW_BEGIN through FW_COMMIT (the lock holds a transfer meanwhile). */
  private releaseSlot: (() => void) | undefined;

  constructor(
    private readonly d: LockUpdateDeps,
    private readonly job: FirmwareJobRecord,
    private readonly image: Buffer,
    lockId: string,
  ) {
    const rec = d.jobs.lock(job.jobId, lockId);
    if (!rec) throw new LockBridgeError("internal", `lock ${lockId} is not part of firmware job ${job.jobId}`);
    this.rec = rec;
    this.sha256 = createHash("sha256").update(image).digest();
  }

  get lockId(): string {
    return this.rec.lockId;
  }

  /** Runs until applied or failed; returns early (state kept) when the hub stops. */
  async run(): Promise<void> {
    try {
      await this.runSteps();
    } finally {
      this.freeSlot();
    }
  }

  private freeSlot(): void {
    const release = this.releaseSlot;
    this.releaseSlot = undefined;
    release?.();
  }

  private async runSteps(): Promise<void> {
    const d = this.d;
    while (this.rec.state !== "applied" && this.rec.state !== "failed") {
      if (d.stop.aborted) return this.save({});
      try {
        await this.step();
        if (this.rec.offlineSince !== null) this.save({ offlineSince: null });
      } catch (e) {
        if (d.stop.aborted) return this.save({});
        if (e instanceof UpdateFailed) return this.fail(e.reason, e.message);
        const f = classifyLockError(e);
        if (f.kind === "unreachable" || (f.kind === "nak" && f.nak === "BUSY")) {
          const retryAfterMs = f.kind === "nak" ? f.retryAfterMs : undefined;
          if (await this.waitForLock(errorMessage(e), retryAfterMs)) continue;
          return;
        }
        const reason = f.kind === "nak" ? `lock_rejected:${f.nak ?? "unknown"}` : f.kind === "not_paired" ? "lock_not_paired" : "failed";
        return this.fail(reason, errorMessage(e));
      }
    }
  }

  private async step(): Promise<void> {
    switch (this.rec.state) {
      case "queued":
        return this.begin();
      case "transferring":
        return this.transfer();
      case "committing":
        return this.commit();
      case "restarting":
        return this.awaitVersion();
      case "verifying":
        return this.verify();
      default:
        return;
    }
  }

  /** Checks that the image fits the lock before any byte goes to it. */
  private begin(): Promise<void> {
    const { locks } = this.d;
    const lockId = this.lockId;
    if (!locks.inService(lockId)) throw new LockBridgeError("lock_offline", `lock ${lockId} is not in service`);
    const want = this.job.model;
    if (want !== null) {
      const m = locks.models(lockId);
      if ((m.profile !== null && m.profile !== want) || (m.ident !== null && m.ident !== want)) {
        throw new UpdateFailed("model_mismatch", `image is for model ${want}; lock ${lockId} is ${m.ident ?? m.profile ?? "unknown"} (profile ${m.profile ?? "unknown"})`);
      }
    }
    if (locks.online(lockId) === false) throw new LockBridgeError("lock_offline", `lock ${lockId} is offline`);
    this.save({ state: "transferring", offset: 0, maxChunk: null });
    return Promise.resolve();
  }

  /** FW_BEGIN (unless resuming), then the chunks in order, holding the bus slot. */
  private async transfer(): Promise<void> {
    const bus = this.d.locks.busOf(this.lockId) ?? `lock:${this.lockId}`;
    this.releaseSlot ??= await this.d.slots.acquire(bus, this.d.stop);
    try {
      const size = this.image.length;
      let maxChunk = this.rec.maxChunk;
      let offset = this.rec.offset;
      if (maxChunk === null) {
        const r = await this.task((l) => l.fwBegin(size, this.sha256, this.job.version));
        maxChunk = Math.max(1, Math.min(r.maxChunk, MAX_FW_CHUNK));
        offset = 0;
        this.save({ maxChunk, offset });
      } else if (offset > 0) {
        this.d.log.info({ jobId: this.job.jobId, lockId: this.lockId, offset }, "firmware transfer resumes");
      }
      while (offset < size) {
        const data = this.image.subarray(offset, Math.min(size, offset + maxChunk));
        try {
          await this.task((l) => l.fwChunk(offset, data));
          offset += data.length;
        } catch (e) {
          if (!isLockNak(e, "INVALID_STATE")) {
            this.save({ offset });
            throw e;
          }
          if (e.expectedOffset !== undefined && e.expectedOffset <= size) {
            // The lock is elsewhere (a lost ACK, a hub restart): continue where the lock is.
            this.d.log.info({ jobId: this.job.jobId, lockId: this.lockId, from: offset, to: e.expectedOffset }, "firmware transfer resumes at the lock's offset");
            offset = e.expectedOffset;
            this.save({ offset });
            continue;
          }
          // The lock holds no transfer any more (it restarted): start over with FW_BEGIN.
          this.d.log.warn({ jobId: this.job.jobId, lockId: this.lockId, offset }, "lock lost the firmware transfer: starting over");
          this.save({ offset: 0, maxChunk: null });
          return;
        }
        this.progress(offset);
      }
      this.save({ state: "committing", offset });
    } catch (e) {
      // Unreachable or refused: let the bus's other locks have their turn meanwhile.
      this.freeSlot();
      throw e;
    }
  }

  private async commit(): Promise<void> {
    try {
      await this.task((l) => l.fwCommit());
    } catch (e) {
      this.freeSlot();
      if (isLockNak(e, "VERIFY_FAILED")) {
        await this.task((l) => l.fwAbort()).catch(() => undefined);
        throw new UpdateFailed("verify_failed", `lock ${this.lockId} found the image damaged (VERIFY_FAILED) and keeps its firmware`);
      }
      if (!isLockNak(e, "INVALID_STATE")) throw e;
      // Committed before the hub restarted, or the lock lost the transfer: ask it.
      const ident = await this.task((l) => l.ident());
      if (ident.firmware === this.job.version) return this.save({ state: "verifying" });
      if (e.expectedOffset !== undefined && e.expectedOffset < this.image.length) return this.save({ state: "transferring", offset: e.expectedOffset });
      return this.save({ state: "transferring", offset: 0, maxChunk: null });
    }
    this.freeSlot();
    this.save({ state: "restarting" });
  }

  /** The lock verifies, applies and restarts (silent or BUSY): wait for IDENT to show the version. */
  private async awaitVersion(): Promise<void> {
    const deadline = this.d.clock.now() + this.d.timing.applyTimeoutMs;
    let seen: string | undefined;
    for (;;) {
      try {
        const ident = await this.task((l) => l.ident());
        if (ident.firmware === this.job.version) return this.save({ state: "verifying" });
        seen = ident.firmware;
      } catch (e) {
        const f = classifyLockError(e);
        if (f.kind !== "unreachable" && !(f.kind === "nak" && f.nak === "BUSY")) throw e;
      }
      if (this.d.stop.aborted) return;
      if (this.d.clock.now() > deadline) {
        throw new UpdateFailed("not_applied", `lock ${this.lockId} did not come back with firmware ${this.job.version}${seen ? ` (IDENT shows ${seen})` : ""}`);
      }
      await sleep(this.d.clock, this.d.timing.retryMs);
    }
  }

  /** Identity, clock and every table checked again (TABLE_DIGEST), a wiped table re-provisioned. */
  private async verify(): Promise<void> {
    const { locks, clock, timing } = this.d;
    locks.recheck(this.lockId);
    const deadline = clock.now() + timing.settleTimeoutMs;
    // Let the worker take the recheck before asking whether it settled.
    await sleep(clock, Math.min(50, timing.retryMs));
    while (!locks.settled(this.lockId) && clock.now() < deadline && !this.d.stop.aborted) await sleep(clock, Math.min(200, timing.retryMs));
    if (this.d.stop.aborted) return;
    const tablesChecked = locks.settled(this.lockId);
    this.save({ state: "applied", percent: 100 });
    this.d.report.event("firmware.applied", { jobId: this.job.jobId, lockId: this.lockId, version: this.job.version, tablesChecked });
  }

  private progress(offset: number): void {
    const size = this.image.length;
    const percent = Math.floor((offset * 100) / size);
    this.chunksSinceSave++;
    if (percent >= this.rec.percent + 10 || (offset === size && this.rec.percent < 100)) {
      this.save({ offset, percent });
      this.d.report.event("firmware.progress", { jobId: this.job.jobId, lockId: this.lockId, offset, size, percent });
    } else if (this.chunksSinceSave >= SAVE_EVERY_CHUNKS) {
      this.save({ offset });
    } else {
      this.rec = { ...this.rec, offset };
    }
  }

  /** Unreachable or BUSY: wait (true) until the job's offline limit, then fail (false). */
  private async waitForLock(why: string, retryAfterMs?: number): Promise<boolean> {
    const now = this.d.clock.now();
    const since = this.rec.offlineSince ?? now;
    if (this.rec.offlineSince === null) this.save({ offlineSince: since });
    if (now - since > this.job.maxOfflineMs) {
      this.fail("lock_offline", `lock ${this.lockId} unreachable for more than ${Math.round(this.job.maxOfflineMs / 1000)} s: ${why}`);
      return false;
    }
    // BUSY says how long (at most a minute is honoured); otherwise the usual retry interval.
    await sleep(this.d.clock, retryAfterMs !== undefined ? Math.min(60_000, Math.max(this.d.timing.retryMs, retryAfterMs)) : this.d.timing.retryMs);
    return !this.d.stop.aborted;
  }

  private fail(reason: string, message: string): void {
    this.d.log.warn({ jobId: this.job.jobId, lockId: this.lockId, reason, err: message }, "firmware update failed");
    const wasTransferring = this.rec.state === "transferring" || this.rec.state === "committing";
    this.save({ state: "failed", reason, message });
    this.d.report.event("firmware.failed", { jobId: this.job.jobId, lockId: this.lockId, reason, message });
    // Best effort: leave the lock without a half transfer (it keeps its firmware either way).
    if (wasTransferring && this.d.locks.inService(this.lockId)) void this.task((l) => l.fwAbort()).catch(() => undefined);
  }

  private task<T>(fn: (l: FirmwareLink) => Promise<T>): Promise<T> {
    return this.d.locks.runTask(this.lockId, fn);
  }

  private save(u: FirmwareLockUpdate): void {
    const before = this.rec.state;
    this.rec = { ...this.rec, ...u };
    this.chunksSinceSave = 0;
    this.d.jobs.updateLock(this.job.jobId, this.lockId, { ...u, offset: this.rec.offset });
    if (this.rec.state !== before) this.d.log.info({ jobId: this.job.jobId, lockId: this.lockId, from: before, to: this.rec.state, offset: this.rec.offset }, "firmware update step");
    if (this.rec.state !== before || u.percent !== undefined) this.d.report.lockChanged(this.lockId);
  }
}
