/**
 * Test utilities for the cloud contract: the command layer on a real store (temp dir,
 * manual clock), command builders, an Ed25519 command key, and contract fixtures.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CloudSync, type CloudSyncOptions } from "../../src/cloud/cloud-sync.js";
import { CloudClient, type CloudClientOptions } from "../../src/cloud/ctl-client.js";
import { signedBytes } from "../../src/cloud/canonical.js";
import { Dispatcher } from "../../src/cloud/dispatcher.js";
import { createCommandRegistry, type DesiredStateEffects, type HubFacts, type KeyCommands, type ProvisioningCommandHandlers } from "../../src/cloud/handlers/index.js";
import { defineHandler } from "../../src/cloud/registry.js";
import { Outbox } from "../../src/cloud/outbox.js";
import type { CommandRegistry } from "../../src/cloud/registry.js";
import type { CommandResponse } from "../../src/cloud/responses.js";
import { createLogger, type Logger } from "../../src/shared/logger.js";
import { systemClock, type ManualClock } from "../../src/shared/clock.js";
import { openStore, type Store } from "../../src/store/index.js";
import { tempStore } from "./store.js";
import { storeOnlyKeyCommands, storeStatusSource } from "./store-only-core.js";

export const silentLog = createLogger({ level: "silent" });

export interface CommandHarness {
  store: Store;
  clock: ManualClock;
  outbox: Outbox;
  registry: CommandRegistry;
  dispatcher: Dispatcher;
  /** Status changes reported after each command. */
  changed: { keys: Set<string>; locks: Set<string> };
  /** Sends a command object (id/ts filled in when absent); resolves with the response. */
  send(cmd: Record<string, unknown>): Promise<CommandResponse>;
  /** Sends raw bytes. */
  sendRaw(payload: string): Promise<{ response: CommandResponse; duplicate: boolean }>;
  cleanup(): void;
}

/**
 * The command layer's tests stop at the handler of a lock-fleet command: each answers ok with
 * `{reached: cmd}`, which shows the command passed validation, signature and expiry checks.
 */
export function reachedProbes(): ProvisioningCommandHandlers {
  const probe = <N extends keyof ProvisioningCommandHandlers>(name: N) => defineHandler(name, (_cmd, ctx) => ctx.commit(() => ({ result: { reached: name } })));
  return {
    "lock.commission": probe("lock.commission"),
    "lock.decommission": probe("lock.decommission"),
    "door.unlock": probe("door.unlock"),
    "doorcode.regenerate": probe("doorcode.regenerate"),
    "keycard.replace": probe("keycard.replace"),
    diagnose: probe("diagnose"),
    "firmware.update": probe("firmware.update"),
  };
}

export const NO_EFFECTS: DesiredStateEffects = {
  siteChanged: () => undefined,
  doorChanging: () => [],
  doorChanged: () => undefined,
  keycardsChanged: () => undefined,
  snapshotApplying: () => undefined,
  snapshotApplied: () => undefined,
};

let counter = 0;
export const nextId = (prefix = "c"): string => `${prefix}-${process.pid}-${++counter}`;

export function commandHarness(options: { commandKey?: KeyObject; maxEvents?: number; keys?: (store: Store, clock: ManualClock) => KeyCommands; log?: Logger } = {}): CommandHarness {
  const t = tempStore();
  const outbox = new Outbox(t.store, t.clock, silentLog, { maxEvents: options.maxEvents ?? 100_000 });
  const facts = (): HubFacts => ({ hubId: "hub-test", version: "0.0.0", bootId: "boot", sessionId: 1, connected: true, startedAt: new Date(t.clock.now()).toISOString() });
  const keys = options.keys?.(t.store, t.clock) ?? storeOnlyKeyCommands(t.store, t.clock);
  const registry = createCommandRegistry({ store: t.store, outbox, keys, facts, provisioning: { commands: reachedProbes(), effects: NO_EFFECTS } });
  const changed = { keys: new Set<string>(), locks: new Set<string>() };
  const dispatcher = new Dispatcher({
    store: t.store,
    registry,
    clock: t.clock,
    log: options.log ?? silentLog,
    emit: (e) => outbox.emit(e),
    commandKey: options.commandKey,
    onStatusChanges: (k, l) => {
      for (const id of k) changed.keys.add(id);
      for (const id of l) changed.locks.add(id);
    },
  });
  return {
    store: t.store,
    clock: t.clock,
    outbox,
    registry,
    dispatcher,
    changed,
    async send(cmd) {
      const full = { id: nextId(), ts: new Date(t.clock.now()).toISOString(), ...cmd };
      return (await dispatcher.dispatch(JSON.stringify(full))).response;
    },
    sendRaw: (payload) => dispatcher.dispatch(payload),
    cleanup: t.cleanup,
  };
}

/**
 * The cloud's command key of the integration tests, the same in every process (a hub child
 * process checks what the test signs): from a fixed seed, never a real key.
 */
