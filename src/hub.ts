/**
 * The composition root: builds the hub's services from the config and runs their lifecycle.
 * Services start in order and stop in reverse, so a service can rely on everything added
 * before it (the store before the cloud connection, the broker before its clients).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startEmbeddedBroker, type EmbeddedBroker } from "./cloud/embedded-broker.js";
import { checkCloudSecurity, cloudSyncFromConfig, ensureDemoKeyPair, Outbox, SIGNING_KEY_ENV, type CloudSync } from "./cloud/index.js";
import { packageRoot, type Config } from "./config/index.js";
import { createApiService } from "./api/service.js";
import type { HubView } from "./api/hub-view.js";
import { createProvisioningService, type CloudPorts, type ProvisioningService } from "./provisioning/service.js";
import { ChangeBus } from "./shared/change-bus.js";
import { systemClock } from "./shared/clock.js";
import { demoPropertyServices } from "./demo/demo-property.js";
import { isLockBridgeError, LockBridgeError } from "./shared/errors.js";
import type { Logger } from "./shared/logger.js";
import { acquireDataDir, backupStoreFile, openStore, type DataDirLease, type Store } from "./store/index.js";

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface HubOptions {
  /** Also run the simulated demo property (`lockbridge run --demo`, `npm start`). */
  demo?: boolean;
}

export class Hub {
  /** In start order. Add services with use() before start(). */
  readonly services: Service[] = [];
  /** The broker the hub's clients connect to; final once the broker service has started. */
  brokerUrl: string | undefined;
  private running: Service[] = [];
  private allStarted = false;
  private stopRequested = false;
  private openedStore: Store | undefined;
  private cloudSync: CloudSync | undefined;
  private eventOutbox: Outbox | undefined;
  /** Stored key/lock changes, from the provisioning side to the cloud's status publisher. */
  readonly changes = new ChangeBus();
  /** The provisioning side's ports, once it started (the cloud sync is built with them). */
  cloudPorts: (() => CloudPorts) | undefined;

  constructor(
    readonly config: Config,
    readonly log: Logger,
  ) {
    this.brokerUrl = config.mqtt.url;
  }

  /** The hub's store, for the services after the store service (throws before it started). */
  get store(): Store {
    if (this.openedStore === undefined || this.openedStore.closed) {
      throw new LockBridgeError("internal", "the store is not open: a service used it before the store service started or after it stopped");
    }
    return this.openedStore;
  }

  set store(store: Store | undefined) {
    this.openedStore = store;
  }

  /** The open store, or undefined (no throw): for health checks and read models. */
  get openStoreOrUndefined(): Store | undefined {
    return this.openedStore === undefined || this.openedStore.closed ? undefined : this.openedStore;
  }

  /** The cloud sync if it was built (never builds it). */
  get cloudIfBuilt(): CloudSync | undefined {
    return this.cloudSync;
  }

