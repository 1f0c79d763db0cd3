/**
 * The hub's resources while the chaos run goes (invariant 5, reported, not bounded): RSS and
 * open files of whichever hub process is running, sampled every few seconds across restarts,
 * and the store's size at the end.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export class ResourceSampler {
  peakRssMiB = 0;
  maxOpenFiles = 0;
  /** RSS and open files of the last sample, to tell a leak from a peak. */
  last = { rssMiB: 0, openFiles: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pid: () => number | undefined) {}

  start(everyMs = 5_000): void {
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  sample(): void {
    const pid = this.pid();
    if (pid === undefined) return;
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
      const openFiles = readdirSync(`/proc/${pid}/fd`).length;
      this.last = { rssMiB: Math.round(kb("VmRSS") / 102.4) / 10, openFiles };
      this.peakRssMiB = Math.max(this.peakRssMiB, Math.round(kb("VmHWM") / 102.4) / 10);
      this.maxOpenFiles = Math.max(this.maxOpenFiles, openFiles);
    } catch {
      // between a SIGKILL and the restart
    }
  }
}

/** The store's files (database and WAL), in MiB. */
export function storeSize(dataDir: string): number {
  let bytes = 0;
  for (const f of ["lockbridge.db", "lockbridge.db-wal"]) {
    try {
      bytes += statSync(join(dataDir, f)).size;
    } catch {
      // absent WAL
    }
  }
  return Math.round(bytes / 104857.6) / 10;
}
