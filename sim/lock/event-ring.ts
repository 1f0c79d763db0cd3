import type { LockEvent } from "../../src/protocol/llp/index.js";

/**
 * The lock's event log (lock-link-protocol.md §5): seq grows by 1 from 1; when the
 * ring is full the oldest event is dropped, so a hub that reads late sees a seq gap.
 */
export class EventRing {
  private events: LockEvent[] = [];
  private nextSeq: number;
  /** Events lost to overflow (never read by the hub). */
  dropped = 0;

  constructor(
    readonly capacity: number,
    restore?: { events: LockEvent[]; nextSeq: number; dropped?: number },
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("event ring capacity must be >= 1");
    this.events = restore ? restore.events.slice(-capacity) : [];
    this.nextSeq = restore?.nextSeq ?? 1;
    this.dropped = restore?.dropped ?? 0;
  }

  /** Seq of the newest event logged, 0 when none ever was. */
  get head(): number {
    return this.nextSeq - 1;
  }

  get size(): number {
    return this.events.length;
  }

  log(e: Omit<LockEvent, "seq">): LockEvent {
    const event: LockEvent = { seq: this.nextSeq++, ...e };
    if (this.events.length >= this.capacity) {
      this.events.shift();
      this.dropped++;
    }
    this.events.push(event);
    return event;
  }

  /** READ_EVENTS: oldest first, seq >= fromSeq, at most max. */
  read(fromSeq: number, max: number): LockEvent[] {
    const out: LockEvent[] = [];
    for (const e of this.events) {
      if (e.seq < fromSeq) continue;
      out.push(e);
      if (out.length >= max) break;
    }
    return out;
  }

  /** ACK_EVENTS: forget what the hub has stored. */
  ack(uptoSeq: number): void {
    while (this.events.length > 0 && this.events[0]!.seq <= uptoSeq) this.events.shift();
  }

  all(): readonly LockEvent[] {
    return this.events;
  }

  clear(): void {
    this.events = [];
  }

  snapshot(): { events: LockEvent[]; nextSeq: number; dropped: number } {
    return { events: this.events.map((e) => ({ ...e })), nextSeq: this.nextSeq, dropped: this.dropped };
  }
}
