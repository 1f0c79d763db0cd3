/**
 * Looks at a database file before the hub opens it for writing, without writing a byte:
 * a file that is corrupt, belongs to another application or comes from a newer release
 * is refused with a clear error and left exactly as it is for inspection.
 */
import fs from "node:fs";
import Database from "better-sqlite3";
import { LockBridgeError, errorMessage } from "../shared/errors.js";
import { storeDiskFullError } from "./disk-full.js";
import { LOCKBRIDGE_APPLICATION_ID } from "./schema.js";

export type FileInspection =
  /** No file, an empty file, or a blank SQLite file: the store will be created. */
  | { kind: "new" }
  | { kind: "lockbridge"; schemaVersion: number };

const SQLITE_HEADER = Buffer.from("SQLite format 3\0", "latin1");
const HEADER_SIZE = 100;

/**
 * Throws store_corrupt (not SQLite, damaged), store_foreign (another application's SQLite
 * file), store_migration_failed (schema newer than `knownVersion`) or store_disk_full (the
 * file cannot be read because its disk has no room left: not the file's fault).
 */
export function inspectDatabaseFile(path: string, knownVersion: number): FileInspection {
  const size = fileSize(path);
  const walSize = fileSize(`${path}-wal`);
  if (size === undefined || (size === 0 && !walSize)) return { kind: "new" };
  // (A 0-byte file with a WAL beside it is read through SQLite below: the WAL holds it all.)
  if (size === 0 ? false : size < HEADER_SIZE || !readHead(path).equals(SQLITE_HEADER)) {
    throw new LockBridgeError("store_corrupt", `${path} is not a SQLite database (bad header, ${size} bytes); it was left untouched`, path);
  }

  let appId: number, version: number, tables: number, problems: string[];
  const db = openForInspection(path, walSize);
  try {
    appId = db.pragma("application_id", { simple: true }) as number;
    version = db.pragma("user_version", { simple: true }) as number;
    tables = (db.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number }).n;
    if (appId === LOCKBRIDGE_APPLICATION_ID) {
      problems = (db.pragma("quick_check(10)") as { quick_check: string }[]).map((r) => r.quick_check).filter((r) => r !== "ok");
    } else {
      problems = [];
    }
  } catch (e) {
    throw storeDiskFullError(path, e) ?? new LockBridgeError("store_corrupt", `${path} is damaged (${errorMessage(e)}); it was left untouched`, path);
  } finally {
    db.close();
  }

  if (appId !== LOCKBRIDGE_APPLICATION_ID) {
    if (appId === 0 && tables === 0 && version === 0) return { kind: "new" };
    throw new LockBridgeError(
      "store_foreign",
      `${path} is a SQLite database of another application (application_id 0x${(appId >>> 0).toString(16)}, ${tables} schema objects), not a LockBridge store; it was left untouched`,
      path,
    );
  }
  if (problems.length > 0) {
    throw new LockBridgeError("store_corrupt", `${path} failed its integrity check (${problems.slice(0, 3).join("; ")}); it was left untouched`, path);
  }
  if (version > knownVersion) {
    throw new LockBridgeError(
      "store_migration_failed",
      `${path} has schema version ${version}, newer than this LockBridge knows (${knownVersion}): it was written by a newer release; upgrade LockBridge or restore a backup`,
      path,
      { found: version, known: knownVersion },
    );
  }
  return { kind: "lockbridge", schemaVersion: version };
}

function fileSize(path: string): number | undefined {
  try {
    return fs.statSync(path).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

function readHead(path: string): Buffer {
  const fd = fs.openSync(path, "r");
  try {
    const buf = Buffer.alloc(SQLITE_HEADER.length);
    fs.readSync(fd, buf, 0, buf.length, 0);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * With a WAL holding committed pages (after a crash) the file must be read through SQLite
 * (read-only) so the WAL counts. Otherwise the file is copied into memory and read from
 * there, which cannot create -wal/-shm files next to it: the header's WAL marks are
 * cleared in the copy because an in-memory database cannot use a WAL.
 */
function openForInspection(path: string, walSize: number | undefined): Database.Database {
  try {
    if (walSize) return new Database(path, { readonly: true, fileMustExist: true });
    const image = fs.readFileSync(path);
    image[18] = 1;
    image[19] = 1;
    return new Database(image);
  } catch (e) {
    throw storeDiskFullError(path, e) ?? new LockBridgeError("store_corrupt", `${path} cannot be opened as a SQLite database (${errorMessage(e)}); it was left untouched`, path);
  }
}
