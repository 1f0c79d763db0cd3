/**
 * One lock's request/response session (lock-link-protocol.md §2, §4): SEQ handling,
 * identical-bytes retries, timeouts and retry counts from the device profile, online and
 * offline tracking, one request in flight, sealing with persisted counters and replay
 * rejection. The wire is shared through a LinkBus; this class never touches a transport.
 *
 * Over 400 lines: one state machine (queue, attempt, answer, seal/open, pending-key recovery)
 * whose steps share the op's state; split it only with a step-by-step test harness (issue 11).
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import {
  Cmd, decodeAckBody, decodeEventNotify, decodeNakBody, encodeRequest, NakCode, openFrame,
  type AckBodies, type Frame, type IdentInfo, type LlpCommandName, type LlpRequest,
} from "../protocol/llp/index.js";
import { systemClock, type Clock } from "../shared/clock.js";
import { errorMessage, isLockBridgeError, LockBridgeError } from "../shared/errors.js";
import type { Attempt, BusMember, LinkBus } from "./bus.js";
import { LockNakError, lockTimeout } from "./errors.js";
import { DEFAULT_COUNTER_BLOCK, HubCounter } from "./hub-counter.js";
import type { LinkKeys, LinkStateStore } from "./link-state.js";

export interface SessionTiming {
  responseTimeoutMs: number;
  /** Retries after the first attempt. */
  retries: number;
  offlineAfterTimeouts: number;
  /** Serial line speed, when the link has one: each attempt's timeout adds the wire time of request and response. */
  wireBaud?: number | undefined;
}

export interface LockSessionOptions {
  /** 16 hex digits, as in IDENT and the store record. */
  lockId: string;
  /** Bus ADDR (BLE: always 1). */
  addr: number;
  bus: LinkBus;
  timing: SessionTiming;
  linkState: LinkStateStore;
  logger: Logger;
  clock?: Clock | undefined;
  /** Hub counters reserved per durable write. */
  counterBlockSize?: number | undefined;
  /** The profile says the lock requires sealing: refuse to send sealable commands without a key. */
  sealingRequired?: boolean | undefined;
}

export interface LockSessionEvents {
  online: [];
  offline: [];
  /** EVENT_NOTIFY (TCP/BLE): the lock has events up to eventHead. */
  eventNotify: [eventHead: number];
  /** Every IDENT answer, including the SEQ 0 handshake's. */
  ident: [info: IdentInfo];
  /**
   * Something on the link spoke where the lock must seal (LLP v1.1 §9.4): an unsealed frame
   * answering a sealed request, or a lock counter not above the last accepted. Hints for the
   * alert counters above; the session has already dropped the frame.
   */
  suspicious: [kind: "unsealed" | "replay"];
}

export interface SessionStats {
  requests: number;
  attempts: number;
  retries: number;
  timeouts: number;
  naks: number;
  /** Answers that arrived after their attempt timed out but before the request gave up. */
  lateAnswers: number;
  badTags: number;
  replays: number;
  /** Copies of an accepted answer that the lock sent again for a retry, come after the hub moved on. */
  retryCopies: number;
  unsealedRejected: number;
  malformed: number;
}

type OpState = "queued" | "preparing" | "ready" | "inFlight" | "done";

