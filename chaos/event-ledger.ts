/**
 * The chaos cloud's record of the hub's events (mqtt-api.md §5), by seq. The contract lets an
 * event arrive more than once (QoS 1; the cloud drops duplicates by hubId+seq), so a second
 * arrival is sorted by why it came again:
 *
 * - `duplicatesOnResendRequest`: asked for, by an `events.resend` from a seq at or below it;
 * - `duplicatesAfterReconnect`: not asked for, but after a new hub session (seen on the
 *   retained state topic) or a reconnect of the cloud client since the first copy — QoS 1
 *   redelivery of an event whose PUBACK was lost to a SIGKILL or a broker outage;
 * - `duplicates`: the same seq again within one hub session and one cloud connection, unasked
 *   (a violation).
 *
 * Also a violation: a seq that arrives again carrying another event (`seqReused`: the hub
 * reused a seq, e.g. after losing its store), and a seq that never arrives (checked at the
 * end, after a resend). Events are counted by type, so `lock.events_lost` and
 * `hub.events_dropped` (loss the hub reported) are told apart from delivered events.
 */
import { createHash } from "node:crypto";

export interface EventCounts {
  /** Distinct seqs received. */
  received: number;
  duplicates: number;
  duplicatesAfterReconnect: number;
  duplicatesOnResendRequest: number;
  /** Second arrivals whose event differs from the first (a violation). */
  seqReused: number;
  /** A seq that arrived for the first time after a higher one. */
  outOfOrderFirstArrivals: number;
  /** First arrivals by event type. */
  byType: Record<string, number>;
}

export class EventLedger {
  readonly counts: EventCounts = {
    received: 0,
    duplicates: 0,
    duplicatesAfterReconnect: 0,
    duplicatesOnResendRequest: 0,
    seqReused: 0,
    outOfOrderFirstArrivals: 0,
    byType: {},
  };
  /** Every lock.security_alert (first arrivals): lockId and reason. */
  readonly securityAlerts: { lockId: string; reason: string }[] = [];
  /** Every lock.replaced (first arrivals): the old lockId -> the lockId that answered instead. */
  readonly replacedLocks = new Map<string, string>();
  /** The first few reused seqs, for the report. */
  readonly reusedSeqs: number[] = [];
  /** The first few unasked duplicates: what is needed to tell why they came (the report names them). */
  readonly duplicateSamples: string[] = [];
  /** seq -> digest of the event's text as first received, and the epoch it came in. */
  private readonly first = new Map<number, { digest: string; epoch: number; at: number; session: unknown }>();
  /** Bumped on every new hub session and every reconnect of the cloud client. */
  private epoch = 0;
  private hubSessionId: unknown;
  /** The lowest fromSeq of an events.resend the cloud sent (Infinity: none). */
  private resendFrom = Infinity;
  private maxSeq = 0;

  /** The cloud client's connection closed: whatever comes next comes over another connection. */
  connectionClosed(): void {
    this.epoch++;
  }

  /** The hub's retained state: a new sessionId is a new hub session. */
  hubState(sessionId: unknown): void {
    if (sessionId !== this.hubSessionId) this.epoch++;
    this.hubSessionId = sessionId;
  }

  /** Called before an events.resend goes out: what comes again from `fromSeq` on was asked for. */
  resendRequested(fromSeq: number): void {
    this.resendFrom = Math.min(this.resendFrom, fromSeq);
  }

  /** An event as published on `{base}/evt` (its exact text). */
  record(text: string): void {
    let event: { seq?: unknown; type?: unknown; lockId?: unknown; reason?: unknown; newLockId?: unknown };
    try {
      event = JSON.parse(text) as typeof event;
    } catch {
      return;
    }
    if (event === null || typeof event !== "object") return;
    const seq = event.seq;
    if (typeof seq !== "number" || !Number.isInteger(seq) || seq < 1) return;
    const digest = createHash("sha256").update(text).digest("base64").slice(0, 16);
    const c = this.counts;
    const seen = this.first.get(seq);
    if (seen) {
      if (seen.digest !== digest) {
        c.seqReused++;
        if (this.reusedSeqs.length < 10) this.reusedSeqs.push(seq);
      } else if (seq >= this.resendFrom) c.duplicatesOnResendRequest++;
      else if (seen.epoch !== this.epoch) c.duplicatesAfterReconnect++;
      else {
        c.duplicates++;
        if (this.duplicateSamples.length < 10) {
          const t = (ms: number) => new Date(ms).toISOString().slice(11, 23);
          this.duplicateSamples.push(`seq ${seq} (${String(event.type)}): first at ${t(seen.at)} in hub session ${String(seen.session)}, again at ${t(Date.now())} in session ${String(this.hubSessionId)}, epoch ${this.epoch}`);
        }
      }
      return;
    }
    this.first.set(seq, { digest, epoch: this.epoch, at: Date.now(), session: this.hubSessionId });
    c.received++;
    const type = typeof event.type === "string" ? event.type : "?";
    c.byType[type] = (c.byType[type] ?? 0) + 1;
    if (type === "lock.security_alert") this.securityAlerts.push({ lockId: String(event.lockId), reason: String(event.reason) });
    if (type === "lock.replaced") this.replacedLocks.set(String(event.lockId), String(event.newLockId));
    if (seq < this.maxSeq) c.outOfOrderFirstArrivals++;
    this.maxSeq = Math.max(this.maxSeq, seq);
  }

  has(seq: number): boolean {
    return this.first.has(seq);
  }

  /** Seqs from 1 to the highest seen that never arrived. */
  missingSeqs(): number[] {
    const missing: number[] = [];
    for (let s = 1; s <= this.maxSeq; s++) if (!this.first.has(s)) missing.push(s);
    return missing;
  }
}
