/** Instants as the contract writes them: ISO-8601 UTC, milliseconds only when not zero (2026-12-01T14:00:00Z). */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}
