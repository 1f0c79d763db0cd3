// A socat pseudo-terminal pair on STABLE paths (pty,link=...), so a test can kill socat
// (the serial device vanishes, like an unplugged USB adapter) and start it again on the same
// paths (the device comes back, as udev would recreate /dev/serial/by-id/...). The hub end
// is opened by the code under test with serialport; the lock end by a simulated bus.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SerialPort } from "serialport";
import type { LockBus } from "../../sim/index.js";

export interface SocatPair {
  hubPath: string;
  lockPath: string;
  readonly running: boolean;
  /** SIGKILL socat: both pty ends vanish. */
  kill(): Promise<void>;
  /** Start socat again on the same paths. */
  start(): Promise<void>;
  close(): Promise<void>;
}

const SOCAT = existsSync("/usr/bin/socat") ? "/usr/bin/socat" : "socat";

export async function startSocatPair(): Promise<SocatPair> {
  const dir = await mkdtemp(join(tmpdir(), "lb-socat-"));
  const hubPath = join(dir, "hub");
  const lockPath = join(dir, "lock");
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    const p = spawn(SOCAT, ["-d", "-d", `pty,raw,echo=0,link=${hubPath}`, `pty,raw,echo=0,link=${lockPath}`], { stdio: ["ignore", "ignore", "pipe"] });
    proc = p;
    exited = new Promise<void>((r) => p.once("exit", () => r()));
    let stderr = "";
    p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 5000;
    while (!(stderr.includes("starting data transfer loop") && existsSync(hubPath) && existsSync(lockPath))) {
      if (p.exitCode !== null || Date.now() > deadline) throw new Error(`socat did not start: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const kill = async (): Promise<void> => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGKILL");
      await exited;
    }
    // A killed socat leaves its symlinks behind, pointing at /dev/pts numbers that other
    // processes (parallel tests) may soon reuse. An unplugged adapter's device node goes away
    // (udev removes /dev/serial/by-id/...): remove them likewise.
    await rm(hubPath, { force: true });
    await rm(lockPath, { force: true });
  };
  await start();
  return {
    hubPath,
    lockPath,
    get running() {
      return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
    },
    kill,
    start,
    async close() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The lock side of a pty: a simulated bus listening on `path` until detached. */
export async function attachBusToPty(bus: LockBus, path: string): Promise<{ detach(): Promise<void> }> {
  const serial = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => serial.open((e) => (e ? reject(e) : resolve())));
  const port = bus.attach({ write: (b) => void serial.write(b) });
  serial.on("data", (d: Buffer) => port.push(d));
  serial.on("error", () => undefined); // the pty vanished with socat: the test restarts it
  return {
    async detach() {
      port.detach();
      if (serial.isOpen) await new Promise<void>((r) => serial.close(() => r()));
    },
  };
}
