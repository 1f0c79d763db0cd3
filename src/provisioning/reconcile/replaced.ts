/**
 * Which lock answered at a replaced lock's link (IDENT showed another lockId). Kept in the
 * store (locks.replaced_by) so status, `diagnose` and the installer's `lock replace` can name the new lock
 * after a restart too; cleared when the old lockId is commissioned again or decommissioned.
 */
import type { Store } from "../../store/index.js";

/** State `replaced`, offline (the old lock is gone from this link), and the lock seen instead named. */
export function markReplaced(store: Pick<Store, "lockFacts" | "locks">, lockId: string, newLockId: string): void {
  store.locks.setState(lockId, "replaced");
  store.locks.updateHealth(lockId, { online: false });
  store.lockFacts.setReplacedBy(lockId, newLockId.toLowerCase());
}

export function replacedBy(store: Pick<Store, "lockFacts">, lockId: string): string | null {
  return store.lockFacts.replacedBy(lockId);
}

export function clearReplacedBy(store: Pick<Store, "lockFacts" | "locks">, lockId: string): void {
  store.lockFacts.setReplacedBy(lockId, null);
}
