/**
 * One lock's reconciliation loop (issue 6, "Reconciliation"): make the lock hold exactly the
 * desired table, prove it with TABLE_DIGEST, and keep it so.
 *
 * Level-triggered: the work list is always re-derived from the store (desired vs applied
 * per slot), so a crash, a lost ACK or a lock that changed behind the hub's back all end in
 * the same place. One request at a time per lock; between requests the loop takes the most
 * urgent thing first:
 *   remote unlock > identity check > event drain > STATUS/clock > revocations >
 *   grants by arrival > verification (TABLE_DIGEST, READ_SLOTS on mismatch).
 *
 * Lock offline: work stays queued and the door statuses say lock_offline; the loop probes the
 * lock with backoff and resumes by itself. A lock that stops answering sealed while an unsealed
 * IDENT shows another lockId is reported replaced (a hint: the loop keeps probing sealed, and a
 * sealed answer puts it back in service) until an installer commissions the new lock. A lock that seems to have lost its link
 * key is re-paired only with PAIR_KX, whose confirm proves the setup key, or else reported
 * (pairing_lost): pairing-recovery.ts (LLP v1.1 §9.2).
 *
 * Over 400 lines: known debt. Issue 11 splits it into reconcile/worker/{loop,apply,verify,
 * events,health,unlock}.ts with a step-by-step test; until then changes here stay small.
 */
import type { CredentialType } from "../access/model.js";
import { CREDENTIAL_TYPES, LLP_KIND } from "../access/model.js";
import type { IdentInfo, SlotInfo, StatusInfo } from "../protocol/llp/commands.js";
import { Capability, EventType, StatusFlag } from "../protocol/llp/constants.js";
import type { Clock, TimerHandle } from "../shared/clock.js";
import { LockBridgeError, errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF } from "./backoff.js";
import { assessClock, type ClockPolicy, DEFAULT_CLOCK_POLICY } from "./clock-policy.js";
import { classifyLockError } from "./lock-errors.js";
import { PairingRecovery } from "./pairing-recovery.js";
import type { SecurityAlertReason } from "./security-alerts.js";
import { eventsLost, mapLockEvent, sequenceBatch, type HubEvent } from "./lock-events.js";
import type { LockLinkPort, LockTableStore, SlotRow } from "./ports.js";
import { isTransientNak, nakReason } from "./reasons.js";
import { expectedDigest, readRanges } from "./table-diff.js";
import { WorkQueue, type WorkClass } from "./work-queue.js";

export type SlotOp = { type: "put" | "delete"; kind: CredentialType; slot: number };
type UnlockOp = { type: "unlock"; seconds: number; deadlineMs: number; settle: (err?: Error) => void; signal?: AbortSignal | undefined };
/** A one-off exchange run in the loop (a firmware chunk...): its errors go to its caller. */
type TaskOp = { type: "task"; run: (port: LockLinkPort) => Promise<void>; fail: (err: Error) => void };
type Op = SlotOp | UnlockOp | TaskOp;

export interface LockHealthFacts {
  online: boolean;
  lastSeen: number;
  battery: number;
  doorOpen: boolean;
  /** Lock minus hub, seconds, as last measured; null when the lock's clock was lost. */
  clockDriftS: number | null;
}

/** What the worker tells the engine. */
export interface LockWorkerHooks {
  /** Slots changed on the lock or were verified: the keys of these credentials need a status. */
  slotsChanged(lockId: string, credentialIds: readonly number[]): void;
  /** A slot was written that changes no key's status yet (the lock's slot use did change). */
  tableChanged?(lockId: string): void;
  health(lockId: string, facts: Partial<LockHealthFacts>): void;
  /** IDENT answered with this lock's id (store it: firmware version, slot counts). */
  ident(lockId: string, ident: IdentInfo): void;
  /** The lock stopped answering sealed and an unsealed IDENT shows another lockId (a hint). */
  replaced(lockId: string, seen: IdentInfo): void;
  /**
   * The lock seems to have lost its link key and was not re-paired (LLP §9.2): state
   * pairing_lost; `alert` also raises the pairing_lost alert (a plain lock, or no setup key).
   */
  pairingLost(lockId: string, alert: boolean): void;
  /** A sealed answer under the hub's key came back after pairingLost or replaced: the lock still has the key. */
  pairingConfirmed(lockId: string): void;
  /** Something on the link that LLP v1.1 §9.4 says to report. */
  securityAlert(lockId: string, reason: SecurityAlertReason, detail: string): void;
  /** Events ready for the outbox that are not lock log events (lock.clock_drift, door.held_open...). */
  emit(events: HubEvent[]): void;
  /** The lock logged events; after they are committed (e.g. FIRMWARE_APPLIED for a job). */
  lockEvents?(lockId: string, events: HubEvent[]): void;
}

