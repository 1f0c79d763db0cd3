/**
 * Which lock answered at a replaced lock's link (IDENT showed another lockId). Kept in the
 * store's meta so status, `diagnose` and the installer's `lock replace` can name the new lock
 * after a restart too; cleared when the old lockId is commissioned again or decommissioned.
 */
import type { Store } from "../store/index.js";

const REPLACED_BY_META = (lockId: string): string => `lock.replacedBy:${lockId}`;

/** State `replaced`, offline (the old lock is gone from this link), and the lock seen instead named. */
export function markReplaced(store: Store, lockId: string, newLockId: string): void {
  store.locks.setState(lockId, "replaced");
  store.locks.updateHealth(lockId, { online: false });
  store.meta.set(REPLACED_BY_META(lockId), newLockId.toLowerCase());
}

export function replacedBy(store: Pick<Store, "meta">, lockId: string): string | null {
  return store.meta.get(REPLACED_BY_META(lockId)) ?? null;
}

export function clearReplacedBy(store: Store, lockId: string): void {
  store.meta.delete(REPLACED_BY_META(lockId));
}
