/**
 * Events for the cloud (mqtt-api.md §5). Every event gets a hub-wide seq from the outbox;
 * producers hand in the body only. Producers: the command layer, the provisioning engine,
 * the lock event mapping, the outbox itself (hub.events_dropped).
 */

export const EVENT_TYPES = [
  "access.granted",
  "access.denied",
  "door.opened",
  "door.closed",
  "door.remote_unlock",
  "lock.online",
  "lock.offline",
  "lock.battery_low",
  "lock.tamper",
  "lock.clock_lost",
  "lock.clock_drift",
  "lock.events_lost",
  "lock.replaced",
  "lock.security_alert",
  "door.held_open",
  "key.at_risk",
  "credential.provisioned",
  "credential.failed",
  "firmware.progress",
  "firmware.applied",
  "firmware.failed",
  "hub.events_dropped",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** An event as a producer hands it in: `at` defaults to now; `seq` is assigned by the outbox. */
export interface HubEventInput {
  readonly type: EventType;
  /** ISO-8601 UTC instant of what happened (the lock's time for lock events). */
  readonly at?: string;
  readonly doorId?: string;
  readonly lockId?: string;
  readonly keyId?: string;
  readonly credential?: "doorCode" | "keycard" | "smartKey";
  readonly reason?: string;
  readonly [field: string]: unknown;
}

/** An event as published: the body plus seq and at. */
export interface HubEvent extends HubEventInput {
  readonly seq: number;
  readonly at: string;
}

/** Anything that can take events into the outbox (the cloud sync's `events`). */
export interface EventSink {
  emit(event: HubEventInput): number;
}
