/**
 * What the firmware bridge needs from the rest of the hub, as narrow ports (docs/firmware.md):
 * a few calls on the lock workers, never the whole engine or store. The provisioning layer
 * wires the real ones (src/provisioning/firmware.ts); tests may wire their own.
 */
import type { IdentInfo } from "../protocol/llp/commands.js";
import type { FirmwareJobRecord, FirmwareLockRecord, FirmwareLockUpdate } from "../store/index.js";

/** The firmware commands of one lock's link (lock-link-protocol.md §3, 0x40..0x43) and IDENT. */
export interface FirmwareLink {
  ident(): Promise<IdentInfo>;
  fwBegin(size: number, sha256: Uint8Array, version: string): Promise<{ maxChunk: number }>;
  fwChunk(offset: number, data: Uint8Array): Promise<void>;
  fwCommit(): Promise<void>;
  fwAbort(): Promise<void>;
}

/** The locks in service, as the firmware bridge uses them. */
export interface FirmwareLocks {
  /**
   * Runs `fn` with the lock's link in the lock's own worker, between its other work: remote
   * unlocks, revocations and grants go first. Rejects lock_offline when the lock is not in
   * service (or the hub stops), else with fn's error.
   */
  runTask<T>(lockId: string, fn: (link: FirmwareLink) => Promise<T>): Promise<T>;
  inService(lockId: string): boolean;
  /** The session's view (undefined before the first answer or out of service). */
  online(lockId: string): boolean | undefined;
  /** The shared medium of the lock's link (bus-slots.ts busKeyOf), undefined when unknown. */
  busOf(lockId: string): string | undefined;
  /** The model the lock last reported in IDENT and the one its device profile names. */
  models(lockId: string): { ident: string | null; profile: string | null };
  /** Check identity, pairing, clock and every table now (after the restart). */
  recheck(lockId: string): void;
  /** True once the lock's worker has nothing queued or due (tables verified, repairs done). */
  settled(lockId: string): boolean;
}

/** Where the jobs are kept (src/store/repos/firmware-jobs.ts). */
export interface FirmwareJobStore {
  create(job: Omit<FirmwareJobRecord, "createdAt" | "endedAt">, lockIds: readonly string[]): boolean;
  job(jobId: string): FirmwareJobRecord | undefined;
  openJobs(): FirmwareJobRecord[];
  recentJobs(limit?: number): FirmwareJobRecord[];
  locks(jobId: string): FirmwareLockRecord[];
  lock(jobId: string, lockId: string): FirmwareLockRecord | undefined;
  activeFor(lockId: string): FirmwareLockRecord | undefined;
  updateLock(jobId: string, lockId: string, u: FirmwareLockUpdate): void;
  end(jobId: string): void;
}

export type FirmwareEventType = "firmware.progress" | "firmware.applied" | "firmware.failed";

/** Events upstream and lock status republishing. */
export interface FirmwareReporter {
  event(type: FirmwareEventType, fields: Record<string, unknown>): void;
  /** The lock's firmware update state changed (its retained status shows it). */
  lockChanged(lockId: string): void;
}

export interface FirmwareTiming {
  /** How long a lock may take to come back with the new version after FW_COMMIT. Default 120 s. */
  applyTimeoutMs: number;
  /** Between two tries while a lock is unreachable or restarting. Default 1 s. */
  retryMs: number;
  /** How long the table check after the restart may take before applied is reported anyway. Default 120 s. */
  settleTimeoutMs: number;
  /** A lock unreachable longer than this fails with lock_offline (when the job names none). Default 30 min. */
  maxOfflineMs: number;
}

export const DEFAULT_FIRMWARE_TIMING: FirmwareTiming = {
  applyTimeoutMs: 120_000,
  retryMs: 1000,
  settleTimeoutMs: 120_000,
  maxOfflineMs: 30 * 60_000,
};