  /** Every service started and the hub is not stopping. */
  get ready(): boolean {
    return this.allStarted && !this.stopRequested;
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  /** A stop signal came during start: a service waiting at start gives up (then stop() runs). */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** The event outbox, built on first use once the store service started. */
  get outbox(): Outbox {
    this.eventOutbox ??= new Outbox(this.store, systemClock, this.log.child({ module: "cloud", part: "outbox" }), { maxEvents: this.config.outbox.maxEvents });
    return this.eventOutbox;
  }

  /**
   * The cloud sync (MQTT contract), built by the cloud service once the store, the broker and
   * the provisioning service started, with what provisioning gives it (cloudPorts): no
   * command is handled before the hub's whole meaning is in.
   */
  get cloud(): CloudSync {
    if (this.cloudSync) return this.cloudSync;
    if (!this.cloudPorts) throw new LockBridgeError("internal", "the cloud sync is built after the provisioning service started");
    this.cloudSync = cloudSyncFromConfig(this.config, {
      store: this.store,
      log: this.log,
      brokerUrl: this.brokerUrl ?? this.config.mqtt.url ?? "",
      version: hubVersion(),
      clock: systemClock,
      outbox: this.outbox,
      changes: this.changes,
      ...this.cloudPorts(),
    });
    return this.cloudSync;
  }

  use(service: Service): this {
    this.services.push(service);
    return this;
  }

  /** Starts every service in order; on a failure stops the started ones and rethrows. */
  async start(): Promise<void> {
    for (const service of this.services) {
      this.log.debug({ service: service.name }, "starting service");
      try {
        await service.start();
      } catch (e) {
        this.log.error({ service: service.name, err: e }, "service failed to start");
        await this.stop().catch(() => undefined); // already logged per service
        throw e;
      }
      this.running.push(service);
    }
    this.allStarted = true;
  }

  /** Stops the running services in reverse order; every one is asked even if another fails. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    const failures: unknown[] = [];
    for (const service of this.running.reverse()) {
      try {
        await service.stop();
        this.log.debug({ service: service.name }, "service stopped");
      } catch (e) {
        failures.push(e);
        this.log.error({ service: service.name, err: e }, "service failed to stop");
      }
    }
    this.running = [];
    if (failures.length > 0) throw new AggregateError(failures, "some services failed to stop");
  }
}

/** Where `lockbridge sim demo` serves its BLE proxy (sim/properties/demo.yaml). */
export const DEMO_BLE_PROXY = { host: "127.0.0.1", port: 4010 } as const;

/** The hub with its standard services. Later issues add theirs here, in dependency order. */
export function createHub(config: Config, log: Logger, options: HubOptions = {}): Hub {
  // The demo property's BLE locks sit behind the simulator's BLE proxy on its fixed port.
  if (options.demo && config.ble.proxy === undefined) config = { ...config, ble: { ...config.ble, proxy: DEMO_BLE_PROXY } };
  // The demo checks signatures like a real hub: its own key pair, its simulated cloud signs.
  let demoSigningKeyFile: string | undefined;
  if (options.demo && config.cloud.commandPublicKey === undefined) {
    const pair = ensureDemoKeyPair(demoDataDir(config));
    demoSigningKeyFile = pair.privateKeyFile;
    config = { ...config, cloud: { ...config.cloud, commandPublicKey: pair.publicKeyPem } };
    log.info({ signingKeyFile: pair.privateKeyFile }, `demo: commands are checked against the demo's own cloud key; tools sign with ${SIGNING_KEY_ENV}=${pair.privateKeyFile}`);
  }
  const hub = new Hub(config, log);
  hub.use(securityPreflight(config));
  hub.use(storeService(hub, log));
  if (config.mqtt.url === undefined) hub.use(embeddedBrokerService(hub, log.child({ module: "broker" })));
  const demo = options.demo
    ? demoPropertyServices({ brokerUrl: () => hub.brokerUrl, hubId: config.hubId, simDataDir: demoDataDir(config), signingKeyFile: demoSigningKeyFile }, log.child({ module: "demo" }))
    : undefined;
  // Stopped after everything that talks to the demo's locks (services stop in reverse).
  if (demo) hub.use(demo.stopper);
  const provisioning = createProvisioningService({
      store: () => hub.store,
      events: () => hub.outbox,
      changes: hub.changes,
      profilesDir: config.profilesDir,
      clock: systemClock,
      log,
      ble: config.ble,
      firmware: { blePerAdapter: config.firmware.bleTransfersPerAdapter, allowHttp: config.firmware.allowHttp },
  });
  hub.use(provisioning);
  hub.cloudPorts = () => provisioning.cloudPorts();
  hub.use(cloudSyncService(hub));
  if (config.api.enabled) hub.use(createApiService(hubView(hub, provisioning), log.child({ module: "api" })));
  if (demo) hub.use(demo.starter);
  return hub;
}

/** The demo property's own data (simulator state, the demo's cloud key). */
export function demoDataDir(config: Config): string {
  return join(config.dataDir, "demo");
}

/**
 * Refuses, before anything starts, what must not run (no command key on a real broker);
 * the cloud sync logs the warnings when it starts.
 */
function securityPreflight(config: Config): Service {
  return {
    name: "security-preflight",
    start: async () => {
      checkCloudSecurity({
        url: config.mqtt.url ?? "mqtt://127.0.0.1",
        embeddedBroker: config.mqtt.url === undefined,
        hasCommandKey: config.cloud.commandPublicKey !== undefined,
        allowUnsignedCommands: config.cloud.allowUnsignedCommands,
        password: config.mqtt.password,
        rejectUnauthorized: config.mqtt.tls?.rejectUnauthorized,
      });
    },
    stop: async () => undefined,
  };
}

/** Connects to the broker and serves the MQTT contract; stops first (no command after it). */
function cloudSyncService(hub: Hub): Service {
  return {
    name: "cloud-sync",
    start: () => hub.cloud.start(),
    stop: () => hub.cloud.stop(),
  };
}

/** What the local API reads of this hub. */
function hubView(hub: Hub, provisioning: ProvisioningService): HubView {
  return {
    config: hub.config,
    version: hubVersion(),
    ready: () => hub.ready,
    stopping: () => hub.stopping,
    store: () => hub.openStoreOrUndefined,
    cloud: () => hub.cloudIfBuilt,
    statuses: () => provisioning.engine?.statuses,
    linkStats: () => provisioning.linkStats(),
    bleRadio: () => provisioning.bleRadio(),
    backup: (file) => backupStoreFile(hub.store.path, file),
  };
}

export function hubVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** Takes the data dir (one hub per data dir) and opens the store in it, migrating as needed. */
function storeService(hub: Hub, log: Logger): Service {
  let lease: DataDirLease | undefined;
  return {
    name: "store",
    async start() {
      lease = acquireDataDir(hub.config.dataDir);
      try {
        hub.store = await openStoreWhenThereIsRoom(hub, lease.storePath, log);
      } catch (e) {
        lease.release();
        lease = undefined;
        throw e;
      }
    },
    async stop() {
      try {
        hub.store.close();
      } finally {
        hub.store = undefined;
        lease?.release();
        lease = undefined;
      }
    },
  };
}

/**
 * How long a hub started on a full data disk waits for room before it exits (under systemd's
 * TimeoutStartSec of 90 s). Waiting instead of exiting at once keeps systemd restarting it:
 * its start limit (10 starts in 300 s at RestartSec=5) would give up on a disk full for a minute.
 */
const STORE_ROOM_WAIT_MS = 60_000;
const STORE_ROOM_RETRY_MS = 2_000;

async function openStoreWhenThereIsRoom(hub: Hub, path: string, log: Logger): Promise<Store> {
  const deadline = Date.now() + STORE_ROOM_WAIT_MS;
  for (let told = false; ; ) {
    try {
      const store = openStore(path, { logger: log, clock: systemClock });
      if (told) log.info({ path }, "data disk has room again: store open");
      return store;
    } catch (e) {
      if (!isLockBridgeError(e, "store_disk_full") || hub.stopping || Date.now() >= deadline) throw e;
      if (!told) log.error({ err: e }, "data disk full: the store cannot be opened until there is room; waiting (free space on the data disk)");
      told = true;
      await new Promise((r) => setTimeout(r, STORE_ROOM_RETRY_MS));
    }
  }
}

function embeddedBrokerService(hub: Hub, log: Logger): Service {
  let broker: EmbeddedBroker | undefined;
  return {
    name: "embedded-broker",
    async start() {
      broker = await startEmbeddedBroker(hub.config.mqtt.embedded.port, log);
      hub.brokerUrl = broker.url;
      log.info({ url: broker.url }, "embedded MQTT broker listening (no mqtt.url configured)");
    },
    async stop() {
      await broker?.close();
      broker = undefined;
    },
  };
}