export interface LockWorkerOptions {
  lockId: string;
  link: LockLinkPort;
  store: LockTableStore;
  clock: Clock;
  log: Logger;
  hooks: LockWorkerHooks;
  /** The lock's last IDENT (slot counts, capabilities); refreshed by the worker's own IDENT. */
  ident: IdentInfo | null;
  /** The door the lock is on (events carry it). */
  doorId: () => string | undefined;
  /** STATUS poll period: the profile's poll interval on serial, a safety net on TCP/BLE. */
  pollIntervalMs: number;
  /** Routine TABLE_DIGEST check of every table (a lock changed behind the hub's back). Default 15 min. */
  verifyIntervalMs?: number;
  doorHeldOpenSeconds: () => number;
  random?: () => number;
  backoff?: BackoffPolicy;
  clockPolicy?: ClockPolicy;
  /** The store says pairing_lost (reported before a restart): a sealed answer still clears it. */
  pairingLost?: boolean;
  /** The store says replaced (a hint reported before a restart): a sealed answer still clears it. */
  replaced?: boolean;
  /** The setup key from lock.commission (PAIR_KX locks), for re-pairing a lock that lost its key. */
  setupKey?: () => Uint8Array | null;
}

/** Verification that failed this many times in a row without progress backs off. */
const MAX_VERIFY_ROUNDS = 3;
const DEFAULT_VERIFY_INTERVAL_MS = 15 * 60_000;
/** Events read per READ_EVENTS (the protocol's maximum). */
const EVENT_BATCH = 32;

export class LockWorker {
  readonly lockId: string;
  private readonly o: LockWorkerOptions;
  private readonly queue = new WorkQueue<Op>();
  private ident: IdentInfo | null;
  private stopped = true;
  private unlockSeq = 0;
  private replaced = false;
  /** Reported as pairing_lost and not yet confirmed by a sealed answer. */
  private pairingLost = false;
  private readonly recovery: PairingRecovery;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private pollTimer: TimerHandle | undefined;
  private verifyTimer: TimerHandle | undefined;
  private heldOpenTimer: TimerHandle | undefined;
  private failures = 0;
  private verifyRounds = 0;
  private lastClockSetMs: number | undefined;
  private doorOpen = false;
  /** When each kind's table last matched its expected digest (ms); slots applied after it are unverified. */
  private readonly verifiedAt = new Map<CredentialType, number>();
  private readonly needs = {
    handshake: true,
    events: true,
    status: true,
    replan: true,
    verify: new Set<CredentialType>(CREDENTIAL_TYPES),
  };

  constructor(options: LockWorkerOptions) {
    this.o = options;
    this.lockId = options.lockId;
    this.ident = options.ident;
    this.pairingLost = options.pairingLost ?? false;
    this.replaced = options.replaced ?? false;
    this.recovery = new PairingRecovery({
      lockId: this.lockId,
      link: options.link,
      log: options.log,
      now: () => options.clock.now(),
      setupKey: options.setupKey ?? (() => null),
      pairingLost: (alert) => this.reportPairingLost(alert),
      alert: (reason, detail) => options.hooks.securityAlert(this.lockId, reason, detail),
      replaced: (seen) => this.reportReplaced(seen),
    });
  }

