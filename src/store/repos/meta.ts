/** Hub-wide facts kept across restarts: the MQTT sessionId counter, the last bootId, flags. */
import { statementCache, type RepoContext } from "../db.js";

/** The keys this module gives a meaning to; others may add their own names. */
export const META_KEYS = {
  sessionId: "sessionId",
  lastBootId: "lastBootId",
} as const;

export class MetaRepo {
  private readonly q;
  constructor(private readonly ctx: RepoContext) {
    this.q = statementCache(ctx.db);
  }

  get(key: string): string | undefined {
    const row = this.q("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return row?.value;
  }

  set(key: string, value: string): void {
    this.q("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(key, value);
  }

  /** @returns whether the key existed. */
  delete(key: string): boolean {
    return this.q("DELETE FROM meta WHERE key = ?").run(key).changes > 0;
  }

  /**
   * The next MQTT sessionId (mqtt-api.md §2): one more than the last handed out, committed
   * before it is returned, so it grows at every connection and never repeats. First call: 1.
   */
  nextSessionId(): number {
    const row = this.q(
      `INSERT INTO meta (key, value) VALUES ('${META_KEYS.sessionId}', '1')
       ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
       RETURNING value`,
    ).all() as { value: string }[];
    // all(), not get(): a failed autocommit (disk full) must throw, not hand out an id again.
    return Number(row[0]!.value);
  }

  /** The last sessionId handed out (0 when none yet). */
  currentSessionId(): number {
    return Number(this.get(META_KEYS.sessionId) ?? 0);
  }
}
