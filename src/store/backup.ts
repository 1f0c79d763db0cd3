/**
 * Online backups through SQLite's backup API: consistent even while the hub keeps writing
 * (pages changed during the copy are copied again). The copy is written beside the target,
 * checked, turned into a single self-contained file (rollback journal) and renamed into place,
 * so a backup file is either complete and sound or absent.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { LockBridgeError, errorMessage } from "../shared/errors.js";
import type { Db } from "./db.js";
import { inspectDatabaseFile } from "./inspect.js";
import { ownerOnlyFile, restrictIfPresent } from "./owner-only.js";
import { SCHEMA_VERSION } from "./schema.js";

export interface BackupResult {
  file: string;
  bytes: number;
  schemaVersion: number;
  ms: number;
}

/**
 * Copies the live database behind `db` to `file` (replaced if present).
 * `allAtOnce`: copy every page in one step (one read transaction). Needed when another
 * process writes meanwhile: SQLite restarts a stepwise backup after each foreign write, which
 * a busy writer could turn into a backup that never ends. Writes through `db` itself are
 * merged into a running backup, so the hub's own backup steps 100 pages at a time and leaves
 * its event loop responsive.
 */
export async function backupDatabase(db: Db, file: string, allAtOnce = false): Promise<BackupResult> {
  const started = Date.now();
  const target = path.resolve(file);
  const tmp = `${target}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  try {
    // A backup holds what the store holds: 0600 from its first byte (owner-only.ts).
    ownerOnlyFile(tmp);
    await (allAtOnce ? db.backup(tmp, { progress: () => 0x7fffffff }) : db.backup(tmp));
    const copy = new Database(tmp);
    let schemaVersion: number;
    try {
      const check = copy.pragma("integrity_check", { simple: true });
      if (check !== "ok") throw new Error(`the copy failed its integrity check: ${String(check)}`);
      copy.pragma("journal_mode = DELETE");
      schemaVersion = copy.pragma("user_version", { simple: true }) as number;
    } finally {
      copy.close();
    }
    fs.renameSync(tmp, target);
    restrictIfPresent(target);
    fsyncDir(path.dirname(target));
    return { file: target, bytes: fs.statSync(target).size, schemaVersion, ms: Date.now() - started };
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new LockBridgeError("internal", `backup to ${target} failed: ${errorMessage(e)}`, target);
  }
}

/**
 * Backs up a store file by path, read-only (for `lockbridge store backup` while the hub may
 * be running: WAL lets this reader run beside the hub). Refuses corrupt or foreign files.
 */
export async function backupStoreFile(storePath: string, file: string): Promise<BackupResult> {
  if (inspectDatabaseFile(storePath, SCHEMA_VERSION).kind === "new") {
    throw new LockBridgeError("internal", `there is no LockBridge store at ${storePath}`, storePath);
  }
  const db = new Database(storePath, { readonly: true, fileMustExist: true });
  try {
    return await backupDatabase(db, file, true);
  } finally {
    db.close();
  }
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
