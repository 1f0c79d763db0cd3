/**
 * The chaos run's processes: the simulator and the hub as real children (`bin/lockbridge.js`,
 * the compiled build), their output kept for the secret scan, killable with SIGKILL.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(REPO, "bin/lockbridge.js");

export interface Child {
  proc: ChildProcess;
  /** Every line it wrote (stdout and stderr). */
  output: string[];
  /** The first stdout line `pick` accepts. */
  first<T>(pick: (line: string) => T | undefined, timeoutMs: number): Promise<T>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export function startLockbridge(args: string[], env: Record<string, string>, output: string[] = []): Child {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("LOCKBRIDGE_")) clean[k] = v;
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...clean, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const waiters = new Set<(line: string) => void>();
  createInterface({ input: proc.stdout! }).on("line", (line) => {
    output.push(line);
    for (const w of waiters) w(line);
  });
  createInterface({ input: proc.stderr! }).on("line", (line) => output.push(line));
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  return {
    proc,
    output,
    first: (pick, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${args[0]}: no expected line within ${timeoutMs} ms: ${output.slice(-5).join("\n")}`)), timeoutMs);
        const w = (line: string) => {
          const v = pick(line);
          if (v === undefined) return;
          clearTimeout(timer);
          waiters.delete(w);
          resolve(v);
        };
        waiters.add(w);
        proc.once("exit", (code) => reject(new Error(`${args[0]} exited ${code}: ${output.slice(-5).join("\n")}`)));
      }),
    async kill(signal) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await exited;
    },
  };
}

/** Runs a lockbridge CLI command to its end. */
export function runLockbridge(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The JSON log line's field, or undefined. */
export function logField(line: string, msg: string, field: string): string | undefined {
  try {
    const rec = JSON.parse(line) as Record<string, unknown>;
    return rec.msg === msg ? String(rec[field]) : undefined;
  } catch {
    return undefined;
  }
}