interface Op {
  req: LlpRequest;
  /** The SEQ 0 handshake the session sends on its own. */
  internal: boolean;
  state: OpState;
  seq: number;
  bytes: Buffer;
  timeoutMs: number;
  /** The key this attempt is sealed with (null: unsealed). */
  key: Buffer | null;
  /** Lock counters must exceed this to be accepted for this op. */
  counterFloor: number;
  attempts: number;
  notBefore: number;
  triedPending: boolean;
  /** Unsealed NAK NOT_AUTHENTICATED answers to this sealed request: hints, never proof (LLP §9.1). */
  unsealedRefusals: number;
  /** Sent unsealed whatever keys the hub holds (an IDENT asked as a hint). */
  forceUnsealed: boolean;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/**
 * Never sealed: PAIR and PAIR_KX carry their own proof (or none, for PAIR). IDENT goes unsealed
 * only while the hub holds no key for the lock (LLP v1.1 §9.1: once paired, IDENT is sealed).
 */
const UNSEALED: ReadonlySet<LlpCommandName> = new Set<LlpCommandName>(["PAIR", "PAIR_KX"]);

export interface RequestOptions {
  /**
   * Send it unsealed even though a key is held: an IDENT asked as a hint (who answers at this
   * link?) after the lock stopped answering sealed. What comes back proves nothing.
   */
  unsealed?: boolean;
}

export class LockSession extends EventEmitter<LockSessionEvents> implements BusMember {
  readonly lockId: string;
  readonly addr: number;
  readonly stats: SessionStats = {
    requests: 0, attempts: 0, retries: 0, timeouts: 0, naks: 0, lateAnswers: 0,
    badTags: 0, replays: 0, retryCopies: 0, unsealedRejected: 0, malformed: 0,
  };
  private readonly lockIdBytes: Buffer;
  private readonly bus: LinkBus;
  private readonly timing: SessionTiming;
  private readonly store: LinkStateStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly hubCounter: HubCounter;
  private readonly sealingRequired: boolean;
  private readonly ops: Op[] = [];
  private seq = 0;
  /** The next request must carry SEQ 0: after start and after the lock was marked offline. */
  private needSync = true;
  private consecutiveTimeouts = 0;
  private onlineState: boolean | undefined;
  private lastAnswerAt: number | undefined;
  private keys: LinkKeys = { active: null, pending: null };
  private lastLockCounter = 0;
  /**
   * Lock counters of accepted answers to requests sent more than once, with how many more
   * copies the lock may still send: it answers every attempt it hears, a retry with its cached
   * answer (LLP §2), and on a slow line a copy can come after the hub has moved on and, after a
   * SEQ 0 resync or a wrap, reused that SEQ (the chaos run's lobby). Such a copy is the lock's
   * own frame, not a replay: dropped like one, without the alert. Bounded (the latest 16).
   */
  private readonly copiesDue = new Map<number, number>();
  private loaded: Promise<void> | undefined;
  private closed = false;

  constructor(opts: LockSessionOptions) {
    super();
    if (!/^[0-9a-fA-F]{16}$/.test(opts.lockId)) throw new LockBridgeError("config_invalid", `lockId must be 16 hex digits, got "${opts.lockId}"`);
    this.lockId = opts.lockId.toLowerCase();
    this.lockIdBytes = Buffer.from(this.lockId, "hex");
    this.addr = opts.addr;
    this.bus = opts.bus;
    this.timing = opts.timing;
    this.store = opts.linkState;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger;
    this.sealingRequired = opts.sealingRequired ?? false;
    this.hubCounter = new HubCounter(opts.linkState, this.lockId, opts.counterBlockSize ?? DEFAULT_COUNTER_BLOCK);
    this.bus.attach(this);
  }

  /** undefined until the lock first answers or is first marked offline. */
  get online(): boolean | undefined {
    return this.onlineState;
  }

  get lastSeen(): number | undefined {
    return this.lastAnswerAt;
  }

  /** Whether requests are sealed (a link key is held). */
  get paired(): boolean {
    return this.keys.active !== null;
  }

  /** Requests queued or in flight. */
  get backlog(): number {
    return this.ops.length;
  }

  /** Send one request; resolves with the decoded ACK body, rejects with LockNakError, lock_timeout, ... */
  request<R extends LlpRequest>(req: R, options: RequestOptions = {}): Promise<AckBodies[R["cmd"]]> {
    if (this.closed) return Promise.reject(new LockBridgeError("transport_closed", `session for lock ${this.lockId} is closed`));
    if (options.unsealed && req.cmd !== "IDENT") return Promise.reject(new LockBridgeError("invalid_payload", `only IDENT may be asked unsealed as a hint, not ${req.cmd}`));
    this.stats.requests++;
    return new Promise((resolve, reject) => {
      const op = this.newOp(req, false, resolve as (v: unknown) => void, reject);
      op.forceUnsealed = options.unsealed === true;
      this.ops.push(op);
      if (this.ops.length === 1) void this.prepareHead();
    });
  }

