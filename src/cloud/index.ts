/**
 * The cloud module's public face (mqtt-api.md, docs/mqtt-api.md). The hub composes it with
 * cloudSyncFromConfig(), giving it the outbox, the change bus and the provisioning side's
 * ports (key semantics, statuses, lock-fleet command handlers, desired-state effects).
 */
import type { Config } from "../config/index.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import type { Store } from "../store/index.js";
import { CloudSync, type CloudSyncOptions } from "./cloud-sync.js";

export { CloudSync, type AnsweredCommand, type CloudSyncOptions } from "./cloud-sync.js";
export { CloudClient, type CloudClientOptions, type ReceivedMessage } from "./ctl-client.js";
export { startEmbeddedBroker, type EmbeddedBroker } from "./embedded-broker.js";
export { EVENT_TYPES, type EventSink, type EventType, type HubEvent, type HubEventInput } from "./events.js";
export { CommandRegistry, defineHandler, type CommandContext, type CommandHandler, type CommandMeta, type HandlerFor, type HandlerOutcome } from "./registry.js";
export { COMMAND_NAMES, COMMAND_SCHEMAS, SIGNED_COMMANDS, type CommandName, type CommandOf } from "./schemas.js";
export type { CommandResponse, ErrorResponse, OkResponse } from "./responses.js";
export type { LockStatus, StatusSink, StatusSource } from "./status-publisher.js";
export {
  PROVISIONING_COMMANDS,
  type DesiredStateEffects,
  type KeyChangeContext,
  type KeyChangeOutcome,
  type KeyCommands,
  type ProvisioningCommandHandlers,
} from "./handlers/index.js";
export { Outbox } from "./outbox.js";
export { canonicalJson } from "./canonical.js";
export { checkCloudSecurity, type SecurityFacts, type StartupWarning } from "./startup-checks.js";
export { ensureDemoKeyPair, loadSigningKey, signCommand, signingKeyFrom, SIGNING_KEY_ENV } from "./signing.js";

export interface CloudSyncDeps extends Pick<CloudSyncOptions, "keys" | "statusSource" | "provisioning" | "outbox" | "changes"> {
  store: Store;
  log: Logger;
  /** The broker URL: config.mqtt.url, or the embedded broker's. */
  brokerUrl: string;
  version: string;
  clock?: Clock;
  overrides?: Partial<CloudSyncOptions>;
}

/** The cloud sync as the config describes it. The embedded broker (no mqtt.url) speaks MQTT 3.1.1. */
export function cloudSyncFromConfig(config: Config, deps: CloudSyncDeps): CloudSync {
  const { mqtt } = config;
  return new CloudSync({
    hubId: config.hubId,
    url: deps.brokerUrl,
    topicPrefix: mqtt.topicPrefix,
    protocolVersion: mqtt.url === undefined ? 4 : (mqtt.protocolVersion ?? 5),
    username: mqtt.username,
    password: mqtt.password,
    tls: mqtt.tls,
    commandPublicKey: config.cloud.commandPublicKey,
    allowUnsignedCommands: config.cloud.allowUnsignedCommands,
    embeddedBroker: mqtt.url === undefined,
    maxEvents: config.outbox.maxEvents,
    version: deps.version,
    store: deps.store,
    log: deps.log,
    keys: deps.keys,
    statusSource: deps.statusSource,
    provisioning: deps.provisioning,
    outbox: deps.outbox,
    changes: deps.changes,
    ...(deps.clock && { clock: deps.clock }),
    ...deps.overrides,
  });
}
