/**
 * Pages of a sync.snapshot still arriving (mqtt-api.md §3). Pages survive a restart, so a
 * snapshot sent across a hub restart still completes. Only one snapshot is collected at a
 * time: a page of another snapshotId drops the pages of the previous one.
 */
import { fromJson, statementCache, toJson, type RepoContext } from "../db.js";

/** Pages of an unfinished snapshot older than this are dropped. */
export const SNAPSHOT_PAGE_TTL_MS = 10 * 60 * 1000;

export interface SnapshotProgress {
  snapshotId: string;
  pages: number;
  /** Distinct pages held so far. */
  received: number;
  complete: boolean;
  /** Pages of an older snapshot dropped because this one started. */
  droppedPages: number;
}

export class SnapshotPagesRepo {
  private readonly q;
  private readonly putTx;
  constructor(private readonly ctx: RepoContext) {
    this.q = statementCache(ctx.db);
    this.putTx = ctx.db.transaction((snapshotId: string, page: number, pages: number, payload: unknown): SnapshotProgress => {
      const droppedPages = this.q("DELETE FROM snapshot_pages WHERE snapshot_id <> ?").run(snapshotId).changes;
      this.q(
        `INSERT INTO snapshot_pages (snapshot_id, page, pages, payload, received_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (snapshot_id, page) DO UPDATE SET pages = excluded.pages, payload = excluded.payload, received_at = excluded.received_at`,
      ).run(snapshotId, page, pages, toJson(payload), this.ctx.clock.now());
      const { received } = this.q("SELECT count(*) AS received FROM snapshot_pages WHERE snapshot_id = ? AND page <= ?").get(snapshotId, pages) as {
        received: number;
      };
      return { snapshotId, pages, received, complete: received === pages, droppedPages };
    });
  }

  /** Stores one page (1-based) of `pages`; a page of another snapshot drops the old one's pages. */
  putPage(snapshotId: string, page: number, pages: number, payload: unknown): SnapshotProgress {
    if (!Number.isInteger(page) || !Number.isInteger(pages) || page < 1 || page > pages) throw new RangeError("page must be 1..pages");
    return this.putTx.immediate(snapshotId, page, pages, payload);
  }

  /** The payloads of a snapshot's pages in page order. */
  pages<P = unknown>(snapshotId: string): P[] {
    return (this.q("SELECT payload FROM snapshot_pages WHERE snapshot_id = ? ORDER BY page").all(snapshotId) as { payload: string }[]).map((r) =>
      fromJson<P>(r.payload),
    );
  }

  /** The snapshot whose pages are arriving, if any: how many of how many (the console's progress). */
  current(): { snapshotId: string; pages: number; received: number; firstReceivedAt: number } | undefined {
    const row = this.q("SELECT snapshot_id, max(pages) AS pages, count(*) AS received, min(received_at) AS first FROM snapshot_pages GROUP BY snapshot_id ORDER BY first DESC LIMIT 1").get() as
      | { snapshot_id: string; pages: number; received: number; first: number }
      | undefined;
    return row === undefined ? undefined : { snapshotId: row.snapshot_id, pages: row.pages, received: row.received, firstReceivedAt: row.first };
  }

  /** Drops a snapshot's pages (after it was applied). @returns how many. */
  clear(snapshotId: string): number {
    return this.q("DELETE FROM snapshot_pages WHERE snapshot_id = ?").run(snapshotId).changes;
  }

  /** Drops pages received before `cutoff` (ms). @returns how many. */
  dropReceivedBefore(cutoff: number): number {
    return this.q("DELETE FROM snapshot_pages WHERE received_at < ?").run(cutoff).changes;
  }

  /** Applies the 10-minute limit at the store clock's now. */
  dropExpired(): number {
    return this.dropReceivedBefore(this.ctx.clock.now() - SNAPSHOT_PAGE_TTL_MS);
  }
}
