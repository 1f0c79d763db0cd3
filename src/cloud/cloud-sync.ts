/**
 * The hub's half of the MQTT contract as one service: connection, command dispatcher and
 * handler registry, event outbox + sender, retained status publisher, hub state.
 *
 * Everything it needs from the rest of the hub is given when it is built, nothing later:
 *   outbox        the event outbox the provisioning side also appends to (in its transactions)
 *   changes       the bus on which stored key/lock changes are told: the retained statuses follow it
 *   keys          what a key change means (KeyService)
 *   statusSource  the key and lock statuses to publish
 *   provisioning  the handlers of the lock-fleet commands and the desired-state effects
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IPublishPacket } from "mqtt";
import type { Store } from "../store/index.js";
import { systemClock, type Clock, type TimerHandle } from "../shared/clock.js";
import { errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { loadCommandKey } from "./canonical.js";
import { CloudConnection, type ConnectionOptions } from "./connection.js";
import { Dispatcher } from "./dispatcher.js";
import type { CommandResponse } from "./responses.js";
import { createCommandRegistry, needsSnapshot, type DesiredStateEffects, type HubFacts, type KeyCommands, type ProvisioningCommandHandlers } from "./handlers/index.js";
import { Outbox } from "./outbox.js";
import { DEFAULT_SENDER_OPTIONS, OutboxSender, type OutboxSenderOptions } from "./outbox-sender.js";
import type { CommandRegistry } from "./registry.js";
import type { ChangeBus } from "../shared/change-bus.js";
import { DEFAULT_STATUS_OPTIONS, StatusPublisher, type StatusPublisherOptions, type StatusSource } from "./status-publisher.js";
import { isAllowedResponseTopic, topicsFor, type Topics } from "./topics.js";
import { ResponseDelivery } from "./response-delivery.js";
import { checkCloudSecurity } from "./startup-checks.js";
import { echo } from "./schemas.js";
import { formatInstant } from "../shared/instant.js";

export interface CloudSyncOptions {
  hubId: string;
  /** The broker (the embedded one's URL when none is configured). */
  url: string;
  topicPrefix: string;
  protocolVersion: 4 | 5;
  username?: string | undefined;
  password?: string | undefined;
  /** File paths (read at start). */
  tls?: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined; rejectUnauthorized?: boolean | undefined } | undefined;
  /** The cloud's Ed25519 command key as SPKI PEM (config normalises it). */
  commandPublicKey?: string | undefined;
  /** Accept unsigned commands on a broker other than the embedded one (no command key). */
  allowUnsignedCommands?: boolean | undefined;
  /** `url` is the hub's own loopback demo broker: unsigned commands are accepted there. */
  embeddedBroker?: boolean | undefined;
  /** Bound on the event backlog. */
  maxEvents: number;
  /** The hub's software version (state payload). */
  version: string;
  store: Store;
  log: Logger;
  clock?: Clock;
  /** What a key change means (the provisioning side's KeyService). */
  keys: KeyCommands;
  /** The key and lock statuses to publish. */
  statusSource: StatusSource;
  /** The lock-fleet commands and desired-state effects; without them those commands are unknown_command. */
  provisioning?: { commands: ProvisioningCommandHandlers; effects: DesiredStateEffects } | undefined;
  /** The event outbox, when others append to it too; default: one of its own. */
  outbox?: Outbox | undefined;
  /** Key/lock changes stored elsewhere, to publish their statuses. */
  changes?: ChangeBus | undefined;
  /** Timeouts, keepalive, backoff. */
  connection?: Partial<Pick<ConnectionOptions, "keepaliveS" | "sessionExpiryS" | "connectTimeoutMs" | "publishTimeoutMs" | "backoff" | "stableAfterMs">>;
  sender?: Partial<OutboxSenderOptions>;
  status?: Partial<StatusPublisherOptions>;
}

/** A command as metrics see it once answered. */
export interface AnsweredCommand {
  cmd: string;
  ok: boolean;
  ms: number;
}

const HOUSEKEEPING_MS = 60 * 60 * 1000;

export class CloudSync {
  readonly name = "cloud-sync";
  readonly topics: Topics;
  readonly registry: CommandRegistry;
  /** The event outbox: emit() returns the event's seq. */
  readonly events: Outbox;
  /** Retained statuses: keyChanged()/lockChanged(). */
  readonly status: StatusPublisher;
  readonly bootId = randomUUID();
  private readonly connection: CloudConnection;
  private readonly sender: OutboxSender;
  private readonly dispatcher: Dispatcher;
  /**
   * The same handlers for installer actions of the local API (src/api): those never crossed
   * the broker and are authenticated by loopback + the installer token, so no cloud signature.
   */
  private readonly localDispatcher: Dispatcher;
  private readonly answeredListeners = new Set<(answer: AnsweredCommand) => void>();
  private readonly responses: ResponseDelivery;
  private readonly clock: Clock;
  private readonly log: Logger;
  private startedAt = "";
  private housekeeping: TimerHandle | undefined;
  /** needsSnapshot/siteId as last published, to republish the state when they change. */
  private publishedStateKey = "";
  private commandChain: Promise<void> = Promise.resolve();

