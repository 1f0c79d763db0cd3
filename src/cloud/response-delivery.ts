/**
 * Durable command responses (mqtt-api.md v1.1 §3): a response is as durable as its
 * command's effect. The dispatcher stores it, marked unsent, in the command's transaction;
 * this publishes it on `{base}/res` and marks it sent only once the broker acknowledged it
 * (PUBACK). What is still unsent when the connection comes back (a broker that went away, a
 * hub killed before the PUBACK) is published again, oldest first. The cloud drops a second
 * copy by `id`. Sent marks are batched (one transaction per flush): a mark lost in a crash
 * only means that response goes once more.
 */
import type { Store } from "../store/index.js";
import type { Clock, TimerHandle } from "../shared/clock.js";
import { errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { CloudConnection } from "./connection.js";
import type { CommandResponse } from "./responses.js";

/** Unsent responses read from the store per round when resending. */
const RESEND_PAGE = 100;
/**
 * Sent marks are written at least this often, or every MARK_BATCH acknowledgements. A second,
 * not 50 ms: each flush is a commit of its own (its pages written whole), and a mark lost to a
 * crash costs only a duplicate response (docs/performance.md).
 */
const MARK_FLUSH_MS = 1000;
const MARK_BATCH = 256;

export class ResponseDelivery {
  private resending = false;
  private acked: string[] = [];
  private flushTimer: TimerHandle | undefined;

  constructor(
    private readonly store: Store,
    private readonly connection: Pick<CloudConnection, "publish" | "connected">,
    private readonly topic: string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Writes the pending sent marks now (also at shutdown). */
  flush(): void {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    const ids = this.acked;
    if (ids.length === 0) return;
    this.acked = [];
    try {
      // Not fsynced: a mark lost to a power cut only sends those responses again (relaxed).
      this.store.relaxed(() => this.store.inbox.markSent(ids));
    } catch (e) {
      // Left unsent: published again after the next reconnect (a duplicate the cloud drops).
      this.log.error({ err: errorMessage(e), count: ids.length }, "cannot mark responses sent");
    }
  }

  /**
   * Publishes a response now (not awaited by the caller: a command's PUBACK goes after its
   * response is written, and PUBACKs are read only after that). `priority`: past the
   * Receive Maximum budget, for a response inside a command's turn.
   */
  send(response: CommandResponse, payload: string = JSON.stringify(response)): Promise<boolean> {
    const id = response.id;
    return this.connection.publish(this.topic, payload, { qos: 1, priority: true }).then(
      () => {
        if (id !== null) this.markSent(id);
        return true;
      },
      (e: unknown) => {
        if (id === null) this.log.warn({ err: errorMessage(e) }, "response to a command without id not published (not stored: not sent again)");
        else this.log.warn({ err: errorMessage(e), id }, "response not published yet: kept, sent again after the reconnect");
        return false;
      },
    );
  }

  /** The stored response of a redelivered command: unsent again until the broker acknowledges it. */
  sendAgain(response: CommandResponse): Promise<boolean> {
    if (response.id !== null) {
      try {
        this.store.inbox.markUnsent(response.id);
      } catch (e) {
        this.log.error({ err: errorMessage(e), id: response.id }, "cannot mark the response unsent");
      }
    }
    return this.send(response);
  }

  /** Publishes every unsent response, oldest first; stops at the first failure (the link went). */
  async resendUnsent(): Promise<number> {
    if (this.resending) return 0;
    this.resending = true;
    let sent = 0;
    try {
      const seen = new Set<string>();
      for (;;) {
        if (!this.connection.connected) return sent;
        const page = this.store.inbox.unsent<CommandResponse>(RESEND_PAGE).filter((e) => !seen.has(e.commandId));
        if (page.length === 0) break;
        for (const entry of page) {
          seen.add(entry.commandId);
          // One at a time: a small backlog, kept in order; a failure ends the round.
          if (!(await this.send(entry.response))) return sent;
          sent++;
        }
      }
      if (sent > 0) this.log.info({ sent }, "unsent command responses published again");
      return sent;
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, "resending unsent responses failed");
      return sent;
    } finally {
      this.resending = false;
    }
  }

  private markSent(id: string): void {
    this.acked.push(id);
    if (this.acked.length >= MARK_BATCH) this.flush();
    else this.flushTimer ??= this.clock.setTimeout(() => this.flush(), MARK_FLUSH_MS);
  }
}
