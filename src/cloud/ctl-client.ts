/**
 * The cloud's side of the contract, as a small client: send commands (and wait for their
 * responses), watch events, statuses and the hub state. `lockbridge ctl` is built on it;
 * the integration tests use it as "the cloud".
 */
import { randomUUID, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from "mqtt";
import type { CommandResponse } from "./responses.js";
import { signCommand } from "./signing.js";
import { topicsFor, type Topics } from "./topics.js";

export interface CloudClientOptions {
  url: string;
  hubId: string;
  prefix?: string;
  protocolVersion?: 4 | 5;
  clientId?: string;
  /** Persistent session (the cloud keeps receiving while away). Default: clean session. */
  persistent?: boolean;
  username?: string;
  password?: string;
  /** File paths. */
  tls?: { ca?: string; cert?: string; key?: string; insecure?: boolean };
  connectTimeoutMs?: number;
  /** The cloud's Ed25519 private key: send() signs every command that has no `sig` yet. */
  signingKey?: KeyObject | undefined;
}

export interface ReceivedMessage {
  topic: string;
  /** Parsed JSON, or null for an empty (retained delete) payload, or the raw text. */
  payload: unknown;
  retained: boolean;
  packet: IPublishPacket;
}

export interface SendOptions {
  /** Wait for the response (default true). */
  wait?: boolean;
  timeoutMs?: number;
  /** MQTT 5: ask for the answer on this topic too, with this correlation data. */
  responseTopic?: string;
  correlationData?: Buffer;
}

export class CloudClient {
  readonly topics: Topics;
  private readonly waiters = new Map<string, (r: CommandResponse) => void>();
  private readonly listeners = new Set<(m: ReceivedMessage) => void>();

  private constructor(
    readonly client: MqttClient,
    readonly options: CloudClientOptions,
  ) {
    this.topics = topicsFor(options.prefix ?? "lockbridge", options.hubId);
    client.on("message", (topic, payload, packet) => this.deliver(topic, payload, packet));
  }

  static async connect(options: CloudClientOptions): Promise<CloudClient> {
    const tls = options.tls;
    const read = (f: string | undefined) => (f === undefined ? undefined : readFileSync(f));
    const opts: IClientOptions = {
      clientId: options.clientId ?? `lockbridge-ctl-${randomUUID().slice(0, 8)}`,
      protocolVersion: options.protocolVersion ?? 4,
      clean: !options.persistent,
      reconnectPeriod: options.persistent ? 500 : 0,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      ...(options.persistent && options.protocolVersion === 5 && { properties: { sessionExpiryInterval: 3600 } }),
      ...(options.username !== undefined && { username: options.username }),
      ...(options.password !== undefined && { password: options.password }),
      ...(tls && {
        ...(tls.ca && { ca: read(tls.ca) }),
        ...(tls.cert && { cert: read(tls.cert) }),
        ...(tls.key && { key: read(tls.key) }),
        rejectUnauthorized: !tls.insecure,
      }),
    };
    const client = await mqtt.connectAsync(options.url, opts);
    (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
    const cloud = new CloudClient(client, options);
    await client.subscribeAsync(cloud.topics.res, { qos: 1 });
    return cloud;
  }

  /** Subscribes (QoS 1) to any of the hub's topics; messages go to onMessage listeners. */
  async watch(topics: string[]): Promise<void> {
    await this.client.subscribeAsync(Object.fromEntries(topics.map((t) => [t, { qos: 1 as const }])));
  }

  onMessage(listener: (m: ReceivedMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Publishes a command (QoS 1; resolves after the broker's PUBACK, and with wait after the
   * hub's response). `id` and `ts` are filled in when absent; signed with the client's
   * signing key unless it already carries `sig`.
   */
  async send(command: Record<string, unknown>, options: SendOptions = {}): Promise<CommandResponse | undefined> {
    const filled: Record<string, unknown> = { id: randomUUID(), ts: new Date().toISOString(), ...command };
    const full = this.options.signingKey && filled.sig === undefined ? signCommand(filled, this.options.signingKey) : filled;
    return this.sendRaw(JSON.stringify(full), String(full.id), options);
  }

  /** Publishes exact bytes as a command; `id` is what to wait for. */
  async sendRaw(payload: string, id: string | undefined, options: SendOptions = {}): Promise<CommandResponse | undefined> {
    const wait = options.wait ?? true;
    const answered =
      wait && id !== undefined
        ? new Promise<CommandResponse>((resolve, reject) => {
            const timer = setTimeout(() => {
              this.waiters.delete(id);
              reject(new Error(`no response to ${id} within ${options.timeoutMs ?? 30_000} ms`));
            }, options.timeoutMs ?? 30_000);
            this.waiters.set(id, (r) => {
              clearTimeout(timer);
              resolve(r);
            });
          })
        : undefined;
    const properties =
      options.responseTopic !== undefined
        ? { responseTopic: options.responseTopic, ...(options.correlationData && { correlationData: options.correlationData }) }
        : undefined;
    // The answer's timeout may fire while the publish still waits for its PUBACK (a broker
    // that stopped answering) or after the publish failed: the caller sees it when it awaits,
    // and it must never be an unhandled rejection meanwhile.
    answered?.catch(() => undefined);
    await this.client.publishAsync(this.topics.cmd, payload, { qos: 1, ...(properties && { properties }) });
    return answered;
  }

  /**
   * The hubs whose retained state the broker holds under this prefix (hubId -> online), read
   * for at most `waitMs` (less once this client's hub showed up).
   */
  async hubsSeen(waitMs = 1500): Promise<Map<string, boolean>> {
    const prefix = this.options.prefix ?? "lockbridge";
    const filter = `${prefix}/v1/+/state`;
    const seen = new Map<string, boolean>();
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const onMessage = (topic: string, raw: Buffer, packet: IPublishPacket) => {
      const m = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/v1/([^/]+)/state$`).exec(topic);
      if (!m || !packet.retain || raw.length === 0) return;
      let online = false;
      try {
        online = (JSON.parse(raw.toString("utf8")) as { online?: unknown }).online === true;
      } catch {
        return; // not a hub's state
      }
      seen.set(m[1]!, online);
      if (m[1] === this.options.hubId) done();
    };
    this.client.on("message", onMessage);
    try {
      await this.client.subscribeAsync(filter, { qos: 0 });
      const timer = setTimeout(done, waitMs);
      await finished;
      clearTimeout(timer);
      await this.client.unsubscribeAsync(filter);
    } finally {
      this.client.removeListener("message", onMessage);
    }
    return seen;
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }

  private deliver(topic: string, raw: Buffer, packet: IPublishPacket): void {
    const text = raw.toString("utf8");
    let payload: unknown = text === "" ? null : text;
    try {
      if (text !== "") payload = JSON.parse(text);
    } catch {
      // not JSON: handed on as text
    }
    if (topic === this.topics.res && payload !== null && typeof payload === "object") {
      const id = (payload as { id?: unknown }).id;
      if (typeof id === "string") {
        const waiter = this.waiters.get(id);
        this.waiters.delete(id);
        waiter?.(payload as CommandResponse);
      }
    }
    const message: ReceivedMessage = { topic, payload, retained: packet.retain, packet };
    for (const listener of this.listeners) listener(message);
  }
}
