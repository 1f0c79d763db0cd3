/** Commands about the hub itself: events.resend and status.get. */
import { formatInstant } from "../../shared/instant.js";
import type { Store } from "../../store/index.js";
import { defineHandler, type CommandRegistry } from "../registry.js";
import type { Outbox } from "../outbox.js";

/** Facts about the running hub that the store does not hold. */
export interface HubFacts {
  hubId: string;
  version: string;
  bootId: string;
  sessionId: number;
  connected: boolean;
  startedAt: string;
}

export function registerHubHandlers(registry: CommandRegistry, deps: { store: Store; outbox: Outbox; facts: () => HubFacts }): void {
  const { store, outbox } = deps;

  registry.register(
    "events.resend",
    defineHandler("events.resend", (cmd, ctx) =>
      // Committed with the response: a hub that dies right after still resends them.
      ctx.commit(() => ({ result: { resent: outbox.requeueFrom(cmd.fromSeq) } })),
    ),
  );

  registry.register(
    "status.get",
    defineHandler("status.get", () => ({ result: hubSummary(store, deps.facts()) })),
  );
}

/** The hub summary of status.get. */
export function hubSummary(store: Store, facts: HubFacts) {
  const locks = store.locks.list();
  let pending = 0;
  let failed = 0;
  for (const lock of locks) {
    for (const slot of store.slots.outOfSync(lock.lockId)) {
      if (slot.lastError !== null) failed++;
      else pending++;
    }
  }
  const outbox = store.outbox.depth();
  return {
    ...facts,
    siteId: store.site.get()?.siteId ?? null,
    needsSnapshot: needsSnapshot(store),
    locks: {
      total: locks.length,
      online: locks.filter((l) => l.online).length,
      offline: locks.filter((l) => !l.online).length,
      commissioning: locks.filter((l) => l.state === "commissioning").length,
      replaced: locks.filter((l) => l.state === "replaced").length,
    },
    keys: { live: store.keys.count(), removed: store.keys.count({ includeRemoved: true }) - store.keys.count() },
    credentials: { pending, failed },
    outbox: { depth: outbox.pending, held: outbox.total, lastSeq: store.outbox.lastSeq() },
    inbox: { held: store.inbox.count() },
    store: storeSummary(store),
  };
}

/** Size, and whether the data disk is full (commands are then refused: docs/reliability.md). */
function storeSummary(store: Store): { bytes: number; diskFull: boolean; diskFullSince?: string } {
  const { fullSinceMs } = store.storage();
  return { bytes: store.sizeBytes(), diskFull: fullSinceMs !== undefined, ...(fullSinceMs !== undefined && { diskFullSince: formatInstant(fullSinceMs) }) };
}

/** True while the store holds no desired state (new or wiped store): the cloud should send sync.snapshot. */
export function needsSnapshot(store: Store): boolean {
  return store.site.get() === undefined && !store.doors.any() && !store.keys.anyLive();
}