  /** After a confirmed PAIR: seal with the new key from now on; the lock's counters start afresh. */
  adoptLinkKey(key: Buffer): void {
    this.keys = { active: Buffer.from(key), pending: null };
    this.lastLockCounter = 0;
    this.copiesDue.clear();
    this.hubCounter.discardBlock();
  }

  /** A key stored as pending before PAIR: if the PAIR's answer is lost, later requests find out whether the lock took it. */
  notePendingLinkKey(key: Buffer): void {
    this.keys = { ...this.keys, pending: Buffer.from(key) };
  }

  /** Re-read keys and counters from the store before the next request (e.g. after a pending key was stored). */
  async reloadLinkState(): Promise<void> {
    this.loaded = this.load();
    await this.loaded;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bus.detach(this);
    const err = new LockBridgeError("transport_closed", `session for lock ${this.lockId} closed`);
    for (const op of this.ops.splice(0)) {
      op.state = "done";
      op.reject(err);
    }
  }

  // ---- BusMember ----

  dueAt(): number | undefined {
    const op = this.ops[0];
    return op && op.state === "ready" ? op.notBefore : undefined;
  }

  takeAttempt(now: number): Attempt | undefined {
    const op = this.ops[0];
    if (!op || op.state !== "ready" || op.notBefore > now) return undefined;
    op.state = "inFlight";
    op.attempts++;
    this.stats.attempts++;
    if (op.attempts > 1) this.stats.retries++;
    return { bytes: op.bytes, timeoutMs: op.timeoutMs };
  }

  onAttemptFailed(reason: "timeout" | "write", err?: unknown): void {
    const op = this.ops[0];
    if (!op || op.state !== "inFlight") return;
    if (reason === "write" && isLockBridgeError(err, "ble_unavailable")) {
      // No radio: retrying cannot help and the lock is not to blame; say so at once.
      this.finish(op, err);
      return;
    }
    this.stats.timeouts++;
    this.consecutiveTimeouts++;
    if (reason === "write") this.log.debug({ lockId: this.lockId, err: errorMessage(err) }, "write failed");
    if (this.consecutiveTimeouts >= this.timing.offlineAfterTimeouts && this.onlineState !== false) this.markOffline();
    // An offline lock gets one attempt per request: a dead lock costs the bus one timeout, not a retry series.
    const maxAttempts = this.onlineState === false ? 1 : this.timing.retries + 1;
    if (op.attempts >= maxAttempts) {
      if (op.unsealedRefusals > 0) {
        // Only unsealed refusals came back: the lock may have lost its key, or something else
        // answers for it. The engine decides what that hint is worth (never a PAIR on its own).
        this.finish(op, new LockBridgeError("lock_not_paired", `lock ${this.lockId} answered ${op.req.cmd} only with unsealed NOT_AUTHENTICATED (a hint, not proof: a factory reset, or an impostor on the link)`, undefined, { lockId: this.lockId, unsealedHint: true }));
        return;
      }
      this.finish(op, lockTimeout(this.lockId, op.req.cmd, op.attempts, this.onlineState === false));
      return;
    }
    op.state = "ready";
    // A write failure means the link is down: give it the time of one response before retrying.
    op.notBefore = this.clock.now() + (reason === "write" ? this.timing.responseTimeoutMs : 0);
  }

