/**
 * One lock's reconciliation loop (issue 6, "Reconciliation"): make the lock hold exactly the
 * desired table, prove it with TABLE_DIGEST, and keep it so.
 *
 * Level-triggered: the work list is always re-derived from the store (desired vs applied
 * per slot), so a crash, a lost ACK or a lock that changed behind the hub's back all end in
 * the same place. One request at a time per lock; between requests the loop takes the most
 * urgent thing first:
 *   remote unlock > identity check > event drain > STATUS/clock > revocations >
 *   grants by arrival > verification (TABLE_DIGEST, READ_SLOTS on mismatch);
 * except that after two pages of events, waiting provisioning goes before the next page.
 *
 * Lock offline: work stays queued and the door statuses say lock_offline; the loop probes the
 * lock with backoff and resumes by itself. The steps live next to this file: identity.ts
 * (IDENT, pairing recovery), events.ts, health.ts (STATUS, clock, held-open door), apply.ts,
 * verify.ts, unlock.ts (remote unlocks and one-off tasks).
 */
import { CREDENTIAL_TYPES } from "../../../access/model.js";
import type { TimerHandle } from "../../../shared/clock.js";
import { LockBridgeError, errorMessage } from "../../../shared/errors.js";
import { retryDelay, type BackoffPolicy } from "../../../shared/backoff.js";

/** Transient lock errors: half jitter, so 300 locks back from a bus outage do not retry together. */
export const LOCK_RETRY_BACKOFF: BackoffPolicy = { firstMs: 500, maxMs: 60_000, jitter: "half" };
import { classifyLockError } from "../lock-errors.js";
import { PairingRecovery } from "../pairing-recovery.js";
import type { LockLinkPort, SlotRow } from "../ports.js";
import { WorkQueue, type WorkClass } from "../work-queue.js";
import { execSlotOp, replan, retryFailed, retryIsDue } from "./apply.js";
import { allKindsNeedVerify, type Op, type SlotOp, type WorkerContext } from "./context.js";
import { drainEventPage } from "./events.js";
import { pollStatus } from "./health.js";
import { handshake, recoverPairing, reportPairingLost, reportReplaced } from "./identity.js";
import type { LockWorkerOptions } from "./options.js";
import { execUnlock, failUnlocks, queueTask, queueUnlock } from "./unlock.js";
import { verify } from "./verify.js";

const DEFAULT_VERIFY_INTERVAL_MS = 15 * 60_000;

export class LockWorker {
  readonly lockId: string;
  private readonly o: LockWorkerOptions;
  private readonly ctx: WorkerContext;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private kicked = false;
  private pollTimer: TimerHandle | undefined;
  private verifyTimer: TimerHandle | undefined;

  constructor(options: LockWorkerOptions) {
    this.o = options;
    this.lockId = options.lockId;
    const lockId = options.lockId;
    const recovery = new PairingRecovery({
      lockId,
      link: options.link,
      log: options.log,
      now: () => options.clock.now(),
      setupKey: options.setupKey ?? (() => null),
      pairingLost: (alert) => reportPairingLost(this.ctx, alert),
      alert: (reason, detail) => options.hooks.securityAlert(lockId, reason, detail),
      replaced: (seen) => reportReplaced(this.ctx, seen),
    });
    this.ctx = {
      lockId,
      o: options,
      queue: new WorkQueue<Op>(),
      needs: { handshake: true, events: true, status: true, replan: true, verify: new Set(CREDENTIAL_TYPES) },
      recovery,
      ident: options.ident,
      stopped: true,
      replaced: options.replaced ?? false,
      pairingLost: options.pairingLost ?? false,
      failures: 0,
      verifyRounds: 0,
      eventPagesSinceProvisioning: 0,
      lastClockSetMs: undefined,
      doorOpen: false,
      heldOpenTimer: undefined,
      verifiedAt: new Map(),
      deniedCheckAt: new Map(),
      retryAt: new Map(),
      opSeq: 0,
      kick: () => this.kick(),
    };
  }

  // ------------------------------------------------------------------ lifecycle

  start(): void {
    if (!this.ctx.stopped) return;
    this.ctx.stopped = false;
    this.armPoll();
    this.armVerify();
    this.loopDone = this.loop();
  }

  /** Stops after the request in flight; pending unlocks fail with lock_offline. */
  async stop(): Promise<void> {
    this.ctx.stopped = true;
    this.pollTimer?.cancel();
    this.verifyTimer?.cancel();
    this.ctx.heldOpenTimer?.cancel();
    failUnlocks(this.ctx, new LockBridgeError("lock_offline", "the hub is stopping"), true);
    this.kick();
    await this.loopDone;
  }