  // ------------------------------------------------------------------ lifecycle

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.armPoll();
    this.armVerify();
    this.loopDone = this.loop();
  }

  /** Stops after the request in flight; pending unlocks fail with lock_offline. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pollTimer?.cancel();
    this.verifyTimer?.cancel();
    this.heldOpenTimer?.cancel();
    this.failUnlocks(new LockBridgeError("lock_offline", "the hub is stopping"), true);
    this.kick();
    await this.loopDone;
  }

  get isReplaced(): boolean {
    return this.replaced;
  }

  /** True when a kind's table was verified after the slot was last written. */
  isVerified(row: Pick<SlotRow, "kind" | "inSync" | "updatedAt">): boolean {
    const at = this.verifiedAt.get(row.kind);
    return row.inSync && at !== undefined && row.updatedAt <= at;
  }

  /** Trust the store's in-sync slots until the next verification (hub restart). */
  trustStoredState(): void {
    const now = this.o.clock.now();
    for (const k of CREDENTIAL_TYPES) this.verifiedAt.set(k, now);
  }

  /** True while nothing is queued or due (tests and benchmarks wait for it). */
  get idle(): boolean {
    return (
      this.queue.size === 0 &&
      !this.needs.handshake &&
      !this.needs.events &&
      !this.needs.replan &&
      this.needs.verify.size === 0
    );
  }

  // ------------------------------------------------------------------ signals from the engine

  /** Desired state changed for this lock: re-derive the work list. */
  desiredChanged(): void {
    this.needs.replan = true;
    this.kick();
  }

  /** The session came online or went offline. */
  onlineChanged(online: boolean): void {
    this.o.hooks.health(this.lockId, online ? { online, lastSeen: this.o.clock.now() } : { online });
    if (online) {
      // Anything may have happened while it was away: identity, memory, clock, events.
      this.needs.handshake = true;
      this.needs.status = true;
      this.needs.events = true;
      for (const k of CREDENTIAL_TYPES) this.needs.verify.add(k);
      this.failures = 0;
      this.kick();
    } else {
      this.failUnlocks(new LockBridgeError("lock_offline", `lock ${this.lockId} is offline`));
    }
  }

  /** EVENT_NOTIFY from the lock. */
  eventNotify(): void {
    this.needs.events = true;
    this.kick();
  }

  /** Recheck identity, pairing and tables now (after commissioning, a firmware update...). */
  recheck(): void {
    this.replaced = false;
    this.needs.handshake = true;
    this.needs.status = true;
    this.needs.replan = true;
    for (const k of CREDENTIAL_TYPES) this.needs.verify.add(k);
    this.kick();
  }

  /**
   * Remote unlock, ahead of everything else queued for this lock. Rejects with lock_offline
   * when the lock is not reachable (a remote opening is never deferred), `expired` when the
   * deadline passes before the lock could be asked, lock_rejected on a NAK.
   */
  unlock(seconds: number, deadlineMs: number, signal?: AbortSignal): Promise<void> {
    if (this.replaced || this.stopped) return Promise.reject(new LockBridgeError("lock_offline", `lock ${this.lockId} is not in service`));
    if (this.o.link.online === false) return Promise.reject(new LockBridgeError("lock_offline", `lock ${this.lockId} is offline`));
    return new Promise((resolve, reject) => {
      const settle = (err?: Error): void => (err ? reject(err) : resolve());
      const id = `unlock:${++this.unlockSeq}`;
      // Cancelled while still queued (its command timed out): taken off the queue, never sent.
      signal?.addEventListener("abort", () => {
        if (this.queue.remove(id)) settle(unlockCancelled(this.lockId));
      }, { once: true });
      this.queue.push({ id, class: "unlock", order: this.o.clock.now(), payload: { type: "unlock", seconds, deadlineMs, settle, signal } });
      this.kick();
    });
  }

  /**
   * Runs `fn` with the lock's link in this lock's loop, between other work (after unlocks,
   * revocations and grants when queued as maintenance). Rejects with fn's error.
   */
  runTask<T>(fn: (port: LockLinkPort) => Promise<T>, cls: WorkClass = "maintenance"): Promise<T> {
    if (this.replaced || this.stopped) return Promise.reject(new LockBridgeError("lock_offline", `lock ${this.lockId} is not in service`));
    return new Promise<T>((resolve, reject) => {
      const run = async (port: LockLinkPort): Promise<void> => {
        try {
          resolve(await fn(port));
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      };
      this.queue.push({ id: `task:${++this.unlockSeq}`, class: cls, order: this.o.clock.now(), payload: { type: "task", run, fail: reject } });
      this.kick();
    });
  }

  /** Current queue (for status and tests). */
  pendingOps(): SlotOp[] {
    return this.queue.toArray().flatMap((i) => (i.payload.type === "put" || i.payload.type === "delete" ? [i.payload] : []));
  }

  // ------------------------------------------------------------------ the loop

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
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
    if (this.stopped) return;
    this.pollTimer = this.o.clock.setTimeout(() => {
      this.needs.status = true;
      // The same poll retries failed slots whose backoff is due.
      this.needs.replan = true;
      this.kick();
      this.armPoll();
    }, this.o.pollIntervalMs);
  }

  private armVerify(): void {
    this.verifyTimer?.cancel();
    if (this.stopped) return;
    this.verifyTimer = this.o.clock.setTimeout(() => {
      for (const k of CREDENTIAL_TYPES) this.needs.verify.add(k);
      // Refusals are retried now and then too (memory freed on the lock, firmware updated).
      this.retryFailed();
      this.armVerify();
    }, this.o.verifyIntervalMs ?? DEFAULT_VERIFY_INTERVAL_MS);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let worked: boolean;
      try {
        worked = await this.step();
        this.failures = 0;
      } catch (e) {
        await this.onFailure(e);
        continue;
      }
      if (!worked && !this.stopped) await this.waitWake();
    }
  }

  /** Does the most urgent thing; false when there is nothing to do. */
  private async step(): Promise<boolean> {
    const top = this.queue.peek();
    if (top?.payload.type === "unlock") {
      this.queue.pop();
      await this.execUnlock(top.payload);
      return true;
    }
    if (this.needs.handshake) {
      await this.handshake();
      return true;
    }
    if (this.needs.events) {
      await this.drainEvents();
      return true;
    }
    if (this.needs.status) {
      await this.pollStatus();
      return true;
    }
    if (this.needs.replan) {
      this.replan();
      return true;
    }
    const next = this.queue.pop();
    if (next?.payload.type === "task") {
      await next.payload.run(this.o.link);
      return true;
    }
    if (next && next.payload.type !== "unlock") {
      await this.execSlotOp(next.payload);
      return true;
    }
    const kind = [...this.needs.verify][0];
    if (kind) {
      await this.verify(kind);
      return true;
    }
    return false;
  }

  private async onFailure(e: unknown): Promise<void> {
    const f = classifyLockError(e);
    this.needs.replan = true; // the op in flight is re-derived from the store
    switch (f.kind) {
      case "identity":
        this.needs.handshake = true;
        break;
      case "not_paired":
        // Only unsealed refusals: a hint. Re-paired with PAIR_KX, or reported (pairing-recovery.ts).
        if ((await this.recoverPairing()) === "repaired") return;
        break;
      case "unreachable":
        this.needs.handshake = true;
        if (this.o.link.online === false) this.failUnlocks(new LockBridgeError("lock_offline", `lock ${this.lockId} is offline`));
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
    this.failures++;
    const delay = backoffDelay(this.failures, this.o.backoff ?? DEFAULT_BACKOFF, this.o.random);
    if (f.kind !== "unreachable" || this.failures <= 1) {
      this.o.log.debug({ lockId: this.lockId, failure: f.kind, attempt: this.failures, delayMs: delay }, "lock step failed, backing off");
    }
    // An online event wakes the loop early.
    await this.waitWake(delay);
  }

  // ------------------------------------------------------------------ identity, pairing, status

  private async handshake(): Promise<void> {
    // Sealed once paired (LLP v1.1 §9.1): only the lock holding the hub's key can answer it.
    const ident = await this.o.link.ident();
    if (ident.lockId.toLowerCase() !== this.lockId.toLowerCase()) {
      // Cannot come from an honest lock (its lockId is in the seal's nonce): report, change nothing.
      this.o.log.error({ lockId: this.lockId, seen: ident.lockId }, "sealed IDENT shows another lockId: identity mismatch reported");
      this.o.hooks.securityAlert(this.lockId, "identity_mismatch", `sealed IDENT shows lockId ${ident.lockId.toLowerCase()}`);
      throw new LockBridgeError("lock_identity_mismatch", `sealed IDENT of lock ${this.lockId} shows lockId ${ident.lockId.toLowerCase()}`);
    }
    this.confirmPairing();
    this.ident = ident;
    this.o.hooks.ident(this.lockId, ident);
    this.o.hooks.health(this.lockId, { online: true, lastSeen: this.o.clock.now() });
    this.needs.handshake = false;
    // After a reconnect (or a firmware update) earlier refusals may not hold any more.
    this.retryFailed();
  }

  /**
   * The lock refuses our sealing, or something answers for it with unsealed refusals. The hub
   * never re-PAIRs on its own (LLP v1.1 §9.2): PAIR would hand a fresh key in clear to
   * whatever answers, and an impostor can make any lock look factory-reset. It reports the
   * lock once and keeps asking sealed (with backoff); a sealed answer proves the lock still
   * holds the key and clears the report, an installer's commissioning re-pairs it.
   */
  private reportPairingLost(alert: boolean): void {
    this.needs.status = true;
    if (this.pairingLost) return;
    this.pairingLost = true;
    this.o.log.warn({ lockId: this.lockId }, "lock seems to have lost its link key (only unsealed refusals) and was not re-paired: commission it again with the lock in pairing mode");
    this.o.hooks.pairingLost(this.lockId, alert);
  }

  private async recoverPairing(): Promise<"repaired" | "other"> {
    let outcome;
    try {
      outcome = await this.recovery.onNotPaired();
    } catch (e) {
      // The next round tries again after the backoff; the loop must never die of it.
      this.o.log.debug({ lockId: this.lockId, err: errorMessage(e) }, "pairing recovery step failed");
      return "other";
    }
    if (outcome !== "repaired") return "other";
    // A lock that lost its key lost its tables too (or holds anything): verify every slot.
    this.o.store.resetApplied(this.lockId, "unknown");
    this.confirmPairing();
    this.failures = 0;
    this.needs.handshake = true;
    this.needs.status = true;
    this.needs.events = true;
    this.needs.replan = true;
    for (const k of CREDENTIAL_TYPES) this.needs.verify.add(k);
    return "repaired";
  }

  /** A hint only: the loop keeps probing sealed; unlocks fail until a sealed answer or an installer. */
  private reportReplaced(seen: IdentInfo): void {
    this.failUnlocks(new LockBridgeError("lock_offline", `lock ${this.lockId} was replaced`), true);
    if (this.replaced) return;
    this.replaced = true;
    this.o.hooks.replaced(this.lockId, seen);
  }

  /** A sealed STATUS answered under the hub's key: whatever the unsealed refusals said, the lock has it. */
  private confirmPairing(): void {
    this.recovery.reset();
    if (!this.pairingLost && !this.replaced) return;
    this.pairingLost = false;
    this.replaced = false;
    this.o.log.info({ lockId: this.lockId }, "lock answered sealed under its link key again: pairing confirmed");
    this.o.hooks.pairingConfirmed(this.lockId);
  }

  private async pollStatus(): Promise<void> {
    const status = await this.o.link.status();
    this.needs.status = false;
    this.confirmPairing();
    const now = this.o.clock.now();
    const doorOpen = (status.flags & StatusFlag.DOOR_OPEN) !== 0;
    this.setDoorOpen(doorOpen);
    const action = assessClock(status, now, this.lastClockSetMs, this.o.clockPolicy ?? DEFAULT_CLOCK_POLICY);
    const lost = action.set && action.why === "clock_lost";
    this.o.hooks.health(this.lockId, { online: true, lastSeen: now, battery: status.battery, doorOpen, clockDriftS: lost ? null : action.driftS });
    if (action.set) {
      await this.o.link.setTime(Math.floor(this.o.clock.now() / 1000));
      this.lastClockSetMs = this.o.clock.now();
      if (action.why === "drift") {
        this.o.hooks.emit([{ type: "lock.clock_drift", at: iso(now), lockId: this.lockId, ...this.doorField(), driftS: action.driftS }]);
        this.o.log.info({ lockId: this.lockId, driftS: action.driftS }, "lock clock drifted: corrected");
      }
      // Reported drift is what was measured; after the set the lock is on time.
      if (lost) this.o.hooks.health(this.lockId, { clockDriftS: 0 });
    }
    this.checkEventHead(status);
  }

  private checkEventHead(status: StatusInfo): void {
    const last = this.o.store.lastEventSeq(this.lockId);
    if (status.eventHead < last) {
      // The lock's log restarted (factory reset or a new lock body): read it from the start.
      this.o.log.warn({ lockId: this.lockId, eventHead: status.eventHead, acknowledged: last }, "lock event log restarted");
      this.o.store.resetEventSeq(this.lockId);
      this.needs.events = true;
    } else if (status.eventHead > last) {
      this.needs.events = true;
    }
  }

  // ------------------------------------------------------------------ events

  private async drainEvents(): Promise<void> {
    for (;;) {
      const from = this.o.store.lastEventSeq(this.lockId) + 1;
      const batch = await this.o.link.readEvents(from, EVENT_BATCH);
      if (batch.length === 0) break;
      const readAtMs = this.o.clock.now();
      const doorId = this.o.doorId();
      const ctx = { lockId: this.lockId, doorId, readAtMs, ownerOf: (kind: number, slot: number) => this.ownerOf(kind, slot) };
      const { ordered, gaps, nextSeq } = sequenceBatch(from, batch);
      if (ordered.length === 0) break;
      const events: HubEvent[] = gaps.map((g) => eventsLost(g, ctx));
      for (const e of ordered) {
        const mapped = mapLockEvent(e, ctx);
        if (mapped) events.push(mapped);
      }
      // Durable in the outbox first; only then may the lock forget them.
      this.o.store.commitLockEvents(this.lockId, events, nextSeq - 1);
      await this.o.link.ackEvents(nextSeq - 1);
      this.afterEvents(ordered.map((e) => e.type));
      this.o.hooks.lockEvents?.(this.lockId, events);
      if (batch.length < EVENT_BATCH) break;
    }
    this.needs.events = false;
  }

  private afterEvents(types: number[]): void {
    for (const t of types) {
      if (t === EventType.DOOR_OPENED) this.setDoorOpen(true);
      else if (t === EventType.DOOR_CLOSED) this.setDoorOpen(false);
      else if (t === EventType.CLOCK_LOST) {
        this.lastClockSetMs = undefined;
        this.needs.status = true;
      } else if (t === EventType.FIRMWARE_APPLIED) this.needs.handshake = true;
    }
  }

  private ownerOf(kind: number, slot: number): ReturnType<LockTableStore["ownerOf"]> {
    const type = CREDENTIAL_TYPES.find((c) => LLP_KIND[c] === kind);
    if (!type) return undefined;
    const row = this.o.store.slot(this.lockId, type, slot);
    const id = row?.applied?.credentialId ?? (row?.inSync ? row.desired?.credentialId : undefined);
    return id === undefined || id === null ? undefined : this.o.store.ownerOf(id);
  }

  /** door.held_open: a timer from the Clock, started when the door is seen open. */
  private setDoorOpen(open: boolean): void {
    if (open === this.doorOpen) return;
    this.doorOpen = open;
    this.o.hooks.health(this.lockId, { doorOpen: open });
    this.heldOpenTimer?.cancel();
    this.heldOpenTimer = undefined;
    if (!open) return;
    const seconds = this.o.doorHeldOpenSeconds();
    const openedAt = this.o.clock.now();
    this.heldOpenTimer = this.o.clock.setTimeout(() => {
      this.heldOpenTimer = undefined;
      if (!this.doorOpen || this.stopped) return;
      this.o.hooks.emit([
        { type: "door.held_open", at: iso(this.o.clock.now()), lockId: this.lockId, ...this.doorField(), openSince: iso(openedAt), seconds },
      ]);
    }, seconds * 1000);
  }

  // ------------------------------------------------------------------ planning and applying

  /** Rebuild the queue from the store: every slot whose desired and applied differ. */
  private replan(): void {
    this.needs.replan = false;
    this.queue.retain((i) => i.payload.type === "unlock" || i.payload.type === "task");
    const now = this.o.clock.now();
    const unknownKinds = new Set<CredentialType>();
    for (const row of this.o.store.slots(this.lockId)) {
      if (row.inSync) continue;
      if (!this.supports(row.kind)) continue;
      // A failed slot waits for its retry time (or for the desired state to change).
      if (row.lastError !== null && !this.retryDue(row, now)) continue;
      if (row.appliedState === "unknown") unknownKinds.add(row.kind);
      const op: SlotOp = { type: row.desired ? "put" : "delete", kind: row.kind, slot: row.slot };
      if (!row.desired && row.appliedState === "unknown") continue; // resolved by reading the table
      const cls: WorkClass = row.desired ? "grant" : "revoke";
      const order = row.desired ? row.desired.validFrom * 1000 : row.updatedAt;
      this.queue.push({ id: `${row.kind}:${row.slot}`, class: cls, order, payload: op });
    }
    // Unknown content: read the table before writing blindly.
    for (const k of unknownKinds) this.needs.verify.add(k);
  }

  private retryDue(row: SlotRow, now: number): boolean {
    const retry = this.retryAt.get(`${row.kind}:${row.slot}`);
    return retry !== undefined && retry <= now;
  }

  private readonly retryAt = new Map<string, number>();

  private async execSlotOp(op: SlotOp): Promise<void> {
    const row = this.o.store.slot(this.lockId, op.kind, op.slot);
    if (!row || row.inSync) return;
    const kind = LLP_KIND[op.kind];
    const key = `${op.kind}:${op.slot}`;
    try {
      if (row.desired) {
        const secret = this.o.store.secretOf(row.desired.credentialId);
        if (!secret) {
          // The credential vanished between plan and apply: the next plan settles it.
          this.needs.replan = true;
          return;
        }
        await this.o.link.putCredential({
          kind,
          slot: op.slot,
          validFrom: row.desired.validFrom,
          validUntil: row.desired.validUntil,
          flags: row.desired.flags,
          secret,
        });
        this.o.store.markApplied(this.lockId, op.kind, op.slot, row.desired);
      } else {
        await this.o.link.deleteCredential(kind, op.slot);
        this.o.store.markApplied(this.lockId, op.kind, op.slot, null);
        this.retryMemoryFull(op.kind);
      }
      this.retryAt.delete(key);
      this.needs.verify.add(op.kind);
      this.verifyRounds = 0;
      // A put changes no key's status until the table is verified (pending -> active); a
      // delete may end a revocation (revoking -> revoked) at once.
      if (row.desired && row.lastError === null) this.o.hooks.tableChanged?.(this.lockId);
      else this.notifySlots(this.lockId, this.credentialIds([row]));
    } catch (e) {
      const f = classifyLockError(e);
      if (f.kind !== "nak" || isTransientNak(f.nak)) throw e;
      if (f.nak === "DUPLICATE_CREDENTIAL" && f.conflictingSlot !== undefined && row.desired) {
        // The same secret sits in another slot: if we do not want it there, clear it first.
        const other = this.o.store.slot(this.lockId, op.kind, f.conflictingSlot);
        if (!other?.desired || other.desired.credentialId === row.desired.credentialId) {
          await this.o.link.deleteCredential(kind, f.conflictingSlot);
          this.o.store.markApplied(this.lockId, op.kind, f.conflictingSlot, null);
          this.queue.push({ id: key, class: "grant", order: row.desired.validFrom * 1000, payload: op });
          return;
        }
      }
      const reason = nakReason(f.nak);
      this.retryAt.delete(key);
      this.o.log.warn({ lockId: this.lockId, kind: op.kind, slot: op.slot, nak: f.nak, reason }, "lock refused a credential");
      this.o.store.markFailed(this.lockId, op.kind, op.slot, reason, null);
      this.notifySlots(this.lockId, this.credentialIds([row]));
    }
  }

  /** A slot was freed: credentials that failed for lack of memory may fit now. */
  private retryMemoryFull(kind: CredentialType): void {
    const now = this.o.clock.now();
    for (const row of this.o.store.slots(this.lockId, kind)) {
      if (row.lastError === "lock_memory_full") this.retryAt.set(`${row.kind}:${row.slot}`, now);
    }
    this.needs.replan = true;
  }

  /** Retry every failed slot at the next plan (after a reconnect or a recommission). */
  retryFailed(): void {
    const now = this.o.clock.now();
    for (const row of this.o.store.slots(this.lockId)) if (row.lastError !== null) this.retryAt.set(`${row.kind}:${row.slot}`, now);
    this.needs.replan = true;
    this.kick();
  }

  // ------------------------------------------------------------------ verification and drift repair

  private async verify(kind: CredentialType): Promise<void> {
    if (!this.supports(kind)) {
      this.needs.verify.delete(kind);
      return;
    }
    // Verify only once the kind's work is done: a digest mid-way proves nothing.
    if (this.queue.toArray().some((i) => (i.payload.type === "put" || i.payload.type === "delete") && i.payload.kind === kind)) {
      this.needs.verify.delete(kind);
      return;
    }
    const rows = this.o.store.slots(this.lockId, kind);
    const desired = rows.flatMap((r) => (r.desired ? [{ ...r.desired, slot: r.slot }] : []));
    const expected = expectedDigest(desired);
    const got = await this.o.link.tableDigest(LLP_KIND[kind]);
    if (got.used === expected.used && Buffer.from(got.digest).equals(expected.digest)) {
      // Exactly the desired table: every slot is what we want, whatever we believed.
      for (const r of rows) {
        if (r.inSync) continue;
        if (r.lastError !== null && r.desired) continue; // refused by the lock: cannot be there
        this.o.store.markApplied(this.lockId, kind, r.slot, r.desired);
      }
      this.needs.verify.delete(kind);
      this.verifiedAt.set(kind, this.o.clock.now());
      this.verifyRounds = 0;
      this.notifySlots(this.lockId, this.credentialIds(rows));
      return;
    }
    if (this.verifyRounds >= MAX_VERIFY_ROUNDS) {
      this.verifyRounds = 0;
      throw new LockBridgeError("lock_rejected", `lock ${this.lockId} ${kind} table does not converge`);
    }
    this.verifyRounds++;
    this.o.log.info({ lockId: this.lockId, kind, used: got.used, expectedUsed: expected.used }, "table digest differs: reading slots");
    await this.readTable(kind, got.used, rows);
    this.needs.verify.delete(kind);
    this.needs.replan = true;
    // Read again after the repairs.
    this.needs.verify.add(kind);
  }

  /** READ_SLOTS over the table until every used slot is seen; records what the lock holds. */
  private async readTable(kind: CredentialType, used: number, rows: SlotRow[]): Promise<void> {
    const capacity = this.capacity(kind);
    if (used === 0) {
      this.o.store.recordObserved(this.lockId, kind, 0, capacity, []);
      return;
    }
    const maxKnown = rows.reduce((m, r) => Math.max(m, r.slot), -1);
    let seen = 0;
    for (const range of readRanges(capacity)) {
      const observed: SlotInfo[] = await this.o.link.readSlots(LLP_KIND[kind], range.first, range.count);
      this.o.store.recordObserved(this.lockId, kind, range.first, range.count, observed);
      seen += observed.length;
      const end = range.first + range.count;
      if (seen >= used && end > maxKnown) {
        // Every used slot was seen: the rest of the table is empty.
        if (end < capacity) this.o.store.recordObserved(this.lockId, kind, end, capacity - end, []);
        break;
      }
    }
    this.notifySlots(this.lockId, this.credentialIds(rows));
  }

  // ------------------------------------------------------------------ unlock

  private async execUnlock(op: UnlockOp): Promise<void> {
    if (op.signal?.aborted) return op.settle(unlockCancelled(this.lockId));
    if (this.o.clock.now() > op.deadlineMs) {
      op.settle(new LockBridgeError("expired", "the remote unlock expired before the lock could be asked"));
      return;
    }
    try {
      await this.o.link.unlock(op.seconds);
      op.settle();
    } catch (e) {
      const f = classifyLockError(e);
      if (f.kind === "nak") op.settle(new LockBridgeError("lock_rejected", `lock ${this.lockId} refused the unlock (${f.nak ?? "unknown"})`));
      else if (f.kind === "unreachable") op.settle(new LockBridgeError("lock_offline", `lock ${this.lockId} did not answer`));
      else op.settle(new LockBridgeError("lock_rejected", `lock ${this.lockId} unlock failed: ${errorMessage(e)}`));
      if (f.kind !== "nak") throw e;
    }
  }

  private failUnlocks(err: LockBridgeError, tasksToo = false): void {
    for (const item of this.queue.toArray()) {
      if (item.payload.type === "unlock") {
        this.queue.remove(item.id);
        item.payload.settle(err);
      } else if (tasksToo && item.payload.type === "task") {
        this.queue.remove(item.id);
        item.payload.fail(err);
      }
    }
  }

  // ------------------------------------------------------------------ helpers

  /** Tells the engine (statuses) once what it will read is recorded. */
  private notifySlots(lockId: string, credentialIds: readonly number[]): void {
    this.o.store.flush();
    this.o.hooks.slotsChanged(lockId, credentialIds);
  }

  private supports(kind: CredentialType): boolean {
    const ident = this.ident;
    if (!ident) return true;
    const cap = kind === "doorCode" ? Capability.DOOR_CODES : kind === "keycard" ? Capability.KEYCARDS : Capability.MOBILE_KEYS;
    return (ident.capabilities & cap) !== 0 && this.capacity(kind) > 0;
  }

  private capacity(kind: CredentialType): number {
    const i = this.ident;
    if (!i) return 0;
    return kind === "doorCode" ? i.codeSlots : kind === "keycard" ? i.cardSlots : i.mobileKeySlots;
  }

  private credentialIds(rows: readonly SlotRow[]): number[] {
    const ids = new Set<number>();
    for (const r of rows) {
      if (r.desired) ids.add(r.desired.credentialId);
      if (r.applied?.credentialId != null) ids.add(r.applied.credentialId);
    }
    return [...ids];
  }

  private doorField(): { doorId?: string } {
    const d = this.o.doorId();
    return d === undefined ? {} : { doorId: d };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A queued unlock whose command ran out of time: the door was not opened. */
function unlockCancelled(lockId: string): LockBridgeError {
  return new LockBridgeError("lock_offline", `lock ${lockId} could not be asked before the command's time ran out: the door was not opened`);
}
