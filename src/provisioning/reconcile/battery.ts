/**
 * lock.battery_low once per low spell: raised by the hub when a lock's reported battery is at
 * or below the threshold (a lock installed already low never logs the crossing itself), and
 * not again until the battery was back above the recovery level (a new battery).
 */
import type { Store } from "../../store/index.js";

export const LOW_BATTERY_PERCENT = 20;
const RECOVERED_PERCENT = 30;

/** @returns true when lock.battery_low is due now (and records that it was raised). */
export function batteryLowDue(store: Pick<Store, "lockFacts">, lockId: string, battery: number): boolean {
  const reported = store.lockFacts.batteryLowReported(lockId) !== null;
  if (battery <= LOW_BATTERY_PERCENT && !reported) {
    store.lockFacts.setBatteryLowReported(lockId, battery);
    return true;
  }
  if (battery >= RECOVERED_PERCENT && reported) store.lockFacts.setBatteryLowReported(lockId, null);
  return false;
}

/** Passes an event through; the lock's own BATTERY_LOW forwarded means the hub raises no other. */
export function noteBatteryLow<E extends { type: string; lockId?: unknown; battery?: unknown }>(store: Pick<Store, "lockFacts">, event: E): E {
  if (event.type === "lock.battery_low" && typeof event.lockId === "string") {
    store.lockFacts.setBatteryLowReported(event.lockId, typeof event.battery === "number" ? event.battery : 0);
  }
  return event;
}