  get isReplaced(): boolean {
    return this.ctx.replaced;
  }

  /** True when a kind's table was verified after the slot was last written. */
  isVerified(row: Pick<SlotRow, "kind" | "inSync" | "updatedAt">): boolean {
    const at = this.ctx.verifiedAt.get(row.kind);
    return row.inSync && at !== undefined && row.updatedAt <= at;
  }

  /**
   * After a restart: the tables' last verifications as stored, so a slot written before them
   * is verified at once and one written after them waits for the next TABLE_DIGEST.
   */
  restoreVerification(): void {
    for (const [kind, at] of this.o.store.tablesVerifiedAt(this.o.lockId)) this.ctx.verifiedAt.set(kind, at);
  }

  /**
   * True while nothing is queued or due (tests and benchmarks wait for it).
   * @internal
   */
  get idle(): boolean {
    const n = this.ctx.needs;
    return this.ctx.queue.size === 0 && !n.handshake && !n.events && !n.replan && n.verify.size === 0;
  }

  // ------------------------------------------------------------------ signals from the engine

  /** Desired state changed for this lock: re-derive the work list. */
  desiredChanged(): void {
    this.ctx.needs.replan = true;
    this.kick();
  }

  /** The session came online or went offline. */
  onlineChanged(online: boolean): void {
    this.o.hooks.health(this.lockId, online ? { online, lastSeen: this.o.clock.now() } : { online });
    if (online) {
      // Anything may have happened while it was away: identity, memory, clock, events.
      const n = this.ctx.needs;
      n.handshake = true;
      n.status = true;
      n.events = true;
      allKindsNeedVerify(this.ctx);
      this.ctx.failures = 0;
      this.kick();
    } else {
      failUnlocks(this.ctx, new LockBridgeError("lock_offline", `lock ${this.lockId} is offline`));
    }
  }

  /** EVENT_NOTIFY from the lock. */
  eventNotify(): void {
    this.ctx.needs.events = true;
    this.kick();
  }

  /** Recheck identity, pairing and tables now (after commissioning, a firmware update...). */
  recheck(): void {
    const n = this.ctx.needs;
    this.ctx.replaced = false;
    n.handshake = true;
    n.status = true;
    n.replan = true;
    allKindsNeedVerify(this.ctx);
    this.kick();
  }

  /**
   * Remote unlock, ahead of everything else queued for this lock. Rejects with lock_offline
   * when the lock is not reachable (a remote opening is never deferred), `expired` when the
   * deadline passes before the lock could be asked, lock_rejected on a NAK.
   */
  unlock(seconds: number, deadlineMs: number, signal?: AbortSignal): Promise<void> {
    return queueUnlock(this.ctx, seconds, deadlineMs, signal);
  }

  /**
   * Runs `fn` with the lock's link in this lock's loop, between other work (after unlocks,
   * revocations and grants when queued as maintenance). Rejects with fn's error.
   */
  runTask<T>(fn: (port: LockLinkPort) => Promise<T>, cls: WorkClass = "maintenance"): Promise<T> {
    return queueTask(this.ctx, fn, cls);
  }

  /** Current queue (for status and tests). */
  pendingOps(): SlotOp[] {
    return this.ctx.queue.toArray().flatMap((i) => (i.payload.type === "put" || i.payload.type === "delete" ? [i.payload] : []));
  }

  /** Retry every failed slot at the next plan (after a reconnect or a recommission). */
  retryFailed(): void {
    retryFailed(this.ctx);
  }

  // ------------------------------------------------------------------ the loop

