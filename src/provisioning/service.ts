/**
 * The provisioning engine as a hub service: built from the store, the event outbox, the
 * change bus and the lock layer. It starts before the cloud sync, which is then built with
 * what this service gives it (cloudPorts()): key semantics, statuses, the lock-fleet command
 * handlers and the desired-state effects. Data flows one way: commands write the desired
 * state, the engine reconciles locks, the bus tells the status publisher.
 */
import { randomInt } from "node:crypto";
import type { DesiredStateEffects, EventSink, KeyCommands, ProvisioningCommandHandlers, StatusSource } from "../cloud/index.js";
import type { ChangeBus } from "../shared/change-bus.js";
import { LockLinks, type LinkStats } from "../lock/index.js";
import { loadProfiles } from "../profiles/index.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import type { Store } from "../store/index.js";
import type { BleCentral } from "../transport/ble/central.js";
import type { BleRadio } from "../transport/ble/radio.js";
import type { TransportStatus } from "../transport/types.js";
import { createNobleCentral } from "../transport/ble/noble-central.js";
import { ProxyCentral } from "../transport/ble/proxy-central.js";
import { ProvisioningEngine, type EngineOptions, type LockStatusPayload } from "./engine.js";
import type { FirmwareLockView } from "../firmware/service.js";
import type { FirmwareService } from "./reconcile/firmware.js";
import { engineLockLinks } from "./reconcile/lock-links.js";
import { StoreLinkState } from "./reconcile/link-state.js";
import { EVENT_COMMIT_WINDOW_MS } from "./reconcile/store-adapter.js";
import { wireProvisioning } from "./wiring.js";

export interface ProvisioningServiceDeps {
  store: () => Store;
  /** The event outbox (the cloud sync sends from it). */
  events: () => EventSink;
  /** Stored key/lock changes are told here (the cloud's status publisher listens). */
  changes: ChangeBus;
  profilesDir: string;
  clock: Clock;
  log: Logger;
  /** BLE through the hub's adapter (noble), or a BLE proxy over TCP when `proxy` is set. */
  ble: { enabled: boolean; maxConnections: number; proxy?: { host: string; port: number } | undefined };
  engine?: EngineOptions;
  /** Firmware updates: concurrent transfers per BLE adapter (default 1). */
  firmware?: { blePerAdapter?: number | undefined; allowHttp?: boolean | undefined };
}

export interface ProvisioningService {
  readonly name: "provisioning";
  readonly engine: ProvisioningEngine | undefined;
  /** The lock links' transports with their byte counters (status.get, benchmarks). */
  transports(): TransportStatus[];
  /** Per bus: transport state and error counters (local API, /metrics). */
  linkStats(): LinkStats[];
  /** What the cloud sync is built with; throws before start(). */
  cloudPorts(): CloudPorts;
  /** The radio the BLE locks share (a console BLE scan uses it); undefined while stopped. */
  bleRadio(): BleRadio | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface CloudPorts {
  keys: KeyCommands;
  statusSource: StatusSource;
  provisioning: { commands: ProvisioningCommandHandlers; effects: DesiredStateEffects };
}

export function createProvisioningService(deps: ProvisioningServiceDeps): ProvisioningService {
  let engine: ProvisioningEngine | undefined;
  let links: LockLinks | undefined;
  let linkState: StoreLinkState | undefined;
  let firmware: FirmwareService | undefined;
  let ports: CloudPorts | undefined;
  const log = deps.log.child({ module: "provisioning" });
  return {
    name: "provisioning",
    get engine() {
      return engine;
    },
    transports: () => links?.transports() ?? [],
    linkStats: () => links?.linkStats() ?? [],
    cloudPorts() {
      if (!ports) throw new Error("the provisioning service gives its cloud ports once started");
      return ports;
    },
    bleRadio: () => links?.bleRadio(),
    async start() {
      const store = deps.store();
      const profiles = loadProfiles(deps.profilesDir);
      let bleCentral: Promise<BleCentral> | undefined;
      if (deps.ble.enabled && deps.ble.proxy) {
        bleCentral = Promise.resolve(new ProxyCentral({ host: deps.ble.proxy.host, port: deps.ble.proxy.port, logger: log }));
      } else if (deps.ble.enabled) {
        bleCentral = createNobleCentral({ logger: log });
        // Failures surface as ble_unavailable on BLE locks; never as an unhandled rejection.
        bleCentral.catch(() => undefined);
      }
      linkState = new StoreLinkState(store);
      links = new LockLinks({ profiles, linkState, logger: log, clock: deps.clock, bleCentral, bleMaxConnections: deps.ble.maxConnections });
      const linkErrorsOf = (lockId: string) => busErrorsOf(links?.linkStats() ?? [], lockId);
      engine = new ProvisioningEngine({ store, clock: deps.clock, log, events: deps.events(), status: deps.changes, links: engineLockLinks(links), options: { linkErrorsOf, eventCommitWindowMs: EVENT_COMMIT_WINDOW_MS, ...deps.engine } });
      const parts = wireProvisioning({
        store,
        engine,
        clock: deps.clock,
        log,
        random: { int: (n) => randomInt(n) },
        checkProfile: (id) => void profiles.get(id),
        lockChanged: (id) => deps.changes.lockChanged(id),
        firmware: { profileModel: (id) => (profiles.has(id) ? profiles.get(id).model : null), blePerAdapter: deps.firmware?.blePerAdapter, allowHttp: deps.firmware?.allowHttp ?? false },
        linkErrorsOf,
      });
      firmware = parts.firmware;
      const statuses = engine.statuses;
      const fw = firmware;
      ports = {
        keys: parts.keys,
        statusSource: {
          keyStatus: (keyId) => statuses.keyStatus(keyId),
          // mqtt-api.md v1.1 §4: the lock status names its doors, link and state.
          lockStatus: (lockId) => withFirmwareUpdate(statuses.lockStatus(lockId), fw.lockView(lockId)),
          keyIds: () => store.keys.ids({ includeRemoved: true }),
          lockIds: () => store.locks.list().map((l) => l.lockId),
          batch: (fn) => statuses.batch(fn),
        },
        provisioning: { commands: parts.commands, effects: parts.effects },
      };
      await engine.start();
      // Jobs a stopped (or killed) hub left unfinished go on where each lock was.
      firmware.resume();
      log.info({ locks: engine.fleet.lockIds().length, profiles: profiles.list().length }, "provisioning engine started");
    },
    async stop() {
      // Firmware jobs stop where they are (kept in the store, resumed at the next start).
      const stopping = firmware?.stop();
      await engine?.stop();
      await stopping;
      await links?.close();
      linkState?.close(); // the lock counters accepted since the last commit
      engine = undefined;
      links = undefined;
      linkState = undefined;
    },
  };
}

/** The lock status with the lock's firmware update while a job runs for it (an extension, docs/mqtt-api.md). */
function withFirmwareUpdate(status: LockStatusPayload | null, update: FirmwareLockView | undefined): LockStatusPayload | null {
  if (!status || !update) return status;
  const out: LockStatusPayload & { firmwareUpdate: FirmwareLockView } = { ...status, firmwareUpdate: update };
  return out;
}

/** The error counters of the bus a lock hangs on (shared by every lock of that bus). */
function busErrorsOf(stats: readonly LinkStats[], lockId: string): { timeouts: number; crcErrors: number; retries: number } | undefined {
  const bus = stats.find((l) => l.locks.includes(lockId.toLowerCase()));
  return bus ? { timeouts: bus.timeouts, crcErrors: bus.crcErrors, retries: bus.retries } : undefined;
}