  constructor(private readonly options: CloudSyncOptions) {
    const { store } = options;
    this.clock = options.clock ?? systemClock;
    this.log = options.log.child({ module: "cloud" });
    this.topics = topicsFor(options.topicPrefix, options.hubId);
    this.events = options.outbox ?? new Outbox(store, this.clock, this.log.child({ part: "outbox" }), { maxEvents: options.maxEvents });
    const statusSource = options.statusSource;
    this.registry = createCommandRegistry({ store, outbox: this.events, keys: options.keys, facts: () => this.facts(), provisioning: options.provisioning });
    this.connection = new CloudConnection(
      {
        url: options.url,
        clientId: options.hubId,
        topics: this.topics,
        protocolVersion: options.protocolVersion,
        username: options.username,
        password: options.password,
        tls: readTls(options.tls),
        ...options.connection,
      },
      {
        nextSessionId: () => store.meta.nextSessionId(),
        onlineState: (sessionId) => this.onlineState(sessionId),
        offlineState: (sessionId) => ({ online: false, hubId: options.hubId, bootId: this.bootId, sessionId }),
        onCommand: (packet) => this.onCommand(packet),
        onOnline: (sessionPresent) => {
          this.sender.setOnline(true);
          this.status.setOnline(true, sessionPresent);
          void this.responses.resendUnsent();
        },
        onOffline: () => {
          this.sender.setOnline(false);
          this.status.setOnline(false);
        },
      },
      this.clock,
      this.log.child({ part: "connection" }),
    );
    this.responses = new ResponseDelivery(store, this.connection, this.topics.res, this.clock, this.log.child({ part: "responses" }));
    this.sender = new OutboxSender(store, this.events, this.connection, this.topics.evt, this.clock, this.log.child({ part: "sender" }), {
      ...DEFAULT_SENDER_OPTIONS,
      ...options.sender,
    });
    this.status = new StatusPublisher(statusSource, this.connection, this.topics, this.clock, this.log.child({ part: "status" }), {
      ...DEFAULT_STATUS_OPTIONS,
      ...options.status,
    });
    // For the cloud sync's lifetime: a stopped publisher only marks statuses for its next start.
    options.changes?.subscribe(this.status);
    const dispatcherDeps = {
      store,
      registry: this.registry,
      clock: this.clock,
      log: this.log.child({ part: "commands" }),
      emit: (e: Parameters<Outbox["emit"]>[0]) => this.events.emit(e),
      onStatusChanges: (keys: ReadonlySet<string>, locks: ReadonlySet<string>) => {
        for (const id of keys) this.status.keyChanged(id);
        for (const id of locks) this.status.lockChanged(id);
      },
    };
    this.dispatcher = new Dispatcher({ ...dispatcherDeps, commandKey: options.commandPublicKey ? loadCommandKey(options.commandPublicKey) : undefined });
    this.localDispatcher = new Dispatcher({ ...dispatcherDeps, log: this.log.child({ part: "installer-commands" }) });
  }

  /** Told after every command is answered (metrics: latency by command and outcome). */
  onCommandAnswered(listener: (answer: AnsweredCommand) => void): () => void {
    this.answeredListeners.add(listener);
    return () => this.answeredListeners.delete(listener);
  }

  /**
   * Runs a contract command given by an installer through the local API, in the same queue
   * as the cloud's commands (one at a time), and answers it like the cloud would be answered.
   */
  runLocal(command: Record<string, unknown>): Promise<CommandResponse> {
    const run = this.commandChain.then(async () => {
      const started = this.clock.now();
      const { response } = await this.localDispatcher.dispatch(JSON.stringify(command));
      this.log.info({ id: response.id, cmd: response.cmd, ok: response.ok, source: "installer", ...(!response.ok && { error: response.error.code }) }, "command answered");
      this.answered(response, started);
      this.republishStateIfChanged();
      return response;
    });
    this.commandChain = run.then(() => undefined, () => undefined);
    return run;
  }

