/**
 * A lock that seems to have lost its link key (LLP v1.1 §9.2). The hub does not re-pair it
 * on its own: PAIR carries the new key in clear to whatever answers on the link, and an
 * impostor can make any lock seem reset. The lock is reported (`lock.security_alert`,
 * reason `pairing_lost`; lock status state `pairing_lost`) and waits for an installer to
 * commission it again with the lock in pairing mode, or for a sealed answer under the key
 * the hub holds, which proves the lock still has it. Kept in the store's meta (like the
 * replaced-by note) so the state survives a restart.
 */
import type { Store } from "../store/index.js";

const PAIRING_LOST_META = (lockId: string): string => `lock.pairingLost:${lockId}`;

export function markPairingLost(store: Pick<Store, "meta">, lockId: string, atMs: number): void {
  store.meta.set(PAIRING_LOST_META(lockId), new Date(atMs).toISOString());
}

export function isPairingLost(store: Pick<Store, "meta">, lockId: string): boolean {
  return store.meta.get(PAIRING_LOST_META(lockId)) !== undefined;
}

export function clearPairingLost(store: Pick<Store, "meta">, lockId: string): void {
  store.meta.delete(PAIRING_LOST_META(lockId));
}
