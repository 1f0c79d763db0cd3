/**
 * Read-only looks at a store file for `lockbridge doctor`, beside a running hub (WAL reader)
 * or without one: the locks and their links, never a secret column.
 */
import Database from "better-sqlite3";
import type { LockLink } from "../access/model.js";

export interface PeekedLock {
  lockId: string;
  state: string;
  link: LockLink;
}

export function peekLocks(storePath: string): PeekedLock[] {
  const db = new Database(storePath, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT lock_id, state, link FROM locks ORDER BY lock_id").all() as { lock_id: string; state: string; link: string }[];
    return rows.map((r) => ({ lockId: r.lock_id, state: r.state, link: JSON.parse(r.link) as LockLink }));
  } finally {
    db.close();
  }
}
