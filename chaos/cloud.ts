/**
 * The chaos run's cloud: signs every command (the hub has a command key), resends a command
 * with the same id until it is answered (the contract's retry), and keeps every event by seq.
 * What it counts feeds the invariants: commands sent/acknowledged (PUBACK)/answered/applied,
 * events received (first time and duplicates), seqs first seen out of order.
 *
 * Duplicates are classified (the contract allows QoS 1 redelivery; the cloud dedupes by
 * hubId+seq): after a reconnect (the hub's state shows a new sessionId, or this client
 * reconnected, since the first copy), on request (an events.resend this cloud sent covers
 * the seq), or violating (same hub session, same cloud connection, no resend asked).
 */
import { randomUUID, type KeyObject } from "node:crypto";
import { CloudClient, type ReceivedMessage } from "../src/cloud/ctl-client.js";
import { signCommand } from "../src/cloud/signing.js";
import type { CommandResponse } from "../src/cloud/responses.js";

export interface CloudCounts {
  sent: number;
  acknowledged: number;
  answered: number;
  applied: number;
  refused: Record<string, number>;
  eventsReceived: number;
  /** Violating duplicates only (see the class comment). */
  eventDuplicates: number;
  eventDuplicatesAfterReconnect: number;
  eventDuplicatesOnResendRequest: number;
  eventsOutOfOrder: number;
}

export class ChaosCloud {
  readonly counts: CloudCounts = { sent: 0, acknowledged: 0, answered: 0, applied: 0, refused: {},
    eventsReceived: 0,
    eventDuplicates: 0,
    eventDuplicatesAfterReconnect: 0,
    eventDuplicatesOnResendRequest: 0,
    eventsOutOfOrder: 0,
  };
  /** seq -> event. */
  readonly events = new Map<number, Record<string, unknown>>();
  /** seq -> the connection epoch of its first arrival. */
  private readonly firstEpoch = new Map<number, number>();
  /** Bumped on every new hub session (state topic) and every reconnect of this client. */
  private epoch = 0;
  private hubSessionId: unknown;
  /** The lowest fromSeq of an events.resend this cloud sent (Infinity: none). */
  private resendFrom = Infinity;
  /** Commands acknowledged by the broker and not answered yet: id -> payload. */
  readonly unanswered = new Map<string, string>();
  private maxSeq = 0;

  private constructor(
    private readonly client: CloudClient,
    private readonly key: KeyObject,
  ) {
    client.onMessage((m) => this.onMessage(m));
    client.client.on("connect", () => this.epoch++);
  }

  static async connect(url: string, hubId: string, key: KeyObject): Promise<ChaosCloud> {
    const client = await CloudClient.connect({ url, hubId, persistent: true, clientId: `chaos-cloud-${hubId}`, connectTimeoutMs: 5_000 });
    const cloud = new ChaosCloud(client, key);
    await client.watch([client.topics.evt, client.topics.state]);
    return cloud;
  }

  /** Sends, resending the same bytes every `retryMs` until answered or `giveUpMs` passes. */
  async send(command: Record<string, unknown>, opts: { retryMs?: number; giveUpMs?: number } = {}): Promise<CommandResponse | undefined> {
    if (command.cmd === "events.resend" && typeof command.fromSeq === "number") this.resendFrom = Math.min(this.resendFrom, command.fromSeq);
    const id = randomUUID();
    const payload = JSON.stringify(signCommand({ id, ts: new Date().toISOString(), ...command }, this.key));
    this.counts.sent++;
    const deadline = Date.now() + (opts.giveUpMs ?? 120_000);
    let acked = false;
    while (Date.now() < deadline) {
      try {
        const r = await this.client.sendRaw(payload, id, { timeoutMs: opts.retryMs ?? 10_000 });
        if (!acked) this.counts.acknowledged++;
        this.counts.answered++;
        this.unanswered.delete(id);
        if (r?.ok) this.counts.applied++;
        else if (r) this.counts.refused[r.error.code] = (this.counts.refused[r.error.code] ?? 0) + 1;
        return r;
      } catch {
        // Published (PUBACK) but no answer yet, or the broker is away: keep it and retry.
        if (!acked && this.client.client.connected) {
          acked = true;
          this.counts.acknowledged++;
          this.unanswered.set(id, payload);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    if (acked) this.unanswered.set(id, payload);
    return undefined;
  }

  private onMessage(m: ReceivedMessage): void {
    if (m.payload === null || typeof m.payload !== "object") return;
    if (m.topic === this.client.topics.state) {
      const sessionId = (m.payload as { sessionId?: unknown }).sessionId;
      if (sessionId !== this.hubSessionId) this.epoch++;
      this.hubSessionId = sessionId;
      return;
    }
    if (m.topic !== this.client.topics.evt) return;
    const e = m.payload as Record<string, unknown>;
    const seq = typeof e.seq === "number" ? e.seq : NaN;
    if (!Number.isInteger(seq)) return;
    if (this.events.has(seq)) {
      if (seq >= this.resendFrom) this.counts.eventDuplicatesOnResendRequest++;
      else if (this.firstEpoch.get(seq) !== this.epoch) this.counts.eventDuplicatesAfterReconnect++;
      else this.counts.eventDuplicates++;
      return;
    }
    this.counts.eventsReceived++;
    this.firstEpoch.set(seq, this.epoch);
    if (seq < this.maxSeq) this.counts.eventsOutOfOrder++;
    this.maxSeq = Math.max(this.maxSeq, seq);
    this.events.set(seq, e);
  }

  /** Seqs from 1 to the highest seen that never arrived. */
  missingSeqs(): number[] {
    const missing: number[] = [];
    for (let s = 1; s <= this.maxSeq; s++) if (!this.events.has(s)) missing.push(s);
    return missing;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
