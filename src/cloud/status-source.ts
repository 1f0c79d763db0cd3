/**
 * The stand-in StatusSource: key statuses from a KeyCommands implementation, lock statuses
 * from the store's lock records (what the lock layer last saw). The provisioning engine may
 * pass its own source to createCloudSync instead.
 */
import type { Store } from "../store/index.js";
import type { KeyCommands } from "./handlers/key-commands.js";
import type { LockStatus, StatusSource } from "./status-publisher.js";
import { formatInstant } from "../shared/instant.js";

export function storeStatusSource(store: Store, keys: Pick<KeyCommands, "status">): StatusSource {
  return {
    keyStatus: (keyId) => keys.status(keyId),
    lockStatus: (lockId) => lockStatusFromStore(store, lockId),
    keyIds: () => store.keys.ids(),
    lockIds: () => store.locks.list().map((l) => l.lockId),
  };
}

export function lockStatusFromStore(store: Store, lockId: string): LockStatus | null {
  const lock = store.locks.get(lockId);
  if (!lock) return null;
  const ident = lock.ident;
  const used = store.slots.usedCounts(lockId);
  return {
    lockId: lock.lockId,
    online: lock.online,
    lastSeen: lock.lastSeen === null ? null : formatInstant(lock.lastSeen),
    profile: lock.profileId,
    model: ident?.model ?? null,
    firmware: ident?.firmware ?? null,
    battery: lock.battery,
    doorOpen: lock.doorOpen,
    clockDriftS: lock.clockDriftS,
    slots: {
      doorCode: { used: used.doorCode, total: ident?.codeSlots ?? null },
      keycard: { used: used.keycard, total: ident?.cardSlots ?? null },
      smartKey: { used: used.smartKey, total: ident?.mobileKeySlots ?? null },
    },
  };
}
