/**
 * The services around the engine, each given the few functions of the engine's parts it uses:
 * key semantics (KeyService), commissioning (LockService), the firmware bridge, diagnosis, the
 * lock-fleet command handlers and the desired-state effects of the plain store commands. The
 * hub (service.ts) and the property harness (test/helpers/property.ts) wire them the same way.
 */
import type { DesiredStateEffects, ProvisioningCommandHandlers } from "../cloud/handlers/index.js";
import type { RandomSource } from "../access/codes.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import type { Store } from "../store/index.js";
import { diagnose, type LinkErrorsOf } from "./status/diagnosis.js";
import type { ProvisioningEngine } from "./engine.js";
import { createFirmwareService, type FirmwareService, type FirmwareWiring } from "./reconcile/firmware.js";
import { desiredStateEffects } from "./desired/desired-effects.js";
import { provisioningCommandHandlers } from "./commands/handlers.js";
import { KeyService } from "./desired/key-service.js";
import { LockService } from "./reconcile/lock-service.js";

export interface ProvisioningWiring {
  store: Store;
  engine: ProvisioningEngine;
  clock: Clock;
  log: Logger;
  random: RandomSource;
  /** Throws unknown_profile for an id the hub does not know. */
  checkProfile(profileId: string): void;
  /** The lock status republisher (the cloud's status sink). */
  lockChanged(lockId: string): void;
  firmware?: Pick<FirmwareWiring, "profileModel" | "fetchImage" | "imageDir" | "timing" | "blePerAdapter" | "allowHttp">;
  linkErrorsOf?: LinkErrorsOf;
}

export interface ProvisioningParts {
  keys: KeyService;
  locks: LockService;
  firmware: FirmwareService;
  commands: ProvisioningCommandHandlers;
  effects: DesiredStateEffects;
}

export function wireProvisioning(w: ProvisioningWiring): ProvisioningParts {
  const { store, engine, clock, log } = w;
  const { desired, fleet, statuses } = engine;
  const keys = new KeyService(store, { desired, statuses, clock }, { random: w.random });
  const locks = new LockService(store, { fleet, desired, reports: engine.reports, clock }, log, w.checkProfile);
  const firmware = createFirmwareService({
    ...w.firmware,
    fleet,
    lockRecord: (lockId) => desired.lockRecord(lockId),
    emit: engine.emit,
    store,
    log,
    clock,
    lockChanged: w.lockChanged,
  });
  const commands = provisioningCommandHandlers({
    fleet,
    desired,
    keys,
    locks,
    firmware,
    diagnose: (target) => diagnose(store, { desired, statuses, clock }, target, w.linkErrorsOf),
  });
  return { keys, locks, firmware, commands, effects: desiredStateEffects(store, desired) };
}
