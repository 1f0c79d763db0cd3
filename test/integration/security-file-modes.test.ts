/**
 * Issue 9, "files created 0644 outside systemd": a real hub (`lockbridge run`) and
 * `lockbridge store backup`, both started with umask 000, leave the data dir 0700 and the
 * store, its WAL and SHM, the lock and pid files and the backup 0600.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { ownerOnlyFile } from "../../src/store/owner-only.js";
import { openStore } from "../../src/store/index.js";
import { REPO_ROOT, tempDir } from "../helpers/store.js";

const BIN = path.join(REPO_ROOT, "bin/lockbridge.js");
const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

describe("owner-only files, whatever the umask", () => {
  const cleanups: (() => void)[] = [];
  let oldUmask: number | undefined;
  afterEach(() => {
    if (oldUmask !== undefined) process.umask(oldUmask);
    oldUmask = undefined;
    cleanups.splice(0).forEach((c) => c());
  });

  it("a hub started by hand with umask 000: data dir 0700; store, WAL, SHM, lock, pid and backup 0600", async () => {
    const { dir, cleanup } = tempDir("lockbridge-modes-");
    cleanups.push(cleanup);
    const dataDir = path.join(dir, "data");
    oldUmask = process.umask(0o000); // inherited by the children
    const hub = spawn(process.execPath, [BIN, "run"], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOCKBRIDGE_DATA_DIR: dataDir, LOCKBRIDGE_HUB_ID: "modes-hub", LOCKBRIDGE_MQTT_EMBEDDED_PORT: "0", LOCKBRIDGE_BLE_ENABLED: "false", LOCKBRIDGE_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    cleanups.push(() => hub.kill("SIGKILL"));
    await waitFor(hub, (l) => l.includes('"hub started"'));

    expect(mode(dataDir)).toBe("700");
    for (const f of ["lockbridge.db", "lockbridge.db-wal", "lockbridge.db-shm", "lockbridge.lock", "lockbridge.pid"]) {
      expect(mode(path.join(dataDir, f)), f).toBe("600");
    }

    const backup = path.join(dir, "backup.db");
    const result = await run([BIN, "store", "backup", backup], { LOCKBRIDGE_DATA_DIR: dataDir });
    expect(result.code, result.stderr).toBe(0);
    expect(mode(backup)).toBe("600");
    // Not just modes: the backup is the store.
    const copy = openStore(backup);
    expect(copy.schemaVersion()).toBeGreaterThanOrEqual(6);
    copy.close();
  });

  it("narrows an existing store and data dir that an older hub left world-readable", () => {
    const { dir, cleanup } = tempDir("lockbridge-modes-");
    cleanups.push(cleanup);
    fs.chmodSync(dir, 0o755);
    const file = path.join(dir, "lockbridge.db");
    fs.writeFileSync(file, "", { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    ownerOnlyFile(file);
    expect(mode(file)).toBe("600");
    const store = openStore(file);
    store.close();
    expect(mode(file)).toBe("600");
  });
});

function waitFor(p: ChildProcess, pred: (line: string) => boolean): Promise<string> {
  let err = "";
  p.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    createInterface({ input: p.stdout! }).on("line", (l) => {
      if (pred(l)) resolve(l);
    });
    p.once("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env } });
    let stderr = "";
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("exit", (code) => resolve({ code, stderr }));
  });
}
