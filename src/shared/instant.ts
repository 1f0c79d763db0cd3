/**
 * Instants as the contracts write them (mqtt-api.md: `2026-12-01T14:00:00Z`): ISO-8601 UTC
 * in whole seconds. Locks count seconds, windows are in seconds, and one format everywhere
 * means two instants of the same second always compare equal as text.
 *
 * The same few seconds are formatted over and over (every key status repeats its doors'
 * window edges; events of one second share their time): a pure function's answers, bounded.
 */
const formatted = new Map<number, string>();
const FORMATTED_MAX = 1024;

/** An instant in ms as the contracts write it (whole seconds, UTC). */
export function formatInstant(ms: number): string {
  const s = Math.floor(ms / 1000);
  let text = formatted.get(s);
  if (text === undefined) {
    text = new Date(s * 1000).toISOString().replace(".000Z", "Z");
    if (formatted.size >= FORMATTED_MAX) formatted.clear();
    formatted.set(s, text);
  }
  return text;
}

/** The same, from Unix seconds (lock times, validity windows). */
export function formatEpochSeconds(s: number): string {
  return formatInstant(s * 1000);
}
