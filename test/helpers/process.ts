/**
 * Runs `node bin/lockbridge.js ...` as a real child process and lets a test wait for
 * log lines and for the exit, with timeouts that fail the test instead of hanging it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const LOCKBRIDGE_BIN = join(REPO_ROOT, "bin", "lockbridge.js");

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Complete stdout lines so far. */
  readonly stdout: string[];
  /** All stderr text so far. */
  stderr(): string;
  /** Resolves with the first stdout line (parsed as JSON when it is) matching `test`. */
  waitForLine(test: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves with the JSON log line whose msg is `msg`. */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  waitForExit(timeoutMs?: number): Promise<Exit>;
  kill(signal?: NodeJS.Signals): void;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/** Environment variables of the developer's shell that would leak into a hub under test. */
function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("LOCKBRIDGE_") && k !== "STATE_DIRECTORY") env[k] = v;
  }
  // Hubs under test run side by side: each local API on a free port unless the test says otherwise.
  env.LOCKBRIDGE_API_PORT = "0";
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function spawnLockbridge(args: string[], options: SpawnOptions = {}): RunningProcess {
  return spawnNode([LOCKBRIDGE_BIN, ...args], options);
}

/** Any `node ...` child, watched like a lockbridge process (for scripts around src/ code). */
export function spawnNode(nodeArgs: string[], options: SpawnOptions = {}): RunningProcess {
  const child = spawn(process.execPath, nodeArgs, {
    cwd: options.cwd ?? REPO_ROOT,
    env: cleanEnv(options.env ?? {}),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  let partial = "";
  let stderrText = "";
  const lineWaiters = new Set<() => void>();
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    stdout.push(...parts);
    for (const wake of lineWaiters) wake();
  });
  child.stdout!.on("end", () => {
    if (partial !== "") stdout.push(partial);
    partial = "";
    for (const wake of lineWaiters) wake();
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderrText += chunk));
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

  const describe = () => `stdout:\n${stdout.join("\n")}${partial}\nstderr:\n${stderrText}`;

  const waitForLine = (test: (line: string) => boolean, timeoutMs = 20_000) =>
    new Promise<string>((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        lineWaiters.delete(check);
        child.off("exit", onExit);
        settle();
      };
      const check = () => {
        const line = stdout.find(test);
        if (line !== undefined) finish(() => resolve(line));
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        finish(() => reject(new Error(`process exited (code ${code}, signal ${signal}) before the line appeared\n${describe()}`)));
      const timer = setTimeout(() => finish(() => reject(new Error(`no matching line within ${timeoutMs} ms\n${describe()}`))), timeoutMs);
      lineWaiters.add(check);
      child.on("exit", onExit);
      check();
    });

  return {
    child,
    stdout,
    stderr: () => stderrText,
    waitForLine,
    async waitForLog(msg, timeoutMs) {
      const line = await waitForLine((l) => parseJson(l)?.msg === msg, timeoutMs);
      return parseJson(line)!;
    },
    waitForExit: (timeoutMs = 20_000) =>
      Promise.race([
        exited,
        new Promise<never>((_, reject) => {
          const timer = setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs} ms\n${describe()}`)), timeoutMs);
          void exited.then(() => clearTimeout(timer));
        }),
      ]),
    kill: (signal = "SIGTERM") => void child.kill(signal),
  };
}

/** Runs a short command to completion. */
export async function runLockbridge(args: string[], options: SpawnOptions = {}): Promise<Exit & { stdout: string; stderr: string }> {
  const proc = spawnLockbridge(args, options);
  const exit = await proc.waitForExit();
  // The exit event can precede the last stdout data; wait for the streams to end.
  await Promise.all([ended(proc.child.stdout!), ended(proc.child.stderr!)]);
  return { ...exit, stdout: proc.stdout.join("\n"), stderr: proc.stderr() };
}

function ended(stream: NodeJS.ReadableStream & { readableEnded?: boolean }): Promise<void> {
  return stream.readableEnded ? Promise.resolve() : new Promise((resolve) => stream.once("end", () => resolve()));
}

export function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A loopback TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
