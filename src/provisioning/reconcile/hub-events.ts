/** Hub events to the outbox: one transaction per batch, a lock's own BATTERY_LOW noted (battery.ts). */
import type { EventSink, HubEventInput } from "../../cloud/events.js";
import type { Store } from "../../store/index.js";
import { noteBatteryLow } from "./battery.js";

export type EmitEvents = (events: readonly HubEventInput[]) => void;

export function outboxEmitter(store: Pick<Store, "transaction" | "lockFacts">, sink: EventSink): EmitEvents {
  return (events) => {
    if (events.length === 0) return;
    store.transaction(() => {
      for (const e of events) sink.emit(noteBatteryLow(store, e));
    });
  };
}
