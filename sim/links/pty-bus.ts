import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SerialPort } from "serialport";
import type { SimLock } from "../lock/sim-lock.js";
import { LockBus, type BusOptions } from "./bus.js";

export interface PtyBusOptions extends Omit<BusOptions, "eventNotify"> {
  /** socat binary. Default /usr/bin/socat (or `socat` on PATH). */
  socat?: string;
  /** Give up waiting for the pty pair after this long. Default 5000 ms. */
  startTimeoutMs?: number;
}

export interface PtyBus {
  /** The hub opens this path with serialport. */
  hubPath: string;
  bus: LockBus;
  /** The last error of the lock-side pty, if any. */
  readonly lastError: Error | undefined;
  /** False between unplug() and replug(). */
  readonly plugged: boolean;
  /** The serial device vanishes: socat killed, both paths removed. */
  unplug(): Promise<void>;
  /** It comes back on the same paths. */
  replug(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Locks on a serial pseudo-terminal: socat makes a pty pair, the locks listen on one
 * end, the hub opens the other with its real serialport code. Serial is polled, so no
 * EVENT_NOTIFY here. unplug() kills socat and removes both paths (a USB adapter pulled out:
 * the hub's device vanishes); replug() starts socat again on the same paths (udev recreates
 * /dev/serial/by-id/... when it comes back).
 */
export async function startPtyBus(locks: readonly SimLock[], opts: PtyBusOptions = {}): Promise<PtyBus> {
  const dir = await mkdtemp(join(tmpdir(), "lockbridge-pty-"));
  const hubPath = join(dir, "hub");
  const lockPath = join(dir, "lock");
  const socatBin = opts.socat ?? (existsSync("/usr/bin/socat") ? "/usr/bin/socat" : "socat");
  let socat: Socat;
  try {
    socat = await startSocat(socatBin, hubPath, lockPath, opts.startTimeoutMs ?? 5000);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  const bus = new LockBus(locks, { ...(opts.wireBaud !== undefined ? { wireBaud: opts.wireBaud } : {}) });
  // Kept for the owner to read: a pty error means the link is gone, the hub sees silence.
  let lastError: Error | undefined;
  const openLockEnd = async () => {
    const serial = new SerialPort({ path: lockPath, baudRate: opts.wireBaud ?? 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => serial.open((e) => (e ? reject(e) : resolve())));
    const port = bus.attach({ write: (b) => void serial.write(b) });
    serial.on("data", (d: Buffer) => port.push(d));
    serial.on("error", (e: Error) => (lastError = e));
    return { serial, port };
  };
  let lockEnd: Awaited<ReturnType<typeof openLockEnd>> | undefined = await openLockEnd();
  const closeLockEnd = async () => {
    const end = lockEnd;
    lockEnd = undefined;
    if (!end) return;
    end.port.detach();
    if (end.serial.isOpen) await new Promise<void>((r) => end.serial.close(() => r()));
  };
  const stopSocat = async (signal: NodeJS.Signals) => {
    if (socat.proc.exitCode === null && socat.proc.signalCode === null) {
      socat.proc.kill(signal);
      await Promise.race([socat.exited, new Promise((r) => setTimeout(r, 2000))]);
      if (socat.proc.exitCode === null && socat.proc.signalCode === null) socat.proc.kill("SIGKILL");
    }
  };
  let plugged = true;

  return {
    hubPath,
    bus,
    get lastError() {
      return lastError;
    },
    get plugged() {
      return plugged;
    },
    async unplug() {
      if (!plugged) return;
      plugged = false;
      await closeLockEnd();
      await stopSocat("SIGKILL");
      // A killed socat leaves its links behind; an unplugged adapter's device node goes away.
      await rm(hubPath, { force: true });
      await rm(lockPath, { force: true });
    },
    async replug() {
      if (plugged) return;
      socat = await startSocat(socatBin, hubPath, lockPath, opts.startTimeoutMs ?? 5000);
      lockEnd = await openLockEnd();
      plugged = true;
    },
    async close() {
      bus.close();
      await closeLockEnd();
      await stopSocat("SIGTERM");
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface Socat {
  proc: ChildProcess;
  exited: Promise<number | null>;
}

async function startSocat(socatBin: string, hubPath: string, lockPath: string, timeoutMs: number): Promise<Socat> {
  const proc = spawn(socatBin, ["-d", "-d", `pty,raw,echo=0,link=${hubPath}`, `pty,raw,echo=0,link=${lockPath}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const spawnError = new Promise<Error>((r) => proc.once("error", r));
  const ready = await Promise.race([
    (async () => {
      const deadline = Date.now() + timeoutMs;
      while (!(stderr.includes("starting data transfer loop") && existsSync(hubPath) && existsSync(lockPath))) {
        if (Date.now() > deadline) return `socat did not start: ${stderr.trim()}`;
        await new Promise((r) => setTimeout(r, 20));
      }
      return "ok";
    })(),
    exited.then((code) => `socat exited (${code}): ${stderr.trim()}`),
    spawnError.then((e) => `socat could not start: ${e.message}`),
  ]);
  if (ready !== "ok") {
    proc.kill("SIGKILL");
    throw new Error(ready);
  }
  return { proc, exited };
}