  onFrame(frame: Frame): "answered" | "consumed" | "ignored" {
    if (this.closed) return "ignored";
    if (frame.cmd === Cmd.EVENT_NOTIFY) return this.onEventNotify(frame);
    if (frame.cmd !== Cmd.ACK && frame.cmd !== Cmd.NAK) return "ignored";
    const op = this.ops[0];
    if (!op || op.attempts === 0 || (op.state !== "inFlight" && op.state !== "ready") || frame.seq !== op.seq) return "ignored";

    let body: Uint8Array = frame.body;
    let lockCounter: number | undefined;
    if (frame.sec) {
      if (!op.key) {
        this.stats.badTags++;
        return "ignored";
      }
      const opened = openFrame(frame, { linkKey: op.key, lockId: this.lockIdBytes });
      if (!opened) {
        this.stats.badTags++;
        this.log.warn({ lockId: this.lockId }, "sealed response failed authentication; dropped");
        return "ignored";
      }
      // An answer only has to be newer than what was accepted before this request first went
      // out: a retry's may be the lock's cached one (LLP §3: identical bytes get the cached
      // response), and on a slow line the lock's EVENT_NOTIFY, sealed after the answer, may
      // arrive first (the chaos run's lobby). Either way an EVENT_NOTIFY accepted meanwhile has
      // a higher counter; an old answer replayed is at or below the floor and is refused.
      if (opened.counter <= op.counterFloor) {
        if (this.takeCopyDue(opened.counter)) {
          this.stats.retryCopies++;
          this.log.debug({ lockId: this.lockId, counter: opened.counter }, "late copy of an answer to a retried request; dropped");
          return "ignored";
        }
        this.stats.replays++;
        this.emit("suspicious", "replay");
        this.log.warn({ lockId: this.lockId, counter: opened.counter }, "replayed lock counter; dropped");
        return "ignored";
      }
      body = opened.plain;
      lockCounter = opened.counter;
    } else if (op.key) {
      // A sealed request gets a sealed answer. An unsealed one proves nothing (LLP §9.1):
      // anything on the link can forge it, so it never completes the request. An unsealed
      // NAK NOT_AUTHENTICATED is a hint: ask again sealed, with the pending key if a PAIR
      // was interrupted; the genuine lock's sealed answer, if one comes, still wins.
      this.stats.unsealedRejected++;
      // NAK NOT_AUTHENTICATED is the one answer a lock sends unsealed (§4): a lock that lost its
      // key sends it too, and the pairing path judges it. Anything else unsealed is suspicious.
      const refusal = frame.cmd === Cmd.NAK && body[0] === NakCode.NOT_AUTHENTICATED;
      if (!refusal) this.emit("suspicious", "unsealed");
      if (refusal) {
        op.unsealedRefusals++;
        if (this.keys.pending && op.key !== this.keys.pending && !op.triedPending) {
          this.log.info({ lockId: this.lockId }, "lock refused the active key (unsealed hint); trying the pending link key");
          this.markAnswered(op);
          op.triedPending = true;
          op.state = "queued";
          op.attempts = 0;
          void this.prepareHead(true);
          return "answered";
        }
      }
      return "ignored";
    }

    if (op.state === "ready") this.stats.lateAnswers++;
    if (lockCounter !== undefined && op.attempts > 1) this.expectCopies(lockCounter, op.attempts - 1);
    this.markAnswered(op);
    if (lockCounter !== undefined && op.key === this.keys.active && lockCounter > this.lastLockCounter) this.lastLockCounter = lockCounter;

    if (frame.cmd === Cmd.ACK) {
      let ack: unknown;
      try {
        ack = decodeAckBody(op.req.cmd, body);
      } catch (e) {
        this.stats.malformed++;
        this.finish(op, e instanceof Error ? e : new Error(String(e)));
        return "answered";
      }
      if (op.req.cmd === "IDENT") this.emit("ident", ack as IdentInfo);
      this.complete(op, ack, lockCounter);
      return "answered";
    }

    let nak;
    try {
      nak = decodeNakBody(body);
    } catch (e) {
      this.stats.malformed++;
      this.finish(op, e instanceof Error ? e : new Error(String(e)));
      return "answered";
    }
    this.stats.naks++;
    if (nak.code === NakCode.NOT_AUTHENTICATED && !op.key && !UNSEALED.has(op.req.cmd)) {
      this.finish(op, new LockBridgeError("lock_not_paired", `lock ${this.lockId} requires sealing and the hub holds no link key`, undefined, { lockId: this.lockId }));
      return "answered";
    }
    this.finish(op, new LockNakError(this.lockId, op.req.cmd, nak));
    return "answered";
  }

