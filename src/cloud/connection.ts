/**
 * The hub's MQTT connection (mqtt.js v5), driven by us rather than by mqtt.js:
 *
 * - One mqtt.js client per connection attempt, with mqtt.js's own reconnect off
 *   (reconnectPeriod 0). Retries wait an exponential backoff with full jitter, so a fleet
 *   does not reconnect in lockstep after a broker restart. A fresh client per attempt also
 *   means nothing is replayed behind our back: unacknowledged events stay unsent in the
 *   outbox and go again, in order, on the next connection.
 * - Persistent session: clean=false, clientId=hubId, and on MQTT 5 a session expiry
 *   interval (without it a v5 broker drops the session at disconnect). Commands sent while
 *   the hub is away wait at the broker.
 * - Every connection takes the next sessionId from the store; its last will (retained, on
 *   the state topic) carries that sessionId. The hub watches its state topic and publishes
 *   its online state again when it sees an offline state of its current or an older session
 *   (a late will of a connection the broker only now noticed as gone).
 * - publish() only while connected, with a timeout; mqtt.js's offline queue is never used.
 *   A publish that sees no PUBACK within the timeout means a dead link: the connection is
 *   closed and re-established (like a keepalive timeout).
 * - Incoming commands are held in mqtt.js's packet pump until onCommand() resolves, which
 *   is after the command's effect and response are committed: only then does mqtt.js send
 *   the PUBACK (see holdAck below). A hub that dies before receives the command again.
 *
 * Over 400 lines: the connect/reconnect/session state machine and the PUBACK hold-back share one
 * client's state; to be split with the injected MQTT connector of issue 11.
 */
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from "mqtt";
import type { Clock, TimerHandle } from "../shared/clock.js";
import { errorMessage, LockBridgeError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { MAX_COMMAND_BYTES } from "./dispatcher.js";

/** The largest MQTT 5 packet the hub accepts: a command at the payload limit plus room for topic and properties. */
export const MAX_INCOMING_PACKET_BYTES = MAX_COMMAND_BYTES + 64 * 1024;
import { retryDelay, type BackoffPolicy } from "../shared/backoff.js";

/** Reconnecting to the broker: full jitter, so a fleet of hubs does not come back in lockstep. */
export const RECONNECT_BACKOFF: BackoffPolicy = { firstMs: 500, maxMs: 60_000, jitter: "full" };
import type { Topics } from "./topics.js";

export interface ConnectionOptions {
  url: string;
  clientId: string;
  topics: Topics;
  protocolVersion: 4 | 5;
  username?: string | undefined;
  password?: string | undefined;
  /** TLS: ca pins the broker's CA (replaces the system trust store); cert+key for mutual TLS. */
  tls?: { ca?: Buffer | undefined; cert?: Buffer | undefined; key?: Buffer | undefined; rejectUnauthorized?: boolean | undefined } | undefined;
  keepaliveS?: number;
  /** MQTT 5 session expiry: how long the broker keeps the session (and queued commands). */
  sessionExpiryS?: number;
  connectTimeoutMs?: number;
  publishTimeoutMs?: number;
  backoff?: BackoffPolicy;
  /** A connection that stayed up this long resets the backoff. */
  stableAfterMs?: number;
}

export interface ConnectionHooks {
  /** The sessionId of the next connection (committed to the store before it is used). */
  nextSessionId(): number;
  /** The retained online state of a session. */
  onlineState(sessionId: number): object;
  /** The last will, and the state published on a clean shutdown. */
  offlineState(sessionId: number): object;
  /** Handles one command; must resolve (never reject) once its response is committed. */
  onCommand(packet: IPublishPacket): Promise<void>;
  /** Connected, subscribed, online state published. sessionPresent: the broker kept our session. */
  onOnline(sessionPresent: boolean): void;
  onOffline(): void;
}

export interface PublishOptions {
  qos?: 0 | 1;
  retain?: boolean;
  properties?: IPublishPacket["properties"];
  /**
   * Written at once, even past the Receive Maximum budget (command responses, hub state):
   * a response must leave before its command's PUBACK, and waiting for a slot inside the
   * command would wait for PUBACKs the held packet pump cannot read.
   */
  priority?: boolean;
}

/** Thrown by publish() when there is no connection (nothing was sent). */
export class NotConnectedError extends LockBridgeError {
  constructor() {
    super("transport_closed", "not connected to the MQTT broker");
  }
}

interface PendingPublish {
  reject(e: Error): void;
}

const DEFAULTS = {
  keepaliveS: 30,
  sessionExpiryS: 7 * 24 * 3600,
  connectTimeoutMs: 10_000,
  publishTimeoutMs: 15_000,
  stableAfterMs: 10_000,
};

export class CloudConnection {
  private client: MqttClient | undefined;
  private sessionId = 0;
  private online = false;
  private stopping = false;
  private attempt = 0;
  private retryTimer: TimerHandle | undefined;
  private stableTimer: TimerHandle | undefined;
  private pending = new Set<PendingPublish>();
  /** QoS 1 publishes awaiting PUBACK, within sendLimit (the broker's Receive Maximum). */
  private inFlight = 0;
  private sendLimit = 65_535;
  private slotWaiters: (() => void)[] = [];
  /** A command is in mqtt.js's pump: PUBACKs of our publishes cannot be read meanwhile. */
  private commandsInProgress = 0;
  private readonly opts: Required<Pick<ConnectionOptions, keyof typeof DEFAULTS>> & ConnectionOptions;

  constructor(
    options: ConnectionOptions,
    private readonly hooks: ConnectionHooks,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.opts = { ...DEFAULTS, ...options };
  }

  get connected(): boolean {
    return this.online && this.client?.connected === true;
  }

  get currentSessionId(): number {
    return this.sessionId;
  }

  /** Starts connecting; returns at once (the hub runs while the broker is unreachable). */
  start(): void {
    this.stopping = false;
    this.connectNow();
  }

  /** Publishes the offline state (clean shutdown) and disconnects. */
  async stop(timeoutMs = 3000): Promise<void> {
    this.stopping = true;
    this.retryTimer?.cancel();
    this.stableTimer?.cancel();
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      try {
        await this.publish(this.opts.topics.state, JSON.stringify(this.hooks.offlineState(this.sessionId)), { qos: 1, retain: true, priority: true }, Math.min(timeoutMs, 2000));
      } catch (e) {
        this.log.warn({ err: errorMessage(e) }, "offline state not published at shutdown");
      }
    }
    await new Promise<void>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        client.end(true);
        resolve();
      }, timeoutMs);
      client.end(false, () => {
        timer.cancel();
        resolve();
      });
    });
    this.dropClient(client);
  }

  /**
   * Publishes and resolves on the broker's PUBACK (QoS 1) or once written (QoS 0).
   * Rejects with NotConnectedError when offline, and on timeout (after closing the link).
   */
  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}, timeoutMs = this.opts.publishTimeoutMs): Promise<void> {
    const client = this.client;
    if (!client || !client.connected || (this.stopping && topic !== this.opts.topics.state)) return Promise.reject(new NotConnectedError());
    const qos = options.qos ?? 1;
    return new Promise<void>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      let holdsSlot = false;
      const release = () => {
        if (holdsSlot) this.releaseSlot();
        holdsSlot = false;
      };
      const entry: PendingPublish = {
        reject: (e) => {
          timer?.cancel();
          this.pending.delete(entry);
          release();
          reject(e);
        },
      };
      const arm = (): void => {
        timer = this.clock.setTimeout(() => {
          // PUBACKs are not read while a command holds the pump: that is not a dead link.
          if (this.commandsInProgress > 0 && this.client === client) return arm();
          this.log.warn({ topic, timeoutMs }, "no PUBACK in time: closing the connection");
          entry.reject(new LockBridgeError("transport_closed", `publish to ${topic} timed out after ${timeoutMs} ms`));
          if (this.client === client) client.end(true);
        }, timeoutMs);
      };
      const send = (): void => {
        if (!this.pending.has(entry)) return; // dropped while waiting for a slot
        holdsSlot = qos === 1;
        arm();
        client.publish(topic, payload, { qos, retain: options.retain ?? false, ...(options.properties && { properties: options.properties }) }, (err) => {
          if (!this.pending.has(entry)) return;
          timer?.cancel();
          this.pending.delete(entry);
          release();
          if (err) reject(err);
          else resolve();
        });
      };
      this.pending.add(entry);
      if (qos === 1 && options.priority !== true) this.acquireSlot(send);
      else {
        if (qos === 1) this.inFlight++;
        send();
      }
    });
  }

  /**
   * QoS 1 publishes in flight are kept within the broker's Receive Maximum (MQTT 5 CONNACK;
   * Mosquitto's default is 20; a strict broker disconnects a client that exceeds it). A
   * quarter of it is kept for priority publishes (responses), so they rarely overshoot.
   * Waiters go in order, so events keep their seq order on the wire.
   */
  private get budget(): number {
    return Math.max(1, this.sendLimit - Math.max(1, Math.floor(this.sendLimit / 4)));
  }

  private acquireSlot(send: () => void): void {
    if (this.inFlight < this.budget && this.slotWaiters.length === 0) {
      this.inFlight++;
      send();
    } else {
      this.slotWaiters.push(send);
    }
  }

  private releaseSlot(): void {
    this.inFlight--;
    while (this.inFlight < this.budget && this.slotWaiters.length > 0) {
      this.inFlight++;
      this.slotWaiters.shift()!();
    }
  }

  // ------------------------------------------------------------ connection attempts

  private connectNow(): void {
    if (this.stopping) return;
    let sessionId: number;
    try {
      sessionId = this.hooks.nextSessionId();
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, "cannot take the next sessionId from the store");
      this.scheduleRetry();
      return;
    }
    const { topics } = this.opts;
    const v5 = this.opts.protocolVersion === 5;
    const options: IClientOptions = {
      clientId: this.opts.clientId,
      protocolVersion: this.opts.protocolVersion,
      clean: false,
      reconnectPeriod: 0,
      manualConnect: true,
      resubscribe: false,
      queueQoSZero: false,
      // mqtt-packet otherwise builds, at the first packet, a cache of a 2-byte Buffer for each of
      // the 65,536 16-bit numbers it writes (lengths, packet ids): 6.3 MB of live heap that stays
      // for the life of the process (docs/performance.md, "Memory"). Without it each number is a
      // 2-byte Buffer taken from Node's pool when written; the bytes on the wire are the same.
      writeCache: false,
      keepalive: this.opts.keepaliveS,
      connectTimeout: this.opts.connectTimeoutMs,
      // MQTT 5: the broker must not deliver us larger packets (it drops them): a 32 MiB
      // command never reaches the hub. Between 128 KiB and this, the hub answers payload_too_large.
      ...(v5 && { properties: { sessionExpiryInterval: this.opts.sessionExpiryS, maximumPacketSize: MAX_INCOMING_PACKET_BYTES } }),
      will: { topic: topics.state, payload: Buffer.from(JSON.stringify(this.hooks.offlineState(sessionId))), qos: 1, retain: true },
      ...(this.opts.username !== undefined && { username: this.opts.username }),
      ...(this.opts.password !== undefined && { password: this.opts.password }),
      ...(this.opts.tls && {
        ...(this.opts.tls.ca && { ca: this.opts.tls.ca }),
        ...(this.opts.tls.cert && { cert: this.opts.tls.cert }),
        ...(this.opts.tls.key && { key: this.opts.tls.key }),
        rejectUnauthorized: this.opts.tls.rejectUnauthorized ?? true,
      }),
    };
    let client: MqttClient;
    try {
      client = mqtt.connect(this.opts.url, options);
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, "cannot create the MQTT client");
      this.scheduleRetry();
      return;
    }
    this.client = client;
    this.sessionId = sessionId;
    this.holdAcks(client);
    this.keepAliveDuringCommands(client);
    client.on("connect", (connack) => this.onConnect(client, connack));
    client.on("error", (err) => this.log.warn({ err: errorMessage(err), code: (err as { code?: unknown }).code }, "mqtt error"));
    client.on("close", () => this.onClose(client));
    this.log.info({ sessionId, protocolVersion: this.opts.protocolVersion, attempt: this.attempt }, "connecting to the MQTT broker");
    client.connect();
    // Commands and their responses are small, latency-bound messages: no Nagle delay.
    (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
  }

  /**
   * The PUBACK hold. mqtt.js handles a received QoS 1 PUBLISH as: emit 'message', call
   * client.handleMessage(packet, done), and send the PUBACK only when done() is called
   * (node_modules/mqtt/build/lib/handlers/publish.js); the packet pump waits for it, so
   * commands are also handled strictly one at a time, in order. `customHandleAcks` holds
   * the ack the same way but mqtt.js honours it on MQTT 5 only (client.js replaces it with
   * an immediate ack otherwise), so handleMessage is the one mechanism for both versions.
   */
  private holdAcks(client: MqttClient): void {
    const { topics } = this.opts;
    client.handleMessage = (packet, done) => {
      if (packet.topic === topics.cmd) {
        this.commandsInProgress++;
        this.hooks
          .onCommand(packet)
          .catch((e: unknown) => this.log.error({ err: errorMessage(e) }, "command handling failed"))
          .finally(() => {
            this.commandsInProgress--;
            done();
          });
        return;
      }
      if (packet.topic === topics.state) this.onStateMessage(client, Buffer.from(packet.payload));
      done();
    };
  }

  /**
   * While a command holds the packet pump, mqtt.js cannot read the broker's PINGRESP and
   * would declare the link dead after 1.5 keepalive intervals; a lock command may take
   * longer than that. The keepalive verdict waits until the command is done (the broker's
   * own keepalive is served by our PINGREQs, which still go out).
   */
  private keepAliveDuringCommands(client: MqttClient): void {
    const timeout = client.onKeepaliveTimeout.bind(client);
    client.onKeepaliveTimeout = () => {
      if (this.commandsInProgress > 0 && this.client === client && client.keepaliveManager) {
        client.keepaliveManager.reschedule();
        return;
      }
      timeout();
    };
  }

  private onConnect(client: MqttClient, connack: IConnackPacket): void {
    if (this.client !== client) return;
    const sessionPresent = connack.sessionPresent;
    this.sendLimit = Math.max(1, Math.min(65_535, connack.properties?.receiveMaximum ?? 65_535));
    this.log.info({ sessionId: this.sessionId, sessionPresent }, "connected to the MQTT broker");
    const { topics } = this.opts;
    void (async () => {
      try {
        const granted = await client.subscribeAsync({ [topics.cmd]: { qos: 1 }, [topics.state]: { qos: 0 } });
        const refused = granted.filter((g) => g.qos === 128);
        if (refused.length > 0) this.log.error({ topics: refused.map((g) => g.topic) }, "the broker refused a subscription (ACL?)");
        await this.publishState(client);
      } catch (e) {
        this.log.warn({ err: errorMessage(e) }, "subscribe or state publish failed: reconnecting");
        if (this.client === client) client.end(true);
        return;
      }
      if (this.client !== client || !client.connected) return;
      this.online = true;
      this.stableTimer?.cancel();
      this.stableTimer = this.clock.setTimeout(() => (this.attempt = 0), this.opts.stableAfterMs);
      this.hooks.onOnline(sessionPresent);
    })();
  }

  /** Publishes the retained online state of the current session. */
  async publishState(client: MqttClient | undefined = this.client): Promise<void> {
    if (!client || client !== this.client) throw new NotConnectedError();
    await this.publish(this.opts.topics.state, JSON.stringify(this.hooks.onlineState(this.sessionId)), { qos: 1, retain: true, priority: true });
  }

  private onStateMessage(client: MqttClient, payload: Buffer): void {
    if (this.client !== client || this.stopping || payload.length === 0) return;
    let state: { online?: unknown; sessionId?: unknown };
    try {
      state = JSON.parse(payload.toString("utf8")) as typeof state;
    } catch {
      this.log.warn("state topic holds something that is not JSON: publishing the online state over it");
      state = { online: false, sessionId: 0 };
    }
    if (state.online !== false || typeof state.sessionId !== "number" || state.sessionId > this.sessionId) return;
    this.log.warn({ willSessionId: state.sessionId, sessionId: this.sessionId }, "late will seen on the state topic: publishing the online state again");
    this.publishState(client).catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, "online state not republished"));
  }

  private onClose(client: MqttClient): void {
    if (this.client !== client) return;
    const wasOnline = this.online;
    this.dropClient(client);
    if (wasOnline) {
      // A clean shutdown closes the connection on purpose: not a warning.
      if (this.stopping) this.log.info({ sessionId: this.sessionId }, "disconnected from the MQTT broker (stopping)");
      else this.log.warn({ sessionId: this.sessionId }, "disconnected from the MQTT broker");
      this.hooks.onOffline();
    }
    if (!this.stopping) this.scheduleRetry();
  }

  private dropClient(client: MqttClient): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.online = false;
    this.stableTimer?.cancel();
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const p of [...this.pending]) p.reject(new NotConnectedError());
    for (const send of waiters) send(); // each finds its entry rejected and returns
    this.inFlight = 0;
    client.removeAllListeners("connect");
    // Keep an error listener: a late socket error must not become an uncaught exception.
    client.on("error", () => undefined);
    client.end(true);
  }

  private scheduleRetry(): void {
    if (this.stopping) return;
    const delay = retryDelay(++this.attempt, this.opts.backoff ?? RECONNECT_BACKOFF);
    this.log.info({ delayMs: delay, attempt: this.attempt }, "reconnecting after backoff");
    this.retryTimer?.cancel();
    this.retryTimer = this.clock.setTimeout(() => this.connectNow(), delay);
  }
}