export const TEST_CLOUD_KEY = (() => {
  const seed = Buffer.from("6c6f636b6272696467652074657374206b6579206f6e6c79202d206e6f742021", "hex");
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicPem: publicKey.export({ format: "pem", type: "spki" }).toString() };
})();

/** The cloud as the tests play it: signs every command with TEST_CLOUD_KEY unless told otherwise (signingKey: undefined). */
/**
 * Resolves once the hub's retained state says online. A hub logs "connected to the MQTT
 * broker" before it subscribes to its commands, and a command sent in between is lost; the
 * retained online state is published after the subscription.
 */
export async function waitForHubOnline(cloud: CloudClient, timeoutMs = 30_000): Promise<void> {
  let online = false;
  const stop = cloud.onMessage((m) => {
    if (m.topic === cloud.topics.state && (m.payload as { online?: boolean }).online === true) online = true;
  });
  try {
    await cloud.watch([cloud.topics.state]);
    for (const deadline = Date.now() + timeoutMs; !online; await new Promise((r) => setTimeout(r, 25))) {
      if (Date.now() > deadline) throw new Error("the hub never came online on the broker");
    }
  } finally {
    stop();
  }
}

export function connectCloud(options: CloudClientOptions): Promise<CloudClient> {
  return CloudClient.connect({ signingKey: TEST_CLOUD_KEY.privateKey, ...options });
}

/** An Ed25519 key pair standing in for the cloud's command key. */
export function cloudKeyPair(): { publicKey: KeyObject; privateKey: KeyObject; publicPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return { publicKey, privateKey, publicPem: publicKey.export({ format: "pem", type: "spki" }).toString() };
}

/** The command with `sig` over its canonical JSON. */
export function signCommand<T extends Record<string, unknown>>(cmd: T, privateKey: KeyObject): T & { sig: string } {
  return { ...cmd, sig: sign(null, signedBytes(cmd), privateKey).toString("base64") };
}

// ---------------------------------------------------------------- contract fixtures

export const site = (over: Record<string, unknown> = {}) => ({
  cmd: "site.configure",
  siteId: "site-1",
  timezone: "Europe/Prague",
  credentialTypes: { doorCode: true, keycard: true, smartKey: true },
  ...over,
});

export const door = (doorId: string, over: Record<string, unknown> = {}) => ({
  cmd: "door.upsert",
  doorId,
  name: `Door ${doorId}`,
  lockId: null,
  kind: "room",
  ...over,
});

export const keyUpsert = (keyId: string, version: number, over: Record<string, unknown> = {}) => ({
  cmd: "key.upsert",
  keyId,
  version,
  source: "manual",
  holder: { name: "Guest" },
  doors: [{ doorId: "room-101", accessPeriod: { from: "2026-12-01", to: "2026-12-04" }, arrivalTime: "15:00", departureTime: "10:00", allowProvisioning: true, allowLinkedDoorsAccess: false }],
  doorCode: { enabled: true, assignment: "random" },
  ...over,
});

// ---------------------------------------------------------------- the hub's cloud part, in process

export interface HubCloud {
  cloud: CloudSync;
  store: Store;
  file: string;
  stop(): Promise<void>;
}

/**
 * The hub's cloud sync on a real store file (system clock) against `url`. Without `file`,
 * the store lives in a temp dir that stop() removes, unless `keepFile` (to start again on it).
 */
export async function startHubCloud(options: Partial<CloudSyncOptions> & { url: string; file?: string; keepFile?: boolean }): Promise<HubCloud> {
  const ownDir = options.file === undefined && options.keepFile !== true ? fs.mkdtempSync(path.join(os.tmpdir(), "lockbridge-cloud-")) : undefined;
  const file = options.file ?? path.join(ownDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "lockbridge-cloud-")), "lockbridge.db");
  const store = openStore(file);
  const keys = storeOnlyKeyCommands(store, options.clock ?? systemClock);
  const cloud = new CloudSync({
    hubId: "hub-1",
    keys,
    statusSource: storeStatusSource(store, keys),
    provisioning: { commands: reachedProbes(), effects: NO_EFFECTS },
    topicPrefix: "lockbridge",
    protocolVersion: 5,
    maxEvents: 100_000,
    version: "0.0.0-test",
    log: silentLog,
    store,
    commandPublicKey: TEST_CLOUD_KEY.publicPem,
    connection: { backoff: { firstMs: 50, maxMs: 500, jitter: "full" }, publishTimeoutMs: 5000 },
    status: { debounceMs: 20, maxWaitMs: 200, concurrency: 16 },
    ...withoutHarnessOptions(options),
  });
  await cloud.start();
  return {
    cloud,
    store,
    file,
    async stop() {
      await cloud.stop();
      store.close();
      if (ownDir) fs.rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

function withoutHarnessOptions(options: Partial<CloudSyncOptions> & { url: string; file?: string; keepFile?: boolean }): Partial<CloudSyncOptions> & { url: string } {
  const { file: _file, keepFile: _keep, ...rest } = options;
  return rest;
}

/** Resolves once `pred` holds (polling), or rejects after timeoutMs. */
export async function eventually<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