  // ---- internals ----

  private newOp(req: LlpRequest, internal: boolean, resolve: (v: unknown) => void, reject: (e: Error) => void): Op {
    return {
      req, internal, state: "queued", seq: 0, bytes: Buffer.alloc(0), timeoutMs: 0, key: null, counterFloor: 0,
      attempts: 0, notBefore: 0, triedPending: false, unsealedRefusals: 0, forceUnsealed: false, resolve, reject,
    };
  }

  private load(): Promise<void> {
    return (async () => {
      this.keys = await this.store.linkKeys(this.lockId);
      this.lastLockCounter = await this.store.lastLockCounter(this.lockId);
    })();
  }

  private async prepareHead(usePending = false): Promise<void> {
    let op = this.ops[0];
    if (!op || op.state !== "queued") return;
    op.state = "preparing";
    try {
      this.loaded ??= this.load();
      await this.loaded;
      if (this.needSync && op.req.cmd !== "IDENT" && !usePending) {
        // SEQ 0 makes the lock forget its cached answer, so a retried SEQ 0 request would run
        // twice: spend SEQ 0 on an IDENT, which is harmless to repeat and checks who answers.
        op.state = "queued";
        const sync = this.newOp({ cmd: "IDENT" }, true, (info) => this.log.debug({ lockId: this.lockId, model: (info as IdentInfo).model }, "handshake"), () => undefined);
        // Ahead of an unsealed request (pairing a lock that lost its key), the handshake goes unsealed too.
        sync.forceUnsealed = UNSEALED.has(op.req.cmd);
        this.ops.unshift(sync);
        op = sync;
        op.state = "preparing";
      }
      // After SEQ 0 the count starts again at 1.
      const seq = this.needSync ? (this.seq = 0) : (this.seq = (this.seq % 15) + 1);
      // IDENT is sealed once a key is held (LLP v1.1 §9.1), unless asked as a hint.
      const sealable = !UNSEALED.has(op.req.cmd) && !op.forceUnsealed && (op.req.cmd !== "IDENT" || this.keys.active !== null || (usePending && this.keys.pending !== null));
      let key: Buffer | null = null;
      if (sealable) {
        key = usePending ? this.keys.pending : (this.keys.active ?? this.keys.pending);
        if (!key && this.sealingRequired) {
          throw new LockBridgeError("lock_not_paired", `lock ${this.lockId} requires sealing and the hub holds no link key`, undefined, { lockId: this.lockId });
        }
      }
      const counter = key ? await this.hubCounter.take() : undefined;
      op.bytes = encodeRequest(this.addr, seq, op.req, key && counter !== undefined ? { linkKey: key, lockId: this.lockIdBytes, counter } : undefined);
      op.seq = seq;
      op.key = key;
      op.counterFloor = key && key === this.keys.active ? this.lastLockCounter : 0;
      op.timeoutMs = this.attemptTimeout(op);
      op.notBefore = this.clock.now();
      op.state = "ready";
    } catch (e) {
      this.finish(op, e instanceof Error ? e : new Error(String(e)));
      return;
    }
    this.bus.kick();
  }

  private attemptTimeout(op: Op): number {
    const baud = this.timing.wireBaud;
    if (!baud) return this.timing.responseTimeoutMs;
    const wireBytes = op.bytes.length + expectedAnswerBytes(op.req) + (op.key ? 12 : 0);
    return this.timing.responseTimeoutMs + Math.ceil((wireBytes * 10_000) / baud);
  }

  private expectCopies(lockCounter: number, copies: number): void {
    this.copiesDue.set(lockCounter, copies);
    if (this.copiesDue.size > 16) this.copiesDue.delete(this.copiesDue.keys().next().value!);
  }

  private takeCopyDue(lockCounter: number): boolean {
    const left = this.copiesDue.get(lockCounter);
    if (!left) return false;
    if (left > 1) this.copiesDue.set(lockCounter, left - 1);
    else this.copiesDue.delete(lockCounter);
    return true;
  }

