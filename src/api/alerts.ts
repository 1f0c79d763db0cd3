/**
 * The hub's own alerts: event types that tell the installer something needs a look (the
 * console's Events page lists them apart; `/api/events?alerts=1` filters to them). The console's
 * events.js holds the same list (no build step to share it); a unit test keeps the two equal.
 */
export const ALERT_TYPES: ReadonlySet<string> = new Set([
  "lock.security_alert",
  "lock.tamper",
  "lock.battery_low",
  "lock.replaced",
  "lock.events_lost",
  "lock.clock_lost",
  "lock.clock_drift",
  "lock.offline",
  "door.held_open",
  "key.at_risk",
  "credential.failed",
  "firmware.failed",
  "hub.events_dropped",
]);
