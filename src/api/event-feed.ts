/**
 * The hub's events as a live feed: tails the outbox (what the cloud gets, in seq order)
 * after each append, once the appending transaction has committed, and hands new events to
 * the subscribers: the SSE clients of `/api/events` and the metrics counters.
 * A rolled-back event never shows: only committed rows are read.
 */
import { SECRET_FIELDS } from "../shared/logger.js";
import type { Logger } from "../shared/logger.js";
import { errorMessage } from "../shared/errors.js";
import type { HubView } from "./hub-view.js";
import type { FeedEvent } from "./schemas.js";

const BATCH = 500;
const SECRET = new Set<string>(SECRET_FIELDS);

/** Events carry no secrets by contract; this drops any field named like one all the same. */
export function withoutSecrets(event: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event)) {
    if (SECRET.has(k) && !(k === "code" && typeof v === "string" && /^[a-z_]+$/.test(v))) continue;
    out[k] = v !== null && typeof v === "object" && !Array.isArray(v) ? withoutSecrets(v as Record<string, unknown>) : v;
  }
  return out;
}

export class EventFeed {
  private readonly subscribers = new Set<(event: FeedEvent) => void>();
  private lastSeq = 0;
  private scheduled = false;
  private detach: (() => void) | undefined;

  constructor(
    private readonly hub: HubView,
    private readonly log: Logger,
  ) {}

  /** Starts tailing from the newest event (past ones are read with since()). */
  start(): void {
    const cloud = this.hub.cloud();
    const store = this.hub.store();
    if (!cloud || !store) return;
    this.lastSeq = store.outbox.lastSeq();
    this.detach = cloud.events.onAppend(() => this.schedule());
  }

  stop(): void {
    this.detach?.();
    this.detach = undefined;
    this.subscribers.clear();
  }

  subscribe(listener: (event: FeedEvent) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  /** Held events from `fromSeq` on (at most `limit`), for a client that resumes. */
  since(fromSeq: number, limit = BATCH): FeedEvent[] {
    const store = this.hub.store();
    if (!store) return [];
    return store.outbox.from(Math.max(fromSeq, this.lastSeq - 10_000, 0), limit).filter((e) => e.seq <= this.lastSeq).map((e) => toFeedEvent(e.event));
  }

  get newestSeq(): number {
    return this.lastSeq;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // After the current (synchronous) transaction: its rows are committed by then.
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    const store = this.hub.store();
    if (!store) return;
    try {
      for (;;) {
        const batch = store.outbox.from(this.lastSeq + 1, BATCH);
        for (const entry of batch) {
          this.lastSeq = entry.seq;
          const event = toFeedEvent(entry.event);
          for (const s of this.subscribers) s(event);
        }
        if (batch.length < BATCH) break;
      }
    } catch (e) {
      this.log.warn({ err: errorMessage(e) }, "event feed: reading the outbox failed");
    }
  }
}

function toFeedEvent(event: Readonly<Record<string, unknown>> & { seq: number; type: string }): FeedEvent {
  const clean = withoutSecrets(event);
  return { ...clean, seq: event.seq, type: event.type, at: typeof event.at === "string" ? event.at : "" };
}
