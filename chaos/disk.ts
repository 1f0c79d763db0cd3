/**
 * The hub's data dir on a small tmpfs of its own (root only), so the chaos run can fill it:
 * fill() writes a ballast file until the disk says ENOSPC, free() deletes it. Without root or
 * mount(8), mount() returns null and the "data disk full" fault is not injected.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

export class DataDisk {
  private readonly ballast: string;

  private constructor(readonly dir: string) {
    this.ballast = join(dir, ".chaos-ballast");
  }

  static mount(dir: string, sizeMiB: number): DataDisk | null {
    if (process.getuid?.() !== 0) return null;
    mkdirSync(dir, { recursive: true });
    const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", dir], { encoding: "utf8" });
    return r.status === 0 ? new DataDisk(dir) : null;
  }

  /** Fills the disk to the last byte; @returns the bytes written. */
  fill(): number {
    const fd = openSync(this.ballast, "w");
    const chunk = Buffer.alloc(1 << 20);
    let written = 0;
    try {
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
          // The last partial block.
          for (let n = 4096; n >= 1; n = Math.floor(n / 2)) {
            try {
              while (true) written += writeSync(fd, chunk.subarray(0, n));
            } catch {
              // smaller
            }
          }
          return written;
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  free(): void {
    rmSync(this.ballast, { force: true });
  }

  unmount(): void {
    this.free();
    spawnSync("umount", ["-l", this.dir]);
  }
}
