/**
 * Work that rides in the store's next commit, whatever commit it is, instead of costing a
 * commit of its own (lock counters, a table check's confirmed writes, lastSeen refreshes:
 * docs/performance.md). `take` hands over what waits (undefined: nothing), `write` writes it
 * inside that transaction, and `giveBack` gets it again if the transaction rolls back. Each
 * transaction starts by forgetting what the one before carried: that one has ended, committed
 * or given back, so a later rollback never gives back what is already stored.
 */
import type { Store } from "./index.js";

export interface Rider<T> {
  take(): T | undefined;
  write(work: T): void;
  giveBack(work: T): void;
}

/** @returns detaches the rider from the store. */
export function rideAlong<T>(store: Pick<Store, "beforeCommit" | "afterRollback">, rider: Rider<T>): () => void {
  let carried: T | undefined;
  const unhooks = [
    store.beforeCommit(() => {
      carried = rider.take();
      if (carried !== undefined) rider.write(carried);
    }),
    store.afterRollback(() => {
      const work = carried;
      carried = undefined;
      if (work !== undefined) rider.giveBack(work);
    }),
  ];
  return () => unhooks.forEach((u) => u());
}
