/**
 * The event outbox as the rest of the hub sees it: emit() stores an event with the next
 * hub-wide seq (in the caller's transaction when there is one), enforces the backlog bound
 * and wakes the sender. The sender (outbox-sender.ts) publishes and marks events sent.
 *
 * The bound is enforced in chunks of 1% (at least one event): when the rows held exceed
 * maxEvents the oldest go, sent history first, and if unsent events had to go,
 * `hub.events_dropped` says how many and which seqs. Chunks keep a full backlog from
 * emitting one hub.events_dropped per new event.
 */
import type { Store } from "../store/index.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import type { EventSink, HubEventInput } from "./events.js";
import { formatInstant } from "../shared/instant.js";

/** A sent event stays at least this long, for events.resend (mqtt-api.md §5). */
export const EVENT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export interface OutboxOptions {
  maxEvents: number;
}

export class Outbox implements EventSink {
  private readonly listeners = new Set<() => void>();
  private readonly requeueListeners = new Set<(fromSeq: number) => void>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: OutboxOptions,
  ) {}

  /** Stores the event and returns its seq. Inside store.transaction() it commits with the caller. */
  emit(event: HubEventInput): number {
    const seq = this.store.transaction(() => {
      const at = event.at ?? formatInstant(this.clock.now());
      const stored = this.store.outbox.append({ ...event, at });
      this.enforceBound();
      return stored;
    });
    this.notify();
    return seq;
  }

  /** Called (synchronously) after every emit; the sender wakes up on it. */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called after requeueFrom(): the sender moves its cursor back. */
  onRequeue(listener: (fromSeq: number) => void): () => void {
    this.requeueListeners.add(listener);
    return () => this.requeueListeners.delete(listener);
  }

  /** events.resend: everything held from `fromSeq` on is sent again. @returns how many. */
  requeueFrom(fromSeq: number): number {
    const n = this.store.outbox.requeueFrom(fromSeq);
    for (const listener of this.requeueListeners) listener(fromSeq);
    this.notify();
    return n;
  }

  /** Drops sent events past the 7-day window. @returns how many. */
  purgeExpired(): number {
    return this.store.outbox.purgeSentBefore(this.clock.now() - EVENT_RETENTION_MS);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  private enforceBound(): void {
    const { maxEvents } = this.options;
    const first = this.store.outbox.firstSeq();
    const last = this.store.outbox.lastSeq();
    // Rows are only ever deleted from the old end, so last - first + 1 bounds the count from above.
    if (first === 0 || last - first + 1 <= maxEvents) return;
    if (this.store.outbox.depth().total <= maxEvents) return;
    const chunk = Math.max(1, Math.floor(maxEvents / 100));
    const firstUnsent = this.store.outbox.pending(1)[0]?.seq;
    // Leave room for the hub.events_dropped event itself.
    const trimmed = this.store.outbox.trim(Math.max(0, maxEvents - chunk - 1));
    if (trimmed.droppedUnsent === 0) {
      this.log.info({ dropped: trimmed.dropped }, "outbox bound reached: oldest sent events dropped from the resend history");
      return;
    }
    this.log.warn({ dropped: trimmed.droppedUnsent, toSeq: trimmed.lastUnsentDroppedSeq }, "outbox bound reached: unsent events dropped");
    this.store.outbox.append({
      type: "hub.events_dropped",
      at: formatInstant(this.clock.now()),
      count: trimmed.droppedUnsent,
      ...(firstUnsent !== undefined && { fromSeq: firstUnsent }),
      toSeq: trimmed.lastUnsentDroppedSeq,
      maxEvents,
    });
  }
}
