/**
 * Commands already handled, by command id, with the response that was sent: a command seen
 * in the last 7 days is not applied again, its stored response is sent again (mqtt-api.md §3).
 * Store the response in the same transaction as the command's effect.
 *
 * A stored response is "unsent" until the broker acknowledged its publish (markSent): the
 * cloud sync publishes the unsent ones again after a reconnect or a restart (v1.1 §3).
 */
import { fromJson, statementCache, toJson, type RepoContext } from "../db.js";

export const INBOX_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export interface InboxEntry<R = unknown> {
  commandId: string;
  cmd: string;
  response: R;
  receivedAt: number;
}

interface InboxRow {
  command_id: string;
  cmd: string;
  response: string;
  received_at: number;
}

export class InboxRepo {
  private readonly q;
  constructor(private readonly ctx: RepoContext) {
    this.q = statementCache(ctx.db);
  }

  /** The stored entry for a command id, or undefined if never seen (or purged). */
  get<R = unknown>(commandId: string): InboxEntry<R> | undefined {
    const r = this.q("SELECT command_id, cmd, response, received_at FROM inbox WHERE command_id = ?").get(commandId) as InboxRow | undefined;
    return r && { commandId: r.command_id, cmd: r.cmd, response: fromJson<R>(r.response), receivedAt: r.received_at };
  }

  /** Records a handled command and its response (JSON-serialisable), unsent. receivedAt defaults to now. */
  put(commandId: string, cmd: string, response: unknown, receivedAt: number = this.ctx.clock.now()): void {
    this.q(
      `INSERT INTO inbox (command_id, cmd, response, received_at, response_unsent) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (command_id) DO UPDATE SET cmd = excluded.cmd, response = excluded.response, received_at = excluded.received_at, response_unsent = 1`,
    ).run(commandId, cmd, toJson(response), receivedAt);
  }

  /** The broker acknowledged these responses' publishes (one transaction). */
  markSent(commandIds: readonly string[]): void {
    const stmt = this.q("UPDATE inbox SET response_unsent = 0 WHERE command_id = ? AND response_unsent = 1");
    this.ctx.db.transaction(() => {
      for (const id of commandIds) stmt.run(id);
    })();
  }

  /** The response is to be published again (a redelivered command). */
  markUnsent(commandId: string): void {
    this.q("UPDATE inbox SET response_unsent = 1 WHERE command_id = ?").run(commandId);
  }

  /** Responses not yet acknowledged by the broker, oldest first, at most `limit`. */
  unsent<R = unknown>(limit: number): InboxEntry<R>[] {
    const rows = this.q("SELECT command_id, cmd, response, received_at FROM inbox WHERE response_unsent = 1 ORDER BY received_at, command_id LIMIT ?").all(limit) as InboxRow[];
    return rows.map((r) => ({ commandId: r.command_id, cmd: r.cmd, response: fromJson<R>(r.response), receivedAt: r.received_at }));
  }

  /** Deletes entries received before `cutoff` (ms). @returns how many. */
  purgeOlderThan(cutoff: number): number {
    return this.q("DELETE FROM inbox WHERE received_at < ?").run(cutoff).changes;
  }

  /** Applies the 7-day retention at the store clock's now. @returns how many were deleted. */
  purgeExpired(): number {
    return this.purgeOlderThan(this.ctx.clock.now() - INBOX_RETENTION_MS);
  }

  count(): number {
    return (this.q("SELECT count(*) AS n FROM inbox").get() as { n: number }).n;
  }
}
