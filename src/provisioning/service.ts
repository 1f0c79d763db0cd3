/**
 * The provisioning engine as a hub service: built from the store, the cloud sync (events,
 * statuses, command registry) and the lock layer, plugged into the cloud BEFORE it connects
 * (so no command is handled by the store-only stand-ins once the hub runs).
 */
import { randomInt } from "node:crypto";
import type { CloudSync } from "../cloud/index.js";
import { LockLinks, type LinkStats } from "../lock/index.js";
import { loadProfiles } from "../profiles/index.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import type { Store } from "../store/index.js";
import type { BleCentral } from "../transport/ble/central.js";
import type { TransportStatus } from "../transport/types.js";
import { createNobleCentral } from "../transport/ble/noble-central.js";
import { ProxyCentral } from "../transport/ble/proxy-central.js";
import { diagnose } from "./diagnosis.js";
import { ProvisioningEngine, type EngineOptions, type LockStatusPayload } from "./engine.js";
import type { FirmwareLockView } from "../firmware/service.js";
import { createFirmwareService, type FirmwareService } from "./firmware.js";
import { registerProvisioningHandlers } from "./handlers.js";
import { KeyService } from "./key-service.js";
import { engineLockLinks } from "./lock-links.js";
import { StoreLinkState } from "./link-state.js";
import { LockService } from "./lock-service.js";

export interface ProvisioningServiceDeps {
  store: () => Store;
  cloud: () => CloudSync;
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
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createProvisioningService(deps: ProvisioningServiceDeps): ProvisioningService {
  let engine: ProvisioningEngine | undefined;
  let links: LockLinks | undefined;
  let linkState: StoreLinkState | undefined;
  let firmware: FirmwareService | undefined;
  const log = deps.log.child({ module: "provisioning" });
  return {
    name: "provisioning",
    get engine() {
      return engine;
    },
    transports: () => links?.transports() ?? [],
    linkStats: () => links?.linkStats() ?? [],
    async start() {
      const store = deps.store();
      const cloud = deps.cloud();
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
      engine = new ProvisioningEngine({ store, clock: deps.clock, log, events: cloud.events, status: cloud.status, links: engineLockLinks(links), options: { linkErrorsOf: (lockId) => busErrorsOf(links?.linkStats() ?? [], lockId), ...deps.engine } });
      const keys = new KeyService(engine, { random: { int: (n) => randomInt(n) } });
      const locks = new LockService(engine, log, (id) => void profiles.get(id));
      firmware = createFirmwareService({ engine, store, log, clock: deps.clock, lockChanged: (id) => cloud.status.lockChanged(id), profileModel: (id) => (profiles.has(id) ? profiles.get(id).model : null), blePerAdapter: deps.firmware?.blePerAdapter, allowHttp: deps.firmware?.allowHttp ?? false });
      const e = engine;
      const fw = firmware;
      cloud.useKeyCommands(keys);
      cloud.useStatusSource({
        keyStatus: (keyId) => e.keyStatus(keyId),
        // mqtt-api.md v1.1 §4: the lock status names its doors, link and state.
        lockStatus: (lockId) => withFirmwareUpdate(e.lockStatus(lockId), fw.lockView(lockId)),
        keyIds: () => store.keys.ids({ includeRemoved: true }),
        lockIds: () => store.locks.list().map((l) => l.lockId),
      });
      registerProvisioningHandlers(cloud.registry, { engine, keys, locks, firmware, diagnose: (t) => diagnose(e, t, (lockId) => busErrorsOf(links?.linkStats() ?? [], lockId)) });
      await engine.start();
      // Jobs a stopped (or killed) hub left unfinished go on where each lock was.
      firmware.resume();
      log.info({ locks: engine.lockIds().length, profiles: profiles.list().length }, "provisioning engine started");
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
