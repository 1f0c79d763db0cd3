/**
 * The effects of the plain store commands on the desired state (a door, the site or a card
 * changed; a snapshot applied): the keys concerned are re-derived in the same transaction.
 */
import type { DesiredStateEffects } from "../../cloud/handlers/index.js";
import type { Store } from "../../store/index.js";
import type { DesiredState } from "./desired-state.js";

/**
 * What a desired-state change means for the derived slot rows, inside the command's transaction: the
 * keys concerned are re-derived (and their lock workers woken) with the command's own writes.
 */
export function desiredStateEffects(
  store: Pick<Store, "keys" | "doors" | "keycards">,
  desired: Pick<
    DesiredState,
    "doorsChanged" | "resyncKeys" | "keysOnLock" | "keysReachingDoors" | "indexKeyCode" | "resyncMark" | "resyncKeysNotSince" | "beginBatch" | "endBatch"
  >,
): DesiredStateEffects {
  // Keys the snapshot applied are collected in a batch and derived once, together, at its end
  // (one pass over the locks, not one per key); the others (not in the snapshot) with them.
  let snapshotMark = 0;
  return {
    siteChanged() {
      desired.doorsChanged();
      desired.resyncKeys(store.keys.ids());
    },
    doorChanging(doorId) {
      // Keys of the door's lock now: the door may move to another lock, or go away.
      const lockId = store.doors.get(doorId)?.lockId;
      return lockId ? [...desired.keysOnLock(lockId)] : [];
    },
    doorChanged(doorId, keysBefore) {
      desired.doorsChanged();
      const affected = desired.keysReachingDoors([doorId]);
      for (const k of affected) desired.indexKeyCode(k);
      desired.resyncKeys(affected);
      desired.resyncKeys(keysBefore);
    },
    keycardsChanged(cardIds) {
      const holders = cardIds.map((id) => store.keycards.get(id)?.assignedKeyId).filter((k): k is string => typeof k === "string");
      desired.resyncKeys(holders);
    },
    snapshotApplying() {
      // Doors change inside the snapshot before its keys are applied.
      desired.doorsChanged();
      snapshotMark = desired.resyncMark();
      desired.beginBatch();
    },
    snapshotApplied() {
      desired.doorsChanged();
      desired.resyncKeysNotSince(snapshotMark, store.keys.ids({ includeRemoved: true }));
      desired.endBatch();
    },
  };
}
