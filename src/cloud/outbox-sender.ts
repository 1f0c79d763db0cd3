/**
 * Drains the outbox to `{base}/evt` while connected: events in seq order, a window of
 * QoS 1 publishes in flight, each marked sent only after its PUBACK (marks are batched into
 * one transaction per flush: losing them in a crash only means those events go again).
 * On any failure the cursor goes back to the oldest unacknowledged event, so after a
 * reconnect the cloud sees the rest again in order (duplicates it drops by seq).
 */
import type { Store } from "../store/index.js";
import type { Clock, TimerHandle } from "../shared/clock.js";
import { errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { CloudConnection } from "./connection.js";
import type { Outbox } from "./outbox.js";

export interface OutboxSenderOptions {
  /** QoS 1 publishes awaiting PUBACK at once. */
  window: number;
  /** Rows read from the store at a time. */
  batch: number;
  /** Sent marks are written at least this often (and every `batch` acks). */
  flushMs: number;
}

/** Sent marks that could not be written are tried again this often. */
const MARK_RETRY_MS = 1_000;

/** flushMs a second, not 50 ms: each flush is a commit (its pages written whole) and a lost mark only resends. */
export const DEFAULT_SENDER_OPTIONS: OutboxSenderOptions = { window: 128, batch: 500, flushMs: 1000 };

export class OutboxSender {
  private running = false;
  private online = false;
  /** Highest seq handed to the connection. */
  private cursor = 0;
  private readonly inFlight = new Set<number>();
  private acked: number[] = [];
  private flushTimer: TimerHandle | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private sent = 0;
  private generation = 0;

  constructor(
    private readonly store: Store,
    private readonly outbox: Outbox,
    private readonly connection: Pick<CloudConnection, "publish">,
    private readonly topic: string,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: OutboxSenderOptions = DEFAULT_SENDER_OPTIONS,
  ) {}

  /** Events published and acknowledged since start. */
  get sentCount(): number {
    return this.sent;
  }

  start(): void {
    this.running = true;
    this.unsubscribe = this.outbox.onAppend(() => this.kick());
    this.outbox.onRequeue((fromSeq) => this.rewind(fromSeq - 1));
  }

  /** Connected: start draining from the oldest unsent event. */
  setOnline(online: boolean): void {
    this.online = online;
    if (online) {
      this.rewind(0);
      this.loop ??= this.run().finally(() => (this.loop = undefined));
    }
    this.kick();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.kick();
    await this.loop;
    this.flush();
  }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private waitForKick(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** The next publish starts after `seq` (the oldest unacknowledged event when rewinding). */
  private rewind(seq: number): void {
    let to = Math.min(this.cursor, seq);
    for (const s of this.inFlight) to = Math.min(to, s - 1);
    this.cursor = to;
    this.generation++;
    this.kick();
  }

  private async run(): Promise<void> {
    let buffer: { seq: number; payload: string }[] = [];
    let generation = -1;
    while (this.running && this.online) {
      if (this.inFlight.size >= this.options.window) {
        await this.waitForKick();
        continue;
      }
      // A rewind invalidates what was read ahead.
      if (generation !== this.generation) {
        buffer = [];
        generation = this.generation;
      }
      if (buffer.length === 0) {
        buffer = this.read();
        if (buffer.length === 0) await this.waitForKick();
        continue;
      }
      const next = buffer.shift()!;
      this.cursor = next.seq;
      this.send(next.seq, next.payload);
    }
  }

  private read(): { seq: number; payload: string }[] {
    try {
      // The stored JSON is the event without its seq; seq goes first, for people reading the stream.
      return this.store.outbox.pendingAfterRaw(this.cursor, this.options.batch).map((e) => ({
        seq: e.seq,
        payload: e.json === "{}" ? `{"seq":${e.seq}}` : `{"seq":${e.seq},${e.json.slice(1)}`,
      }));
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, "cannot read the outbox");
      return [];
    }
  }

  private send(seq: number, payload: string): void {
    this.inFlight.add(seq);
    this.connection.publish(this.topic, payload, { qos: 1 }).then(
      () => {
        this.inFlight.delete(seq);
        this.acked.push(seq);
        this.sent++;
        if (this.acked.length >= this.options.batch) this.flush();
        else this.flushTimer ??= this.clock.setTimeout(() => this.flush(), this.options.flushMs);
        this.kick();
      },
      (e: unknown) => {
        this.inFlight.delete(seq);
        this.log.debug({ seq, err: errorMessage(e) }, "event not acknowledged; it goes again");
        // Everything from the oldest unacknowledged event goes again, in order.
        this.rewind(seq - 1);
      },
    );
  }

  private flush(): void {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    if (this.acked.length === 0) return;
    const seqs = this.acked;
    this.acked = [];
    try {
      const at = this.clock.now();
      seqs.sort((a, b) => a - b);
      // Not fsynced: a mark lost to a power cut only means those events go again (relaxed).
      this.store.relaxed(() => {
        // PUBACKs come mostly in order: contiguous runs become one UPDATE each.
        let from = seqs[0]!;
        let to = from;
        for (const seq of seqs.slice(1)) {
          if (seq === to + 1) to = seq;
          else {
            this.store.outbox.markSentRange(from, to, at);
            from = to = seq;
          }
        }
        this.store.outbox.markSentRange(from, to, at);
      });
    } catch (e) {
      // Not fatal (a full disk): the events were acknowledged, only their marks are not
      // written. Keep them and try again later; until then a restart sends them again (the
      // cloud drops duplicates by seq).
      this.log.error({ err: errorMessage(e), count: seqs.length }, "cannot mark events sent");
      this.acked = seqs.concat(this.acked);
      if (this.running) this.flushTimer ??= this.clock.setTimeout(() => this.flush(), MARK_RETRY_MS);
    }
  }
}
