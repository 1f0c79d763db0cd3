/**
 * Retained key and lock statuses (mqtt-api.md §4). Producers say WHICH key or lock changed
 * (keyChanged/lockChanged); the publisher reads the current status from its StatusSource
 * when it publishes, so a burst of changes to one key costs one publish: changes are
 * collected until `debounceMs` passed without a new one (at most `maxWaitMs` after the
 * first). A key that is gone (source returns null) gets an empty retained payload, which
 * deletes the retained message at the broker. Identical payloads are not published again.
 * While offline the changes wait; after a reconnect without a session (the broker may have
 * lost its retained messages too) every status is published again.
 */
import { createHash } from "node:crypto";
import type { KeyStatus } from "../access/model.js";
import type { Clock, TimerHandle } from "../shared/clock.js";
import { errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { CloudConnection } from "./connection.js";
import type { Topics } from "./topics.js";

/** Lock status payload (mqtt-api.md §4). */
export interface LockStatus {
  lockId: string;
  online: boolean;
  lastSeen: string | null;
  profile: string;
  model: string | null;
  firmware: string | null;
  battery: number | null;
  doorOpen: boolean | null;
  clockDriftS: number | null;
  slots: Record<"doorCode" | "keycard" | "smartKey", { used: number; total: number | null }>;
}

/** Where statuses come from: the provisioning engine (or the store-only stand-in). */
export interface StatusSource {
  /** null once the key is fully removed. */
  keyStatus(keyId: string): KeyStatus | null;
  /** null once the lock is gone (decommissioned). */
  lockStatus(lockId: string): LockStatus | null;
  /** Keys and locks whose status is retained (for a full republish). */
  keyIds(): string[];
  lockIds(): string[];
  /**
   * Optional: runs `fn` — statuses computed one after another, synchronously, nothing written
   * meanwhile — so that the source can read what every computation repeats once.
   */
  batch?<T>(fn: () => T): T;
}

/** What producers call. */
import type { StatusSink } from "../shared/change-bus.js";
export type { StatusSink };

export interface StatusPublisherOptions {
  debounceMs: number;
  maxWaitMs: number;
  /** Retained publishes in flight at once. */
  concurrency: number;
}

export const DEFAULT_STATUS_OPTIONS: StatusPublisherOptions = { debounceMs: 250, maxWaitMs: 2000, concurrency: 16 };

export class StatusPublisher implements StatusSink {
  private readonly dirtyKeys = new Set<string>();
  private readonly dirtyLocks = new Set<string>();
  /**
   * topic -> SHA-256 of the last payload published (skip identical). A digest, not the payload:
   * a retained status is ~0.6 KB and there is one per key and lock (docs/performance.md, "Memory").
   */
  private readonly last = new Map<string, string>();
  private timer: TimerHandle | undefined;
  private firstChangeAt: number | undefined;
  private online = false;
  private flushing: Promise<void> | undefined;
  private published = 0;

  constructor(
    private readonly source: StatusSource,
    private readonly connection: Pick<CloudConnection, "publish">,
    private readonly topics: Topics,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: StatusPublisherOptions = DEFAULT_STATUS_OPTIONS,
  ) {}

  /** Retained status publishes done since start. */
  get publishedCount(): number {
    return this.published;
  }

  keyChanged(keyId: string): void {
    this.dirtyKeys.add(keyId);
    this.schedule();
  }

  lockChanged(lockId: string): void {
    this.dirtyLocks.add(lockId);
    this.schedule();
  }

  setOnline(online: boolean, sessionPresent = true): void {
    this.online = online;
    if (!online) return;
    if (!sessionPresent) {
      this.last.clear();
      try {
        for (const id of this.source.keyIds()) this.dirtyKeys.add(id);
        for (const id of this.source.lockIds()) this.dirtyLocks.add(id);
      } catch (e) {
        this.log.error({ err: errorMessage(e) }, "cannot list statuses to republish");
      }
    }
    if (this.dirtyKeys.size + this.dirtyLocks.size > 0) this.schedule(true);
  }

  /** Publishes what is pending now (tests, shutdown). */
  async flushNow(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.flush();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private schedule(immediate = false): void {
    const now = this.clock.now();
    this.firstChangeAt ??= now;
    this.timer?.cancel();
    const wait = immediate ? 0 : Math.max(0, Math.min(this.options.debounceMs, this.firstChangeAt + this.options.maxWaitMs - now));
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, wait);
  }

  private async flush(): Promise<void> {
    if (this.flushing) {
      await this.flushing;
      if (this.dirtyKeys.size + this.dirtyLocks.size > 0 && this.online) return this.flush();
      return;
    }
    if (!this.online) return;
    this.firstChangeAt = undefined;
    this.flushing = this.publishDirty().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async publishDirty(): Promise<void> {
    // Every dirty status is computed now, in one synchronous run (one batch for the source):
    // each key once however many changes it had since the last flush, from the state as it is
    // now. A change arriving later marks it dirty again, so its final state is always
    // computed after its last change.
    const work = this.source.batch ? this.source.batch(() => this.computeDirty()) : this.computeDirty();
    const todo = work.map((w) => ({ ...w, digest: payloadDigest(w.payload) })).filter((w) => this.last.get(w.topic) !== w.digest);
    let failed = false;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let w = todo[next++]; w; w = todo[next++]) {
        if (failed) {
          w.retry();
          continue;
        }
        try {
          await this.connection.publish(w.topic, w.payload, { qos: 1, retain: true });
          this.last.set(w.topic, w.digest);
          this.published++;
        } catch (e) {
          failed = true;
          w.retry();
          this.log.debug({ err: errorMessage(e), topic: w.topic }, "status not published: kept for the next connection");
        }
      }
    };
    await Promise.all(Array.from({ length: this.options.concurrency }, worker));
    // Changes that arrived meanwhile are already scheduled.
  }

  private computeDirty(): { topic: string; payload: string; retry: () => void }[] {
    const work: { topic: string; payload: string; retry: () => void }[] = [];
    for (const keyId of [...this.dirtyKeys]) {
      this.dirtyKeys.delete(keyId);
      const payload = this.read(() => this.source.keyStatus(keyId), `key ${keyId}`);
      if (payload !== undefined) work.push({ topic: this.topics.keyStatus(keyId), payload, retry: () => this.dirtyKeys.add(keyId) });
    }
    for (const lockId of [...this.dirtyLocks]) {
      this.dirtyLocks.delete(lockId);
      const payload = this.read(() => this.source.lockStatus(lockId), `lock ${lockId}`);
      if (payload !== undefined) work.push({ topic: this.topics.lockStatus(lockId), payload, retry: () => this.dirtyLocks.add(lockId) });
    }
    return work;
  }

  /** The payload to retain: JSON, or "" once gone; undefined when the source failed (logged). */
  private read(get: () => object | null, what: string): string | undefined {
    try {
      const status = get();
      return status === null ? "" : JSON.stringify(status);
    } catch (e) {
      this.log.error({ err: errorMessage(e), what }, "cannot compute a status");
      return undefined;
    }
  }
}

function payloadDigest(payload: string): string {
  return createHash("sha256").update(payload).digest("base64");
}
