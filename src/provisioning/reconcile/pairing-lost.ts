/**
 * A lock that seems to have lost its link key (LLP v1.1 §9.2). The hub does not re-pair it
 * on its own: PAIR carries the new key in clear to whatever answers on the link, and an
 * impostor can make any lock seem reset. The lock is reported (`lock.security_alert`,
 * reason `pairing_lost`; lock status state `pairing_lost`) and waits for an installer to
 * commission it again with the lock in pairing mode, or for a sealed answer under the key
 * the hub holds, which proves the lock still has it. Kept in the store (locks.pairing_lost_at,
 * like the replaced-by note) so the state survives a restart.
 */
import type { Store } from "../../store/index.js";

export function markPairingLost(store: Pick<Store, "lockFacts">, lockId: string, atMs: number): void {
  store.lockFacts.setPairingLostAt(lockId, atMs);
}

export function isPairingLost(store: Pick<Store, "lockFacts">, lockId: string): boolean {
  return store.lockFacts.pairingLostAt(lockId) !== null;
}

export function clearPairingLost(store: Pick<Store, "lockFacts">, lockId: string): void {
  store.lockFacts.setPairingLostAt(lockId, null);
}
