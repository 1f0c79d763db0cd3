/**
 * One hub process per data dir. The lock is a kernel file lock (fcntl, taken by SQLite on
 * `lockbridge.lock` held in EXCLUSIVE locking mode), not a pid file: the kernel drops it
 * the instant its process dies, SIGKILL and power loss included, so there is no stale lock
 * to detect and no pid-reuse trap (after a reboot a recorded pid may belong to anyone, even
 * to the new hub itself as pid 1 in a container). `lockbridge.pid` only says who holds it.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { LockBridgeError, errorMessage } from "../shared/errors.js";
import { ownerOnlyDir, ownerOnlyFile } from "./owner-only.js";

export const STORE_FILE = "lockbridge.db";
export const LOCK_FILE = "lockbridge.lock";
export const PID_FILE = "lockbridge.pid";

export interface DataDirLease {
  readonly dir: string;
  /** Where the store lives in this data dir. */
  readonly storePath: string;
  /** Gives the data dir up (idempotent). Also happens by itself when the process dies. */
  release(): void;
}

/**
 * Takes the data dir for this process (created if missing). Throws store_locked
 * "data dir X is in use by pid N" while another process holds it.
 */
export function acquireDataDir(dir: string): DataDirLease {
  const abs = path.resolve(dir);
  const lockPath = path.join(abs, LOCK_FILE);
  const pidPath = path.join(abs, PID_FILE);
  let db: Database.Database;
  try {
    ownerOnlyDir(abs);
    ownerOnlyFile(lockPath);
    db = new Database(lockPath, { timeout: 0 });
  } catch (e) {
    throw new LockBridgeError("store_locked", `data dir ${abs} cannot be locked: ${errorMessage(e)}`, abs);
  }
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("journal_mode = MEMORY");
    // The first write in EXCLUSIVE mode takes the exclusive lock and keeps it until close.
    db.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS owner (pid INTEGER); DELETE FROM owner; INSERT INTO owner VALUES (" + process.pid + "); COMMIT");
  } catch (e) {
    db.close();
    const code = (e as { code?: string }).code;
    if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
      const pid = readPid(pidPath);
      throw new LockBridgeError(
        "store_locked",
        `data dir ${abs} is in use by ${pid === undefined ? "another process" : `pid ${pid}`}`,
        abs,
        pid === undefined ? {} : { pid },
      );
    }
    throw new LockBridgeError("store_locked", `data dir ${abs} cannot be locked: ${errorMessage(e)}`, abs);
  }
  writePid(pidPath);
  let released = false;
  return {
    dir: abs,
    storePath: path.join(abs, STORE_FILE),
    release() {
      if (released) return;
      released = true;
      if (readPid(pidPath) === process.pid) fs.rmSync(pidPath, { force: true });
      db.close();
    },
  };
}

function readPid(pidPath: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(pidPath, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined; // not written yet, or removed: the message then names no pid
  }
}

/**
 * The pid file only names the owner in "in use by pid N"; the lock above is what excludes a
 * second hub. On a full data disk it cannot be written: the hub starts without it (a hub that
 * exits at every start would leave the doors unserved until someone frees space).
 */
function writePid(pidPath: string): void {
  const tmp = `${pidPath}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600 });
    fs.renameSync(tmp, pidPath);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
    // A stale pid file would name the wrong process.
    fs.rmSync(pidPath, { force: true });
  }
}
