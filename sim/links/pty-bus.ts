import { spawn } from "node:child_process";
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
  close(): Promise<void>;
}

/**
 * Locks on a serial pseudo-terminal: socat makes a pty pair, the locks listen on one
 * end, the hub opens the other with its real serialport code. Serial is polled, so no
 * EVENT_NOTIFY here.
 */
export async function startPtyBus(locks: readonly SimLock[], opts: PtyBusOptions = {}): Promise<PtyBus> {
  const dir = await mkdtemp(join(tmpdir(), "lockbridge-pty-"));
  const hubPath = join(dir, "hub");
  const lockPath = join(dir, "lock");
  const socatBin = opts.socat ?? (existsSync("/usr/bin/socat") ? "/usr/bin/socat" : "socat");
  const socat = spawn(socatBin, ["-d", "-d", `pty,raw,echo=0,link=${hubPath}`, `pty,raw,echo=0,link=${lockPath}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  socat.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => socat.once("exit", (code) => r(code)));
  const spawnError = new Promise<Error>((r) => socat.once("error", r));

  const ready = await Promise.race([
    (async () => {
      const deadline = Date.now() + (opts.startTimeoutMs ?? 5000);
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
    socat.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw new Error(ready);
  }

  const bus = new LockBus(locks, { ...(opts.wireBaud !== undefined ? { wireBaud: opts.wireBaud } : {}) });
  const serial = new SerialPort({ path: lockPath, baudRate: opts.wireBaud ?? 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => serial.open((e) => (e ? reject(e) : resolve())));
  const port = bus.attach({ write: (b) => void serial.write(b) });
  serial.on("data", (d: Buffer) => port.push(d));
  // Kept for the owner to read: a pty error means the link is gone, the hub sees silence.
  let lastError: Error | undefined;
  serial.on("error", (e: Error) => (lastError = e));

  return {
    hubPath,
    bus,
    get lastError() {
      return lastError;
    },
    async close() {
      bus.close();
      port.detach();
      if (serial.isOpen) await new Promise<void>((r) => serial.close(() => r()));
      if (socat.exitCode === null && socat.signalCode === null) {
        socat.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
        if (socat.exitCode === null && socat.signalCode === null) socat.kill("SIGKILL");
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
