/**
 * What serial and TCP transports share: a link that is kept open until close(), reopened
 * with exponential backoff whenever it fails or disappears (USB adapter unplugged, serial
 * server rebooted), with its state reported as it changes.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { systemClock, type Clock, type TimerHandle } from "../shared/clock.js";
import { errorMessage, LockBridgeError } from "../shared/errors.js";
import { Backoff, type BackoffPolicy } from "../shared/backoff.js";

/** Reopening one local link: 100 ms doubling to 5 s, no jitter (nothing to de-synchronise). */
export const LINK_REOPEN_BACKOFF: BackoffPolicy = { firstMs: 100, maxMs: 5_000, jitter: "none" };
import type { Transport, TransportEvents, TransportKind, TransportState, TransportStatus } from "./types.js";

export interface StreamTransportOptions {
  clock?: Clock | undefined;
  logger: Logger;
  backoff?: BackoffPolicy | undefined;
}

export abstract class StreamTransport extends EventEmitter<TransportEvents> implements Transport {
  abstract readonly kind: TransportKind;
  abstract readonly target: string;
  protected readonly clock: Clock;
  protected readonly log: Logger;
  private readonly backoff: Backoff;
  private state: TransportState = "closed";
  private since: number;
  private reconnects = 0;
  private opened = false;
  private lastError: string | undefined;
  private bytesIn = 0;
  private bytesOut = 0;
  private retryTimer: TimerHandle | undefined;
  private stopped = true;
  /** Bumped on every new link so callbacks of a dead link are ignored. */
  private generation = 0;

  constructor(opts: StreamTransportOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger;
    this.backoff = new Backoff(opts.backoff ?? LINK_REOPEN_BACKOFF);
    this.since = this.clock.now();
  }

  /** Open the OS link; resolve once bytes can flow. Call linkData/linkLost with the generation given. */
  protected abstract connect(generation: number): Promise<void>;
  /** Drop the OS link (idempotent). */
  protected abstract disconnect(): Promise<void>;
  protected abstract send(data: Uint8Array): Promise<void>;

  status(): TransportStatus {
    return {
      kind: this.kind,
      target: this.target,
      state: this.state,
      since: this.since,
      reconnects: this.reconnects,
      lastError: this.lastError,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  async open(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.setState("opening");
    await this.attempt();
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.generation++;
    await this.disconnect();
    this.setState("closed");
    this.emit("close");
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.state !== "open") {
      throw new LockBridgeError("transport_closed", `${this.kind} ${this.target} is ${this.state}`, this.target);
    }
    this.bytesOut += data.length;
    await this.send(data);
  }

  /** Implementations call this for every chunk read from the current link. */
  protected linkData(generation: number, chunk: Buffer): void {
    if (generation !== this.generation) return;
    this.bytesIn += chunk.length;
    this.emit("data", chunk);
  }

  /** Implementations call this when the current link fails or closes. */
  protected linkLost(generation: number, cause?: unknown): void {
    if (generation !== this.generation || this.stopped) return;
    this.generation++;
    const message = cause === undefined ? "link closed" : errorMessage(cause);
    this.lastError = message;
    this.log.warn({ target: this.target, err: message }, "link lost; reopening with backoff");
    // 'error' is informational here (the transport recovers on its own): never throw for want of a listener.
    if (this.listenerCount("error") > 0) {
      this.emit("error", new LockBridgeError("transport_closed", `${this.kind} ${this.target}: ${message}`, this.target));
    }
    this.emit("close");
    void this.disconnect().finally(() => this.scheduleRetry());
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    const generation = ++this.generation;
    try {
      await this.connect(generation);
    } catch (e) {
      if (generation !== this.generation || this.stopped) return;
      const message = errorMessage(e);
      // Once per change: a port that stays missing is retried with backoff, not logged every time.
      if (message !== this.lastError || this.state !== "reconnecting") this.log.warn({ target: this.target, err: message }, "open failed; retrying with backoff (logged again only when the cause changes)");
      else this.log.debug({ target: this.target, err: message }, "open failed again");
      this.lastError = message;
      await this.disconnect().catch(() => undefined);
      this.scheduleRetry();
      return;
    }
    if (generation !== this.generation || this.stopped) return;
    this.backoff.reset();
    if (this.opened) this.reconnects++;
    this.opened = true;
    this.log.info({ target: this.target, reconnects: this.reconnects }, "link open");
    this.setState("open");
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = this.backoff.next();
    this.setState("reconnecting");
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.attempt();
    }, delay);
  }

  private setState(state: TransportState): void {
    if (state === this.state) return;
    this.state = state;
    this.since = this.clock.now();
    this.emit("state", this.status());
  }
}
