/**
 * Events the engine could not store because the data disk is full (a door held open, a lock
 * going offline, a key at risk: produced by timers and lock polls, with no command to refuse).
 * They are kept in memory in the order they happened, with the instant they happened, and
 * written once space returns; while any are held, later events queue behind them so the seq
 * order stays the order of events. At most `maxHeld`: past it the oldest go and a
 * `hub.events_dropped` (reason `data_disk_full`) says how many, so nothing vanishes silently
 * (mqtt-api.md §5). An error other than a full disk is the caller's, as before.
 */
import type { HubEventInput } from "../../cloud/events.js";
import type { Clock, TimerHandle } from "../../shared/clock.js";
import { formatInstant } from "../../shared/instant.js";
import type { Logger } from "../../shared/logger.js";
import { isDiskFull } from "../../store/index.js";

export const HELD_EVENTS_RETRY_MS = 1000;
export const DEFAULT_MAX_HELD_EVENTS = 10_000;

export class HeldEvents {
  private held: HubEventInput[] = [];
  private dropped = 0;
  private timer: TimerHandle | undefined;

  constructor(
    /** Stores events in one transaction (throws when it cannot). */
    private readonly write: (events: readonly HubEventInput[]) => void,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly maxHeld = DEFAULT_MAX_HELD_EVENTS,
  ) {}

  /** How many wait for space. */
  get size(): number {
    return this.held.length;
  }

  emit(events: readonly HubEventInput[]): void {
    if (events.length === 0) return;
    if (this.held.length === 0 && this.dropped === 0) {
      try {
        this.write(events);
        return;
      } catch (e) {
        if (!isDiskFull(e)) throw e;
        this.log.warn({ events: events.length }, "events held in memory: data disk full");
      }
    }
    this.hold(events);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private hold(events: readonly HubEventInput[]): void {
    const at = formatInstant(this.clock.now());
    for (const e of events) this.held.push(e.at === undefined ? { ...e, at } : e);
    const over = this.held.length - this.maxHeld;
    if (over > 0) {
      this.held.splice(0, over);
      this.dropped += over;
    }
    this.timer ??= this.clock.setTimeout(() => this.retry(), HELD_EVENTS_RETRY_MS);
  }

  private retry(): void {
    this.timer = undefined;
    const batch: HubEventInput[] = [
      ...(this.dropped > 0 ? [{ type: "hub.events_dropped" as const, count: this.dropped, reason: "data_disk_full", maxEvents: this.maxHeld }] : []),
      ...this.held,
    ];
    try {
      this.write(batch);
    } catch (e) {
      if (!isDiskFull(e)) this.log.error({ err: e instanceof Error ? e.message : String(e) }, "held events could not be stored");
      this.timer = this.clock.setTimeout(() => this.retry(), HELD_EVENTS_RETRY_MS);
      return;
    }
    this.log.info({ events: this.held.length, dropped: this.dropped }, "held events stored: data disk has room again");
    this.held = [];
    this.dropped = 0;
  }
}
