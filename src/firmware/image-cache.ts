/**
 * The verified image of a firmware job, kept in the data dir (`firmware/`, 0700, files 0600 like
 * the store) from its download until the job ends: every lock of the job, and the same job
 * resumed after a restart, read it from there instead of downloading it again. An image is
 * written under a temporary name and renamed only once its size and SHA-256 match, so a file
 * under the final name is always a verified image; it is checked again when read back.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { LockBridgeError } from "../shared/errors.js";
import { OWNER_ONLY_FILE, ownerOnlyDir } from "../store/owner-only.js";

export type ImageFetcher = (url: string, maxBytes: number) => Promise<Buffer>;

export interface ImageSpec {
  jobId: string;
  url: string;
  sha256: string;
  size: number;
}

/** Throws invalid_payload unless `image` is exactly the announced one. */
export function checkImage(image: Buffer, spec: Pick<ImageSpec, "sha256" | "size">): void {
  if (image.length !== spec.size) throw new LockBridgeError("invalid_payload", `image is ${image.length} bytes, announced ${spec.size}`, "size");
  const digest = createHash("sha256").update(image).digest("hex");
  if (digest !== spec.sha256.toLowerCase()) throw new LockBridgeError("invalid_payload", "image SHA-256 does not match", "sha256");
}

export class ImageCache {
  constructor(
    /** The directory for images (created 0700 on first use). */
    readonly dir: string,
    private readonly fetchImage: ImageFetcher,
  ) {}

  /** A file name that is safe whatever the jobId holds. */
  fileOf(jobId: string): string {
    return path.join(this.dir, `${createHash("sha256").update(jobId).digest("hex").slice(0, 32)}.bin`);
  }

  /**
   * The job's verified image: from the data dir when a good copy is there, else downloaded
   * (size-capped), checked, then stored. Throws invalid_payload when the download is not the
   * announced image: nothing is stored and no lock sees a byte of it.
   */
  async get(spec: ImageSpec): Promise<Buffer> {
    const file = this.fileOf(spec.jobId);
    const kept = this.readKept(file, spec);
    if (kept) return kept;
    const image = await this.fetchImage(spec.url, spec.size);
    checkImage(image, spec);
    ownerOnlyDir(this.dir);
    const tmp = `${file}.part`;
    const fd = fs.openSync(tmp, "w", OWNER_ONLY_FILE);
    try {
      fs.writeSync(fd, image);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    return image;
  }

  /** Removes the job's image (the job ended). */
  remove(jobId: string): void {
    const file = this.fileOf(jobId);
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.part`, { force: true });
  }

  /** Whether the job's image is in the data dir. */
  has(jobId: string): boolean {
    return fs.existsSync(this.fileOf(jobId));
  }

  private readKept(file: string, spec: ImageSpec): Buffer | undefined {
    let image: Buffer;
    try {
      if (fs.statSync(file).size !== spec.size) {
        fs.rmSync(file, { force: true });
        return undefined;
      }
      image = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    try {
      checkImage(image, spec);
      return image;
    } catch {
      // Damaged on disk: download it again rather than send a bad image.
      fs.rmSync(file, { force: true });
      return undefined;
    }
  }
}
