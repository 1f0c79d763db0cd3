/**
 * The data dir's disk is full: SQLite's SQLITE_FULL (a commit, or the WAL that cannot grow)
 * or a file write's ENOSPC. The hub survives it (docs/reliability.md "Data disk full"): a
 * write that failed for this reason changed nothing, and the same write succeeds once space
 * returns, so callers keep what they could not write and try again instead of exiting.
 */

/** The code of `e` or of any error in its cause chain. */
export function isDiskFull(e: unknown): boolean {
  for (let err = e, depth = 0; err !== null && typeof err === "object" && depth < 8; depth++) {
    const code = (err as { code?: unknown }).code;
    if (code === "SQLITE_FULL" || code === "ENOSPC") return true;
    err = (err as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * SQLite's "disk I/O error" (SQLITE_IOERR and its extended codes). On a data disk that has just
 * filled up, some writes (the WAL, its shared-memory index) fail this way rather than with
 * SQLITE_FULL (seen in the chaos run's disk-full fault); the transaction is rolled back either way.
 */
export function isDiskIoError(e: unknown): boolean {
  for (let err = e, depth = 0; err !== null && typeof err === "object" && depth < 8; depth++) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("SQLITE_IOERR")) return true;
    err = (err as { cause?: unknown }).cause;
  }
  return false;
}

/** The store's view of its disk: full since the last write that failed for lack of space. */
export interface StorageState {
  full: boolean;
  /** When the first write failed for lack of space (epoch ms); undefined when not full. */
  fullSinceMs: number | undefined;
}
