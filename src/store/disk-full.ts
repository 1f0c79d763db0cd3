import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import { LockBridgeError, errorMessage } from "../shared/errors.js";

/**
 * The data dir's disk is full: SQLite's SQLITE_FULL (a commit, or the WAL that cannot grow),
 * a file write's ENOSPC, or SQLite's "disk I/O error" while an open store's disk has no room
 * (see isDiskIoError). The hub survives it (docs/reliability.md "Data disk full"): a write
 * that failed for this reason changed nothing, and the same write succeeds once space
 * returns, so callers keep what they could not write and try again instead of exiting.
 */
export function isDiskFull(e: unknown): boolean {
  return isNoSpaceError(e) || (isDiskIoError(e) && [...storeDirs.keys()].some((dir) => (freeBytes(dir) ?? Infinity) < NO_ROOM_BELOW_BYTES));
}

/** Whether `e` or an error in its cause chain has a code that `test` accepts. */
function hasErrorCode(e: unknown, test: (code: string) => boolean): boolean {
  for (let err = e, depth = 0; err !== null && typeof err === "object" && depth < 8; depth++) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && test(code)) return true;
    err = (err as { cause?: unknown }).cause;
  }
  return false;
}

/** SQLITE_FULL or ENOSPC: the full disk said by name. */
const isNoSpaceError = (e: unknown): boolean => hasErrorCode(e, (code) => code === "SQLITE_FULL" || code === "ENOSPC");

/** The directories of the open stores (counted: a test may open two in one). */
const storeDirs = new Map<string, number>();

/** Makes isDiskFull read a disk I/O error as a full disk while `path`'s disk has no room; @returns the undo. */
export function watchStoreDisk(path: string): () => void {
  const dir = dirname(path);
  storeDirs.set(dir, (storeDirs.get(dir) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const n = (storeDirs.get(dir) ?? 1) - 1;
    if (n > 0) storeDirs.set(dir, n);
    else storeDirs.delete(dir);
  };
}

function freeBytes(dir: string): number | undefined {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}

/**
 * SQLite's "disk I/O error" (SQLITE_IOERR and its extended codes). On a data disk that has just
 * filled up, some writes (the WAL, its shared-memory index) fail this way rather than with
 * SQLITE_FULL (seen in the chaos run's disk-full fault); the transaction is rolled back either way.
 */
export function isDiskIoError(e: unknown): boolean {
  return hasErrorCode(e, (code) => code.startsWith("SQLITE_IOERR"));
}

/** The store's view of its disk: full since the last write that failed for lack of space. */
export interface StorageState {
  full: boolean;
  /** When the first write failed for lack of space (epoch ms); undefined when not full. */
  fullSinceMs: number | undefined;
}

/** Below this many free bytes a disk I/O error is the full disk's doing (SQLite grows its WAL index by 32 KB). */
const NO_ROOM_BELOW_BYTES = 1 << 20;

/**
 * When opening `path` failed with a disk-full or disk I/O error and its disk has (almost) no
 * room: the store_disk_full error that says so. SQLite must write to open a store a crash left
 * with a write-ahead log (its shared-memory index), so a hub started on a full disk cannot
 * open even a sound store, and calling it damaged would send the installer the wrong way.
 * Undefined for any other error.
 */
export function storeDiskFullError(path: string, e: unknown): LockBridgeError | undefined {
  // Its own disk's free space decides (below), not that of the stores already open.
  if (!isNoSpaceError(e) && !isDiskIoError(e)) return undefined;
  const free = freeBytes(dirname(path));
  if (free === undefined || free >= NO_ROOM_BELOW_BYTES) return undefined;
  return new LockBridgeError(
    "store_disk_full",
    `${path} cannot be opened: the data disk is full (${free} bytes free; SQLite answered "${errorMessage(e)}"); nothing was changed; free space on the data disk and the store opens`,
    path,
    { freeBytes: free },
  );
}
