/**
 * The chaos run's cloud: signs every command (the hub has a command key), resends a command
 * with the same id until it is answered (the contract's retry), and keeps every event by seq.
 * What it counts feeds the invariants: commands sent/acknowledged (PUBACK)/answered/applied,
 * events received (first time and duplicates), seqs first seen out of order.
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
  eventDuplicates: number;
  eventsOutOfOrder: number;
}

export class ChaosCloud {
  readonly counts: CloudCounts = { sent: 0, acknowledged: 0, answered: 0, applied: 0, refused: {}, eventsReceived: 0, eventDuplicates: 0, eventsOutOfOrder: 0 };
  /** seq -> event. */
  readonly events = new Map<number, Record<string, unknown>>();
  /** Commands acknowledged by the broker and not answered yet: id -> payload. */
  readonly unanswered = new Map<string, string>();
  private maxSeq = 0;

  private constructor(
    private readonly client: CloudClient,
    private readonly key: KeyObject,
  ) {
    client.onMessage((m) => this.onMessage(m));
  }

  static async connect(url: string, hubId: string, key: KeyObject): Promise<ChaosCloud> {
    const client = await CloudClient.connect({ url, hubId, persistent: true, clientId: `chaos-cloud-${hubId}`, connectTimeoutMs: 5_000 });
    const cloud = new ChaosCloud(client, key);
    await client.watch([client.topics.evt]);
    return cloud;
  }

  /** Sends, resending the same bytes every `retryMs` until answered or `giveUpMs` passes. */
  async send(command: Record<string, unknown>, opts: { retryMs?: number; giveUpMs?: number } = {}): Promise<CommandResponse | undefined> {
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
    if (!m.topic.endsWith("/evt") || m.payload === null || typeof m.payload !== "object") return;
    const e = m.payload as Record<string, unknown>;
    const seq = typeof e.seq === "number" ? e.seq : NaN;
    if (!Number.isInteger(seq)) return;
    if (this.events.has(seq)) {
      this.counts.eventDuplicates++;
      return;
    }
    this.counts.eventsReceived++;
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
