/**
 * Test utilities for the store: temp data dirs, a store on a manual clock, domain fixtures,
 * and child processes running the helper scripts next to this file.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Door, Key } from "../../src/access/model.js";
import { ManualClock } from "../../src/shared/clock.js";
import { openStore, type OpenStoreOptions, type Store } from "../../src/store/index.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, "../..");

/** A fresh temp dir, removed by the returned cleanup. */
export function tempDir(prefix = "lockbridge-store-"): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A store in a temp dir on a manual clock; close() also removes the dir. */
export function tempStore(options: OpenStoreOptions = {}): { store: Store; clock: ManualClock; file: string; dir: string; cleanup: () => void } {
  const { dir, cleanup } = tempDir();
  const clock = options.clock instanceof ManualClock ? options.clock : new ManualClock();
  const file = path.join(dir, "lockbridge.db");
  const store = openStore(file, { ...options, clock });
  return {
    store,
    clock,
    file,
    dir,
    cleanup: () => {
      store.close();
      cleanup();
    },
  };
}

export const sampleDoor = (doorId: string, over: Partial<Door> = {}): Door => ({
  doorId,
  name: `Door ${doorId}`,
  lockId: `lock-${doorId}`,
  kind: "room",
  linkedDoorIds: [],
  protectConfiguration: false,
  ...over,
});

/** A manual key for `keyId` with access to `doorIds`. */
export const sampleKey = (keyId: string, over: Partial<Key> = {}, doorIds: string[] = ["room-101", "lobby"]): Key => ({
  keyId,
  version: 1,
  source: "manual",
  holder: { name: `Guest ${keyId}` },
  checkedIn: true,
  doors: doorIds.map((doorId, i) => ({
    doorId,
    accessPeriod: { from: "2026-12-01", to: "2026-12-04" },
    arrivalTime: "15:00",
    departureTime: "10:00",
    allowProvisioning: true,
    allowLinkedDoorsAccess: i === 0,
  })),
  doorCode: { enabled: true, assignment: "random" },
  keycard: { enabled: false },
  smartKey: { enabled: false },
  ...over,
});

/** Runs a TypeScript helper script of this folder in a real Node process (tsx). */
export function spawnHelper(script: string, args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ["--import", "tsx", path.join(HERE, script), ...args], {
    cwd: REPO_ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** Resolves with each complete stdout line via `onLine`; resolves the promise at exit. */
export function collectLines(child: ChildProcessWithoutNullStreams, onLine: (line: string) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let buf = "";
  let stderr = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  child.stderr.on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr })));
}

/** Waits until `pred` holds for a line printed by the child (rejects if it exits first). */
export function waitForLine(child: ChildProcessWithoutNullStreams, pred: (line: string) => boolean, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error("timed out waiting for the child")), timeoutMs);
    const onData = (chunk: Buffer | string): void => {
      buf += chunk.toString();
      for (const line of buf.split("\n")) {
        if (pred(line)) {
          clearTimeout(timer);
          child.stdout.off("data", onData);
          resolve(line);
          return;
        }
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before the expected line`));
    });
  });
}
