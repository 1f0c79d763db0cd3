/**
 * What the Pi benchmark reads from outside a process: /proc/PID/stat (CPU), /proc/PID/status
 * (VmRSS, VmHWM), /proc/PID/io (write_bytes: what reaches the block layer, i.e. the SD card),
 * and the kernel's per-socket byte counters (`ss -ti`) for the bytes on each simulated bus.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

export interface ProcSample {
  /** utime + stime, ms. */
  cpuMs: number;
  rssMb: number;
  hwmMb: number;
  writeBytes: number;
}

export function readProc(pid: number): ProcSample {
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  const io = fs.readFileSync(`/proc/${pid}/io`, "utf8");
  const writeBytes = Number(/^write_bytes:\s+(\d+)/m.exec(io)?.[1] ?? NaN);
  return { cpuMs, rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024, writeBytes };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A sample once settled; quiet false: taken at the time limit. floorCpuShare: CPU / wall time in the quietest window. */
export type Settled = ProcSample & { quiet: boolean; floorCpuShare: number };

/**
 * Waits until the process has settled: its CPU in a `windowMs` window is back to its own floor
 * (at most 1.5 x the quietest window seen, or 150 ms) and under a quarter of a core. The floor
 * is not zero: a hub polls its locks (500 locks every 2 s cost it about 10 % of a core here).
 * After `timeoutMs` it returns anyway with `quiet: false`, so that a long run still reports.
 */
export async function waitQuiet(pid: number, timeoutMs: number, windowMs = 3000): Promise<Settled> {
  const deadline = Date.now() + timeoutMs;
  let last = readProc(pid);
  let floor = Infinity;
  for (let windows = 1; ; windows++) {
    await sleep(windowMs);
    const now = readProc(pid);
    const used = now.cpuMs - last.cpuMs;
    floor = Math.min(floor, used);
    // One window alone says nothing about the floor: at least two.
    const quiet = windows >= 2 && used <= Math.max(150, 1.5 * floor) && used < windowMs / 4;
    if (quiet || Date.now() > deadline) return { ...now, quiet, floorCpuShare: floor / windowMs };
    last = now;
  }
}

/** Samples VmRSS every `everyMs` until stopped; returns the largest seen. */
export function rssPeakSampler(pid: number, everyMs = 200): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, readProc(pid).rssMb);
    } catch {
      clearInterval(timer); // the process is gone; its last figure stands
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/**
 * Bytes sent + received on every established TCP connection whose local port is one of
 * `ports` (the simulator's side of each bus), by port, from the kernel's counters.
 */
export function socketBytesByPort(ports: readonly number[]): Map<number, number> {
  const wanted = new Set(ports);
  const out = new Map<number, number>(ports.map((p) => [p, 0]));
  const text = execFileSync("ss", ["-tinH", "state", "established"], { maxBuffer: 64 * 1024 * 1024 }).toString();
  let port: number | undefined;
  for (const line of text.split("\n")) {
    if (!/^\s/.test(line)) {
      // "0 0 127.0.0.1:4001 127.0.0.1:51234" (state column omitted with a state filter)
      const local = line.trim().split(/\s+/)[2] ?? "";
      const p = Number(local.slice(local.lastIndexOf(":") + 1));
      port = wanted.has(p) ? p : undefined;
      continue;
    }
    if (port === undefined) continue;
    const sent = Number(/bytes_sent:(\d+)/.exec(line)?.[1] ?? 0);
    const received = Number(/bytes_received:(\d+)/.exec(line)?.[1] ?? 0);
    out.set(port, (out.get(port) ?? 0) + sent + received);
    port = undefined;
  }
  return out;
}