  /**
   * Wakes the loop. A kick while the loop is not waiting (between a step's end and its wait:
   * a task queued from a promise continuation) is remembered, so it is not lost: the loop
   * would otherwise sleep until its poll timer with work queued.
   */
  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    if (w) w();
    else this.kicked = true;
  }

  private waitWake(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      this.wake = () => {
        timer?.cancel();
        resolve();
      };
      if (timeoutMs !== undefined) timer = this.o.clock.setTimeout(() => this.kick(), timeoutMs);
    });
  }

  private armPoll(): void {
    this.pollTimer?.cancel();
    if (this.ctx.stopped) return;
    this.pollTimer = this.o.clock.setTimeout(() => {
      this.ctx.needs.status = true;
      // The same poll retries failed slots whose backoff is due. Only then: a plan reads the
      // lock's whole table, thousands of rows at a common door, every poll of a snapshot.
      if (retryIsDue(this.ctx)) this.ctx.needs.replan = true;
      this.kick();
      this.armPoll();
    }, this.o.pollIntervalMs);
  }

  private armVerify(): void {
    this.verifyTimer?.cancel();
    if (this.ctx.stopped) return;
    this.verifyTimer = this.o.clock.setTimeout(() => {
      allKindsNeedVerify(this.ctx);
      // Refusals are retried now and then too (memory freed on the lock, firmware updated).
      retryFailed(this.ctx);
      this.armVerify();
    }, this.o.verifyIntervalMs ?? DEFAULT_VERIFY_INTERVAL_MS);
  }

  private async loop(): Promise<void> {
    while (!this.ctx.stopped) {
      let worked: boolean;
      try {
        worked = await this.step();
        this.ctx.failures = 0;
      } catch (e) {
        await this.onFailure(e);
        continue;
      }
      if (!worked && !this.ctx.stopped) {
        if (this.kicked) {
          this.kicked = false;
          continue;
        }
        await this.waitWake();
      }
    }
  }

  /** Does the most urgent thing; false when there is nothing to do. */
  private async step(): Promise<boolean> {
    const ctx = this.ctx;
    const top = ctx.queue.peek();
    if (top?.payload.type === "unlock") {
      ctx.queue.pop();
      await execUnlock(ctx, top.payload);
      return true;
    }
    if (ctx.needs.handshake) {
      await handshake(ctx);
      return true;
    }
    // A log that keeps filling (a keypad hammered with wrong codes: full pages on a slow bus, or
    // an EVENT_NOTIFY for every try on a lock that notifies) must not starve a guest's new code
    // or a revocation: after two pages of events with provisioning waiting, the next turn goes
    // to it (ahead of STATUS, which a slow bus would otherwise always have due). Otherwise the
    // order is as above. The lock keeps its log meanwhile.
    const provisioningTurn = ctx.eventPagesSinceProvisioning >= 2 && (ctx.needs.replan || ctx.queue.size > 0);
    if (ctx.needs.events && !provisioningTurn) {
      ctx.needs.events = false; // an EVENT_NOTIFY during the read sets it again
      let more: boolean;
      try {
        more = await drainEventPage(ctx);
      } catch (e) {
        ctx.needs.events = true;
        throw e;
      }
      if (more) ctx.needs.events = true;
      ctx.eventPagesSinceProvisioning++;
      return true;
    }
    if (ctx.needs.status && !provisioningTurn) {
      await pollStatus(ctx);
      return true;
    }
    if (ctx.needs.replan) {
      replan(ctx);
      return true;
    }
    const next = ctx.queue.pop();
    if (next) ctx.eventPagesSinceProvisioning = 0;
    if (next?.payload.type === "task") {
      await next.payload.run(this.o.link);
      return true;
    }
    if (next && next.payload.type !== "unlock") {
      await execSlotOp(ctx, next.payload);
      return true;
    }
    const kind = [...ctx.needs.verify][0];
    if (kind) {
      await verify(ctx, kind);
      return true;
    }
    return false;
  }

  private async onFailure(e: unknown): Promise<void> {
    const ctx = this.ctx;
    const f = classifyLockError(e);
    ctx.needs.replan = true; // the op in flight is re-derived from the store
    switch (f.kind) {
      case "identity":
        ctx.needs.handshake = true;
        break;
      case "not_paired":
        // Only unsealed refusals: a hint. Re-paired with PAIR_KX, or reported (pairing-recovery.ts).
        if ((await recoverPairing(ctx)) === "repaired") return;
        break;
      case "unreachable":
        ctx.needs.handshake = true;
        if (this.o.link.online === false) failUnlocks(ctx, new LockBridgeError("lock_offline", `lock ${this.lockId} is offline`));
        break;
      case "nak":
        if (f.retryAfterMs !== undefined) {
          await this.waitWake(f.retryAfterMs);
          return;
        }
        break;
      case "other":
        this.o.log.error({ lockId: this.lockId, err: errorMessage(e) }, "lock worker step failed");
        break;
    }
    ctx.failures++;
    const delay = retryDelay(ctx.failures, this.o.backoff ?? LOCK_RETRY_BACKOFF, this.o.random);
    if (f.kind !== "unreachable" || ctx.failures <= 1) {
      this.o.log.debug({ lockId: this.lockId, failure: f.kind, attempt: ctx.failures, delayMs: delay }, "lock step failed, backing off");
    }
    // An online event wakes the loop early (a kick from before the failure does not cut the backoff).
    this.kicked = false;
    await this.waitWake(delay);
  }
}
