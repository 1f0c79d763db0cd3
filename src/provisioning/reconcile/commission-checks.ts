/**
 * Before and after a lock.commission that fails: the address must be free on its bus, and a
 * failed attempt leaves the store as it found it (contract v1.1: no half-commissioned lock).
 */
import type { LockLink } from "../../access/model.js";
import { LockBridgeError } from "../../shared/errors.js";
import type { LockRecord, Store } from "../../store/index.js";

/** Two links that reach the same address on the same bus (BLE links have no shared address). */
export function sameBusAddress(a: LockLink, b: LockLink): boolean {
  if (a.type === "serial" && b.type === "serial") return a.path === b.path && a.address === b.address;
  if (a.type === "tcp" && b.type === "tcp") return a.host === b.host && a.port === b.port && a.address === b.address;
  return false;
}

/** Refuses a link whose bus address another lock in service already holds. */
export function checkAddressFree(store: Pick<Store, "locks" | "transaction" | "lockFacts">, lockId: string, link: LockLink): void {
  for (const other of store.locks.list()) {
    if (other.lockId === lockId.toLowerCase() || other.state === "replaced") continue;
    if (sameBusAddress(other.link, link)) {
      const where = link.type === "serial" ? link.path : link.type === "tcp" ? `${link.host}:${link.port}` : "";
      throw new LockBridgeError(
        "invalid_payload",
        `lock ${other.lockId} already uses address ${"address" in link ? link.address : ""} on ${where}; decommission it, or use lock replace if this lock took its place`,
        "link.address",
      );
    }
  }
}

/**
 * Locks reported replaced at the same bus address: once an installer commissions a lock there,
 * the old one's probing (sealed requests to that address) stops.
 */
export function replacedAtAddress(store: Pick<Store, "locks" | "transaction" | "lockFacts">, lockId: string, link: LockLink): string[] {
  return store.locks.list().filter((o) => o.state === "replaced" && o.lockId !== lockId.toLowerCase() && sameBusAddress(o.link, link)).map((o) => o.lockId);
}

/** Puts the lock's record back as it was before the failed commission (removed if it was new). */
export function undoCommission(store: Pick<Store, "locks" | "transaction" | "lockFacts">, lockId: string, before: LockRecord | undefined): void {
  if (before === undefined) {
    store.locks.remove(lockId);
    return;
  }
  store.transaction(() => {
    store.locks.upsert({ lockId, profileId: before.profileId, link: before.link });
    store.locks.setState(lockId, before.state);
  });
}