  private markAnswered(op: Op): void {
    this.consecutiveTimeouts = 0;
    this.lastAnswerAt = this.clock.now();
    if (op.seq === 0) this.needSync = false;
    if (this.onlineState !== true) {
      this.onlineState = true;
      // Debug: a lock has several sessions in its life (commissioning, worker); the engine logs
      // "lock online" once per change of the lock's state.
      this.log.debug({ lockId: this.lockId }, "session online");
      this.emit("online");
    }
  }

  private markOffline(): void {
    this.onlineState = false;
    this.needSync = true;
    this.log.debug({ lockId: this.lockId, timeouts: this.consecutiveTimeouts }, "session offline");
    this.emit("offline");
  }

  /** An ACK: persist what must be persisted, then hand the result over. */
  private complete(op: Op, ack: unknown, lockCounter: number | undefined): void {
    const usedPending = op.key !== null && op.key === this.keys.pending && op.key !== this.keys.active;
    this.advance(op);
    if (lockCounter === undefined && !usedPending) {
      op.resolve(ack);
      return;
    }
    void (async () => {
      if (usedPending && op.key) {
        await this.store.confirmPendingLinkKey(this.lockId);
        this.adoptLinkKey(op.key);
        this.log.info({ lockId: this.lockId }, "pending link key confirmed by the lock");
      }
      if (lockCounter !== undefined) {
        if (lockCounter > this.lastLockCounter) this.lastLockCounter = lockCounter;
        await this.store.saveLastLockCounter(this.lockId, this.lastLockCounter);
      }
    })().then(
      () => op.resolve(ack),
      (e: unknown) => op.reject(e instanceof Error ? e : new Error(String(e))),
    );
  }

  private finish(op: Op, err: Error): void {
    // The handshake failed: the request that needed it fails with it, so a dead lock costs
    // one timeout per request rather than two (and never loops on handshakes).
    const dependent = op.internal && this.ops[1]?.state === "queued" ? this.ops[1] : undefined;
    if (dependent) {
      dependent.state = "done";
      this.ops.splice(1, 1);
    }
    this.advance(op);
    op.reject(err);
    dependent?.reject(err);
  }

  private advance(op: Op): void {
    op.state = "done";
    const i = this.ops.indexOf(op);
    if (i >= 0) this.ops.splice(i, 1);
    if (this.ops.length > 0 && this.ops[0]!.state === "queued") void this.prepareHead();
  }

  private onEventNotify(frame: Frame): "consumed" | "ignored" {
    let body: Uint8Array = frame.body;
    if (frame.sec) {
      const key = this.keys.active;
      const opened = key ? openFrame(frame, { linkKey: key, lockId: this.lockIdBytes }) : null;
      if (!opened) {
        this.stats.badTags++;
        return "ignored";
      }
      if (opened.counter <= this.lastLockCounter) {
        this.stats.replays++;
        this.emit("suspicious", "replay");
        return "ignored";
      }
      this.lastLockCounter = opened.counter;
      void Promise.resolve(this.store.saveLastLockCounter(this.lockId, opened.counter)).catch((e: unknown) =>
        this.log.error({ lockId: this.lockId, err: errorMessage(e) }, "could not persist the lock counter"),
      );
      body = opened.plain;
    } else if (this.keys.active) {
      // A paired lock seals its notifications: this one is still worth a read (a hint), and suspicious.
      this.emit("suspicious", "unsealed");
    }
    try {
      const { eventHead } = decodeEventNotify(body);
      this.emit("eventNotify", eventHead);
      return "consumed";
    } catch {
      this.stats.malformed++;
      return "ignored";
    }
  }
}

/** Rough size of the answer, so that a slow serial line's wire time is part of the timeout. */
function expectedAnswerBytes(req: LlpRequest): number {
  switch (req.cmd) {
    case "IDENT":
      return 8 + 100;
    case "READ_SLOTS":
      return 8 + 1 + req.count * 15;
    case "READ_EVENTS":
      return 8 + 1 + req.max * 13;
    default:
      return 8 + 16;
  }
}
