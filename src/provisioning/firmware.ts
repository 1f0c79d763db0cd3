/**
 * firmware.update jobs: fetch the image once, check its size and SHA-256, then send it to
 * each lock through that lock's worker one chunk at a time (an unlock or a revocation for
 * the lock goes between two chunks), commit, and wait for IDENT to show the new version.
 * Progress, success and failure arrive as events (firmware.progress / applied / failed).
 *
 * Locks are updated one after the other: an image on a shared RS-485 bus would otherwise
 * starve every other lock of that bus, and a bad image should stop at the first lock.
 */
import { createHash } from "node:crypto";
import { MAX_FW_CHUNK } from "../protocol/llp/constants.js";
import { isLockNak } from "../lock/errors.js";
import { sleep } from "../shared/clock.js";
import { LockBridgeError, errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { ProvisioningEngine } from "./engine.js";
import { classifyLockError } from "./lock-errors.js";
import { formatInstant } from "../shared/instant.js";

export interface FirmwareJob {
  jobId: string;
  lockIds: string[];
  version: string;
  url: string;
  sha256: string;
  size: number;
}

export type ImageFetcher = (url: string, maxBytes: number) => Promise<Buffer>;

/**
 * Fetches over http(s) with the runtime's fetch, streamed: a Content-Length over `maxBytes`
 * is refused before the body is read, and a body that runs past `maxBytes` (a server that
 * lies about the size, or sends without end) is aborted at that point, so the hub never holds
 * more than the announced image.
 */
export const httpImageFetcher: ImageFetcher = async (url, maxBytes) => {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal });
  try {
    if (!res.ok) throw new LockBridgeError("invalid_payload", `firmware download failed: HTTP ${res.status}`, "url");
    const announced = Number(res.headers.get("content-length") ?? NaN);
    if (Number.isFinite(announced) && announced > maxBytes) {
      throw new LockBridgeError("invalid_payload", `firmware image is larger than announced (server says ${announced} bytes > ${maxBytes})`, "size");
    }
    const image = Buffer.alloc(maxBytes);
    let length = 0;
    if (res.body) {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        if (length + chunk.length > maxBytes) throw new LockBridgeError("invalid_payload", `firmware image is larger than announced (more than ${maxBytes} bytes): download aborted`, "size");
        image.set(chunk, length);
        length += chunk.length;
      }
    }
    return image.subarray(0, length);
  } finally {
    // Whatever is left unread is not wanted: close the connection rather than drain it.
    abort.abort();
  }
};

/** How long a lock may take to come back with the new version after FW_COMMIT. */
const APPLY_TIMEOUT_MS = 120_000;
const IDENT_RETRY_MS = 1000;

export class FirmwareService {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly engine: ProvisioningEngine,
    private readonly log: Logger,
    private readonly fetchImage: ImageFetcher = httpImageFetcher,
  ) {}

  /** Accepts the locks in service; the job runs in the background. */
  start(job: FirmwareJob): { accepted: string[]; rejected: string[] } {
    const accepted = job.lockIds.filter((id) => this.engine.worker(id) !== undefined);
    const rejected = job.lockIds.filter((id) => !accepted.includes(id));
    if (accepted.length === 0) throw new LockBridgeError("unknown_lock", "none of the locks is in service", "lockIds");
    const p = this.run(job, accepted).finally(() => this.running.delete(p));
    this.running.add(p);
    return { accepted, rejected };
  }

  /** Resolves when every job has ended (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  private async run(job: FirmwareJob, lockIds: string[]): Promise<void> {
    let image: Buffer;
    try {
      image = await this.fetchImage(job.url, job.size);
      if (image.length !== job.size) throw new LockBridgeError("invalid_payload", `image is ${image.length} bytes, announced ${job.size}`, "size");
      const digest = createHash("sha256").update(image).digest("hex");
      if (digest !== job.sha256.toLowerCase()) throw new LockBridgeError("invalid_payload", "image SHA-256 does not match", "sha256");
    } catch (e) {
      this.log.warn({ jobId: job.jobId, err: errorMessage(e) }, "firmware job failed before any lock");
      for (const lockId of lockIds) this.emit("firmware.failed", job, lockId, { reason: "image_invalid", message: errorMessage(e) });
      return;
    }
    for (const lockId of lockIds) {
      try {
        await this.update(job, lockId, image);
      } catch (e) {
        const f = classifyLockError(e);
        const reason = f.kind === "unreachable" ? "lock_offline" : f.kind === "nak" ? `lock_rejected:${f.nak ?? "unknown"}` : "failed";
        this.log.warn({ jobId: job.jobId, lockId, err: errorMessage(e) }, "firmware update failed");
        this.emit("firmware.failed", job, lockId, { reason, message: errorMessage(e) });
        // Best effort: leave the lock without a half transfer.
        await this.engine.worker(lockId)?.runTask((port) => port.fwAbort()).catch(() => undefined);
      }
    }
  }

  private async update(job: FirmwareJob, lockId: string, image: Buffer): Promise<void> {
    const worker = (): NonNullable<ReturnType<ProvisioningEngine["worker"]>> => {
      const w = this.engine.worker(lockId);
      if (!w) throw new LockBridgeError("lock_offline", `lock ${lockId} left service`);
      return w;
    };
    const sha256 = createHash("sha256").update(image).digest();
    const { maxChunk } = await worker().runTask((port) => port.fwBegin(image.length, sha256, job.version));
    const chunk = Math.max(1, Math.min(maxChunk, MAX_FW_CHUNK));
    let offset = 0;
    let reported = 0;
    while (offset < image.length) {
      const data = image.subarray(offset, Math.min(image.length, offset + chunk));
      try {
        await worker().runTask((port) => port.fwChunk(offset, data));
        offset += data.length;
      } catch (e) {
        // The lock lost or already has data: resume where it is.
        if (isLockNak(e, "INVALID_STATE") && e.expectedOffset !== undefined && e.expectedOffset <= image.length) {
          offset = e.expectedOffset;
          continue;
        }
        throw e;
      }
      const percent = Math.floor((offset * 100) / image.length);
      if (percent >= reported + 10 || offset === image.length) {
        reported = percent;
        this.emit("firmware.progress", job, lockId, { offset, size: image.length, percent });
      }
    }
    await worker().runTask((port) => port.fwCommit());
    // The lock verifies, applies and restarts (silent or BUSY): wait for IDENT to show the version.
    const deadline = this.engine.now() + APPLY_TIMEOUT_MS;
    for (;;) {
      try {
        const ident = await worker().runTask((port) => port.ident());
        if (ident.firmware === job.version) break;
      } catch (e) {
        if (classifyLockError(e).kind === "nak" && !isLockNak(e, "BUSY")) throw e;
      }
      if (this.engine.now() > deadline) throw new LockBridgeError("lock_timeout", `lock ${lockId} did not come back with firmware ${job.version}`);
      await sleep(this.engine.clock, IDENT_RETRY_MS);
    }
    worker().recheck();
    this.emit("firmware.applied", job, lockId, { version: job.version });
  }

  private emit(type: "firmware.progress" | "firmware.applied" | "firmware.failed", job: FirmwareJob, lockId: string, extra: Record<string, unknown>): void {
    this.engine.emit([{ type, at: formatInstant(this.engine.now()), jobId: job.jobId, lockId, ...extra }]);
  }
}
