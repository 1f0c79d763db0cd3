/**
 * Instants as the contracts write them (mqtt-api.md: `2026-12-01T14:00:00Z`): ISO-8601 UTC
 * in whole seconds. Locks count seconds, windows are in seconds, and one format everywhere
 * means two instants of the same second always compare equal as text.
 */
export function formatInstant(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** The same, from Unix seconds (lock times, validity windows). */
export function formatEpochSeconds(s: number): string {
  return formatInstant(s * 1000);
}
