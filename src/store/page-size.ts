/**
 * The store's page size: 1 KiB, not SQLite's default 4 KiB. The hub's commits are small (a
 * lock's slot rows, a few outbox rows, a command) and each writes every B-tree page it touches
 * whole into the WAL; with 4 KiB pages a snapshot wrote 4.5 KB per credential and a lock event
 * 3.3 KB, with 1 KiB pages about two thirds of that (docs/performance.md, seventh round). A Pi's
 * SD card wears by the bytes written; reads cost a little more B-tree depth, not measurable in
 * the Pi bench's CPU figures.
 *
 * A new store gets it before its first table. A store made before (4 KiB) is rebuilt once at
 * open (VACUUM in rollback-journal mode, the only way SQLite changes an existing file's page
 * size); if that fails (a full disk: VACUUM needs room for a copy) the store is left as it was
 * and keeps its pages, to be tried again at the next start.
 */
import type { Logger } from "pino";
import { errorMessage } from "../shared/errors.js";
import type { Db } from "./db.js";

export const STORE_PAGE_SIZE = 1024;

/** The WAL is checkpointed at this many bytes, whatever the page size (wal_autocheckpoint counts pages). */
const WAL_CHECKPOINT_BYTES = 16 * 1024 * 1024;

/** Sets the page size of a store that has no table yet (before journal_mode = WAL). */
export function setNewStorePageSize(db: Db): void {
  db.pragma(`page_size = ${STORE_PAGE_SIZE}`);
}

/**
 * Rebuilds a store with other pages to STORE_PAGE_SIZE; call before journal_mode = WAL. Leaves
 * the journal mode at DELETE either way (the caller sets WAL next). @returns whether it did.
 */
export function convertStorePageSize(db: Db, path: string, log: Logger): boolean {
  const before = db.pragma("page_size", { simple: true }) as number;
  if (before === STORE_PAGE_SIZE) return false;
  try {
    // Checkpoints and leaves WAL mode: SQLite keeps a WAL database's page size.
    db.pragma("journal_mode = DELETE");
    db.pragma(`page_size = ${STORE_PAGE_SIZE}`);
    db.exec("VACUUM");
  } catch (e) {
    log.warn({ path, pageSize: before, err: errorMessage(e) }, "store kept its page size: rebuilding it failed (tried again at the next start)");
    return false;
  }
  const after = db.pragma("page_size", { simple: true }) as number;
  log.info({ path, from: before, to: after }, "store rebuilt with smaller pages");
  return after === STORE_PAGE_SIZE;
}

/** The WAL's checkpoint threshold in pages of this store's size. */
export function setWalCheckpoint(db: Db): void {
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${Math.round(WAL_CHECKPOINT_BYTES / pageSize)}`);
}
