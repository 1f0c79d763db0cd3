/**
 * The chaos run's cloud: signs every command (the hub has a command key), resends a command
 * with the same id until it is answered (the contract's retry), and keeps every event by seq.
 * What it counts feeds the invariants: commands sent/acknowledged (PUBACK)/answered/applied;
 * events go to the EventLedger (first arrivals by type, duplicates sorted by why they came
 * again, reused seqs).
 */
import { randomUUID, type KeyObject } from "node:crypto";
import { CloudClient, type ReceivedMessage } from "../src/cloud/ctl-client.js";
import { signCommand } from "../src/cloud/signing.js";
import type { CommandResponse } from "../src/cloud/responses.js";
import { EventLedger } from "./event-ledger.js";
import type { KeyStatusView } from "./guest-verdict.js";

export interface CloudCounts {
  sent: number;
  acknowledged: number;
  answered: number;
  applied: number;
  refused: Record<string, number>;
  /** `internal` "data disk is full" answers, each followed by a resend of the same id (docs/mqtt-api.md). */
  diskFullResends: number;
}

export class ChaosCloud {
  readonly counts: CloudCounts = { sent: 0, acknowledged: 0, answered: 0, applied: 0, refused: {}, diskFullResends: 0 };
  /** Every event by seq, duplicates sorted by why they came again (chaos/event-ledger.ts). */
  readonly events = new EventLedger();
  /** Commands acknowledged by the broker and not answered yet: id -> payload. */
  readonly unanswered = new Map<string, string>();
  /** Each lock's `state` as last published on its retained status topic (mqtt-api.md "Lock status"). */
  readonly lockStates = new Map<string, string>();
  /** Each lock's retained status as last published (online, state), for the guests' judge. */
  readonly lockStatuses = new Map<string, { online: boolean; state: string }>();
  /** Each key's retained status as last published; null once emptied (the key fully removed). */
  readonly keyStatuses = new Map<string, KeyStatusView | null>();

  private constructor(
    private readonly client: CloudClient,
    private readonly key: KeyObject,
  ) {
    client.onMessage((m) => this.onMessage(m));
    // On close, not on connect: mqtt.js emits 'connect' only after replaying its own outgoing
    // store, and the broker's redelivery to this persistent session (right after CONNACK) is
    // emitted as 'message' before it. Counting from 'connect' took those QoS 1 redeliveries for
    // unasked duplicates within one connection (the 30-minute run's 22, after broker restarts).
    client.client.on("close", () => this.events.connectionClosed());
  }

  static async connect(url: string, hubId: string, key: KeyObject): Promise<ChaosCloud> {
    const client = await CloudClient.connect({ url, hubId, persistent: true, clientId: `chaos-cloud-${hubId}`, connectTimeoutMs: 5_000 });
    const cloud = new ChaosCloud(client, key);
    await client.watch([client.topics.evt, client.topics.state, client.topics.lockStatusAll, client.topics.keyStatusAll]);
    return cloud;
  }

  /** Sends, resending the same bytes every `retryMs` until answered or `giveUpMs` passes. */
  async send(command: Record<string, unknown>, opts: { retryMs?: number; giveUpMs?: number } = {}): Promise<CommandResponse | undefined> {
    if (command.cmd === "events.resend" && typeof command.fromSeq === "number") this.events.resendRequested(command.fromSeq);
    const id = randomUUID();
    const payload = JSON.stringify(signCommand({ id, ts: new Date().toISOString(), ...command }, this.key));
    // The contract's limit: a bigger command is refused with id null, so it would never be answered by id.
    if (Buffer.byteLength(payload) > 128 * 1024) throw new Error(`harness: a ${String(command.cmd)} of ${Buffer.byteLength(payload)} bytes is over the contract's 128 KiB`);
    this.counts.sent++;
    const deadline = Date.now() + (opts.giveUpMs ?? 120_000);
    let acked = false;
    while (Date.now() < deadline) {
      try {
        const r = await this.client.sendRaw(payload, id, { timeoutMs: opts.retryMs ?? 10_000 });
        if (r && !r.ok && r.error.code === "internal" && /data disk is full/.test(r.error.message)) {
          // Not committed and not stored: the same id again once the disk has room (as a cloud would).
          if (!acked) this.counts.acknowledged++;
          acked = true;
          this.counts.diskFullResends++;
          this.unanswered.set(id, payload);
          await new Promise((res) => setTimeout(res, 1_000));
          continue;
        }
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
    if (m.topic === this.client.topics.state) {
      if (m.payload !== null && typeof m.payload === "object") this.events.hubState((m.payload as { sessionId?: unknown }).sessionId);
      return;
    }
    if (m.topic === this.client.topics.evt) {
      this.events.record(Buffer.from(m.packet.payload).toString("utf8"));
      return;
    }
    const keyPrefix = this.client.topics.keyStatusAll.slice(0, -1);
    if (m.topic.startsWith(keyPrefix)) {
      const key = m.payload as KeyStatusView | null;
      if (key === null) this.keyStatuses.set(m.topic.slice(keyPrefix.length), null);
      else if (typeof key === "object" && typeof key.version === "number" && Array.isArray(key.doors)) this.keyStatuses.set(m.topic.slice(keyPrefix.length), key);
      return;
    }
    const lock = m.payload as { lockId?: unknown; state?: unknown; online?: unknown } | null;
    if (m.topic.startsWith(this.client.topics.lockStatusAll.slice(0, -1)) && lock !== null && typeof lock === "object" && typeof lock.lockId === "string" && typeof lock.state === "string") {
      this.lockStates.set(lock.lockId.toLowerCase(), lock.state);
      this.lockStatuses.set(lock.lockId.toLowerCase(), { online: lock.online === true, state: lock.state });
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
