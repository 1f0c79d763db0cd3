/**
 * One transport shared by many locks: an RS-485 bus behind a serial port, or a TCP serial
 * server. Half duplex: one request on the wire at a time per bus. Locks with work are
 * served round robin, one attempt each, so a dead lock costs the bus only its own timeouts
 * while the others keep progressing. Responses are routed by ADDR; the lock's session
 * matches the SEQ. Anything nobody claims is dropped and counted.
 */
import type { Logger } from "pino";
import { FrameDecoder, type Frame } from "../protocol/llp/index.js";
import { systemClock, type Clock, type TimerHandle } from "../shared/clock.js";
import { LockBridgeError } from "../shared/errors.js";
import type { Transport, TransportStatus } from "../transport/types.js";

export interface Attempt {
  bytes: Buffer;
  /** How long to wait for the answer once the bytes are on their way. */
  timeoutMs: number;
}

/** What a bus needs from a lock's session. */
export interface BusMember {
  readonly addr: number;
  /** When this member next has an attempt to send (<= now: ready); undefined: nothing to send. */
  dueAt(): number | undefined;
  takeAttempt(now: number): Attempt | undefined;
  /**
   * A frame carrying this member's ADDR arrived. "answered": it answered the member's
   * outstanding request; "consumed": taken otherwise (EVENT_NOTIFY); "ignored": not ours.
   */
  onFrame(frame: Frame): "answered" | "consumed" | "ignored";
  /** The attempt handed out last got no answer in time, or could not be written. */
  onAttemptFailed(reason: "timeout" | "write", err?: unknown): void;
}

export interface BusStats {
  attempts: number;
  timeouts: number;
  writeFailures: number;
  /** Valid frames nobody claimed: wrong ADDR, stale SEQ, bad tag, replays, our own echo. */
  unexpectedFrames: number;
}

interface Flight {
  member: BusMember;
  timer: TimerHandle | undefined;
}

export interface LinkBusOptions {
  clock?: Clock | undefined;
  logger: Logger;
}

export class LinkBus {
  readonly decoder = new FrameDecoder();
  readonly stats: BusStats = { attempts: 0, timeouts: 0, writeFailures: 0, unexpectedFrames: 0 };
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly members: BusMember[] = [];
  private readonly byAddr = new Map<number, BusMember>();
  private rr = 0;
  private flight: Flight | undefined;
  private wake: { at: number; timer: TimerHandle } | undefined;
  private pumping = false;
  private pumpAgain = false;
  private closed = false;

  constructor(
    readonly transport: Transport,
    opts: LinkBusOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger;
    transport.on("data", this.onData);
    transport.on("state", this.onState);
  }

  attach(member: BusMember): void {
    if (this.byAddr.has(member.addr)) {
      throw new LockBridgeError("config_invalid", `two locks at ADDR ${member.addr} on ${this.transport.target}`);
    }
    this.byAddr.set(member.addr, member);
    this.members.push(member);
    this.kick();
  }

  detach(member: BusMember): void {
    if (this.byAddr.get(member.addr) !== member) return;
    this.byAddr.delete(member.addr);
    const i = this.members.indexOf(member);
    this.members.splice(i, 1);
    if (this.rr > i) this.rr--;
    if (this.flight?.member === member) {
      this.flight.timer?.cancel();
      this.flight = undefined;
      this.decoder.reset();
    }
    this.kick();
  }

  get size(): number {
    return this.members.length;
  }

  /** A member has new work, or time has come: send the next attempt if the wire is free. */
  kick(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.pumpOnce();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  close(): void {
    this.closed = true;
    this.flight?.timer?.cancel();
    this.flight = undefined;
    this.wake?.timer.cancel();
    this.wake = undefined;
    this.transport.off("data", this.onData);
    this.transport.off("state", this.onState);
  }

  private pumpOnce(): void {
    if (this.flight || this.closed) return;
    // The link's first open is under way: wait for it (bounded by the transport's connect
    // timeout) rather than spend an attempt on a write that must fail. Later outages do
    // cost attempts, so that requests fail and locks go offline while a port is gone.
    if (this.transport.status().state === "opening") return;
    const now = this.clock.now();
    const n = this.members.length;
    let earliest: number | undefined;
    for (let i = 0; i < n; i++) {
      const idx = (this.rr + i) % n;
      const member = this.members[idx]!;
      const due = member.dueAt();
      if (due === undefined) continue;
      if (due > now) {
        earliest = earliest === undefined ? due : Math.min(earliest, due);
        continue;
      }
      const attempt = member.takeAttempt(now);
      if (!attempt) continue;
      this.rr = (idx + 1) % n;
      this.send(member, attempt);
      return;
    }
    if (earliest !== undefined) this.wakeAt(earliest);
  }

  private wakeAt(at: number): void {
    if (this.wake && this.wake.at <= at) return;
    this.wake?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.wake = undefined;
      this.kick();
    }, Math.max(0, at - this.clock.now()));
    this.wake = { at, timer };
  }

  private send(member: BusMember, attempt: Attempt): void {
    const flight: Flight = { member, timer: undefined };
    this.flight = flight;
    this.stats.attempts++;
    // The timeout runs from when the bytes are handed to the link: a BLE connect or a busy
    // OS buffer is not the lock's latency.
    this.transport.write(attempt.bytes).then(
      () => {
        if (this.flight !== flight) return;
        flight.timer = this.clock.setTimeout(() => this.onTimeout(flight), attempt.timeoutMs);
      },
      (err: unknown) => {
        if (this.flight !== flight) return;
        this.flight = undefined;
        this.stats.writeFailures++;
        member.onAttemptFailed("write", err);
        this.kick();
      },
    );
  }

  private onTimeout(flight: Flight): void {
    if (this.flight !== flight) return;
    this.flight = undefined;
    this.stats.timeouts++;
    // A stray SOF with a plausible LEN would otherwise hold the next response hostage.
    this.decoder.reset();
    flight.member.onAttemptFailed("timeout");
    this.kick();
  }

  private readonly onData = (chunk: Buffer): void => {
    for (const frame of this.decoder.push(chunk)) this.route(frame);
  };

  private readonly onState = (status: TransportStatus): void => {
    if (status.state === "open") this.kick();
    else this.decoder.reset();
  };

  private route(frame: Frame): void {
    const member = frame.fromLock ? this.byAddr.get(frame.addr) : undefined;
    const outcome = member ? member.onFrame(frame) : "ignored";
    if (outcome === "ignored") {
      this.stats.unexpectedFrames++;
      this.log.debug({ target: this.transport.target, addr: frame.addr, seq: frame.seq, cmd: frame.cmd }, "unexpected frame dropped");
      return;
    }
    const flight = this.flight;
    if (outcome === "answered" && flight && flight.member === member) {
      flight.timer?.cancel();
      this.flight = undefined;
      this.kick();
    }
  }
}