  private answered(response: CommandResponse, started: number): void {
    const answer = { cmd: response.cmd ?? "unknown", ok: response.ok, ms: this.clock.now() - started };
    for (const l of this.answeredListeners) l(answer);
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  /** Events acknowledged by the broker since start (benchmarks, diagnostics). */
  get eventsSent(): number {
    return this.sender.sentCount;
  }

  async start(): Promise<void> {
    const { options } = this;
    const warnings = checkCloudSecurity({
      url: options.url,
      embeddedBroker: options.embeddedBroker === true,
      hasCommandKey: options.commandPublicKey !== undefined,
      allowUnsignedCommands: options.allowUnsignedCommands === true,
      password: options.password,
      rejectUnauthorized: options.tls?.rejectUnauthorized,
    });
    for (const w of warnings) this.log.warn({ security: w.reason }, w.message);
    this.startedAt = formatInstant(this.clock.now());
    this.runHousekeeping();
    this.sender.start();
    this.connection.start();
    this.log.info({ topics: this.topics.base, protocolVersion: this.options.protocolVersion }, "cloud sync started");
  }

  async stop(): Promise<void> {
    this.housekeeping?.cancel();
    this.status.stop();
    await this.sender.stop();
    await this.connection.stop();
    this.responses.flush();
  }

  /** The hub facts of status.get. */
  facts(): HubFacts {
    return {
      hubId: this.options.hubId,
      version: this.options.version,
      bootId: this.bootId,
      sessionId: this.connection.currentSessionId,
      connected: this.connection.connected,
      startedAt: this.startedAt,
    };
  }

  private onlineState(sessionId: number): object {
    const { store } = this.options;
    const siteId = store.site.get()?.siteId ?? null;
    const needs = needsSnapshot(store);
    this.publishedStateKey = JSON.stringify([siteId, needs]);
    return {
      online: true,
      hubId: this.options.hubId,
      siteId,
      version: this.options.version,
      bootId: this.bootId,
      sessionId,
      startedAt: this.startedAt,
      needsSnapshot: needs,
      lastEventSeq: store.outbox.lastSeq(),
    };
  }

  /**
   * One ordered queue across connections too: a command redelivered on a new connection
   * while its first delivery is still being handled (a long lock command outlived the link)
   * waits for it, then finds its stored response instead of running twice.
   */
  private onCommand(packet: IPublishPacket): Promise<void> {
    const run = this.commandChain.then(() => this.handleCommand(packet));
    this.commandChain = run.catch(() => undefined);
    return run;
  }

  private async handleCommand(packet: IPublishPacket): Promise<void> {
    const started = this.clock.now();
    const { response, duplicate } = await this.dispatcher.dispatch(Buffer.from(packet.payload));
    this.answered(response, started);
    const payload = JSON.stringify(response);
    this.log.info({ id: response.id, cmd: response.cmd, ok: response.ok, duplicate, ...(!response.ok && { error: response.error.code }) }, "command answered");
    // Not awaited: PUBACKs are read only after this command's own PUBACK is sent. Kept in
    // the store until the broker acknowledges it (ResponseDelivery).
    void (duplicate ? this.responses.sendAgain(response) : this.responses.send(response, payload));
    const responseTopic = packet.properties?.responseTopic;
    if (this.options.protocolVersion === 5 && responseTopic !== undefined) {
      if (isAllowedResponseTopic(responseTopic, this.options.topicPrefix)) {
        const correlationData = packet.properties?.correlationData;
        this.connection
          .publish(responseTopic, payload, { qos: 1, priority: true, ...(correlationData !== undefined && { properties: { correlationData } }) })
          .catch((e: unknown) => this.log.warn({ err: errorMessage(e), id: response.id }, "response not published on the response topic"));
      } else {
        // Quoted bounded: the topic is the sender's text.
        this.log.warn({ id: response.id, responseTopic: echo(responseTopic) }, `response topic refused: not a topic under "${this.options.topicPrefix}/" (answered on ${this.topics.res} only)`);
      }
    }
    this.republishStateIfChanged();
  }

  private republishStateIfChanged(): void {
    const { store } = this.options;
    let key: string;
    try {
      key = JSON.stringify([store.site.get()?.siteId ?? null, needsSnapshot(store)]);
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, "cannot read the hub state");
      return;
    }
    if (key === this.publishedStateKey || !this.connection.connected) return;
    this.connection.publishState().catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, "hub state not republished"));
  }

  private runHousekeeping(): void {
    const { store } = this.options;
    try {
      const inbox = store.inbox.purgeExpired();
      const events = this.events.purgeExpired();
      const pages = store.snapshots.dropExpired();
      if (inbox + events + pages > 0) this.log.info({ inbox, events, snapshotPages: pages }, "retention: old entries purged");
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, "retention purge failed");
    }
    this.housekeeping = this.clock.setTimeout(() => this.runHousekeeping(), HOUSEKEEPING_MS);
  }
}

/** TLS files are read once, when the service is built: a renewed certificate takes a restart. */
function readTls(tls: CloudSyncOptions["tls"]): ConnectionOptions["tls"] {
  if (!tls) return undefined;
  const read = (file: string | undefined) => (file === undefined ? undefined : readFileSync(file));
  return { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key), rejectUnauthorized: tls.rejectUnauthorized };
}
