/**
 * The provisioning engine: keeps every commissioned lock's credential table equal to what
 * the desired state (site, doors, keys, keycards) asks for, and tells the cloud the truth
 * about every door (docs/provisioning.md).
 *
 * This is the composition root of its parts, each with one job and narrow ports:
 * - DesiredState (desired-state.ts): key lifecycles, each key's desired slot rows re-derived
 *   in the caller's transaction, the door code index, door and lock caches;
 * - LockFleet (fleet.ts): one LockWorker per lock in service, applying, verifying, repairing;
 * - LockReports (lock-reports.ts): what the workers report, recorded in the store;
 * - KeyAgendas (key-agendas.ts): window edges and key.at_risk checks on timers;
 * - StatusModel (status-model.ts): key and lock statuses derived on demand.
 * A change is told on the change bus, which the cloud's status publisher follows.
 *
 * The services around it (key-service, lock-service, handlers, firmware, diagnosis) are given
 * the few functions of these parts they use (see service.ts), never the engine itself.
 * Time only comes from the injected Clock.
 */
import type { EventSink } from "../cloud/events.js";
import type { StatusSink } from "../shared/change-bus.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import type { Store } from "../store/index.js";
import { DesiredState } from "./desired/desired-state.js";
import { LockFleet, type FleetOptions, type LockLinks } from "./reconcile/fleet.js";
import { outboxEmitter, type EmitEvents } from "./reconcile/hub-events.js";
import { HeldEvents } from "./reconcile/held-events.js";
import { KeyAgendas } from "./status/key-agendas.js";
import { LockReports } from "./status/lock-reports.js";
import { SecurityAlerts } from "./reconcile/security-alerts.js";
import { SlotIndex } from "./desired/slot-index.js";
import { StatusModel } from "./status/status-model.js";
import { StoreLockTables } from "./reconcile/store-adapter.js";

export type { LockLinkHandle, LockLinks } from "./reconcile/fleet.js";
/** The cloud's retained-status publisher: called on every change, it debounces. */
export type { StatusSink };
export type { DoorCodeUnavailable, LockStatusPayload } from "./status/status-model.js";

export interface EngineOptions extends FleetOptions {
  /** Delay before a key changed inside its at-risk horizon is judged (lets provisioning run first). */
  atRiskGraceMs?: number;
  /**
   * Group-commit window of the lock event pages drained from all locks (store-adapter.ts);
   * 0 or absent: each page commits on its own. The hub sets EVENT_COMMIT_WINDOW_MS.
   */
  eventCommitWindowMs?: number;
  /** Link error counters of a lock's bus (lock status `linkErrors`). */
  linkErrorsOf?: (lockId: string) => { timeouts: number; crcErrors: number; retries: number } | undefined;
}

export interface EngineDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  events: EventSink;
  status: StatusSink;
  links: LockLinks;
  options?: EngineOptions;
}

export class ProvisioningEngine {
  /** Desired slot rows, key lifecycles, door codes. */
  readonly desired: DesiredState;
  /** The lock workers. */
  readonly fleet: LockFleet;
  /** What the workers report, recorded (also commissioning's security alerts). */
  readonly reports: LockReports;
  /** Key and lock statuses, derived on demand. */
  readonly statuses: StatusModel;
  /** Hub events to the outbox (held in memory while the data disk is full: held-events.ts). */
  readonly emit: EmitEvents;
  private readonly held: HeldEvents;
  private readonly agendas: KeyAgendas;
  private readonly store: Store;
  private started = false;

  constructor(deps: EngineDeps) {
    const { store, clock, log, status } = deps;
    const options = deps.options ?? {};
    this.store = store;
    this.held = new HeldEvents(outboxEmitter(store, deps.events), clock, log);
    const emit: EmitEvents = (events) => this.held.emit(events);
    this.emit = emit;
    const index = new SlotIndex(store);
    const desired = new DesiredState({
      store,
      clock,
      index,
      derived: { wakeLock: (lockId) => this.fleet.wake(lockId), status, scheduleKey: (keyId) => this.agendas.schedule(keyId) },
    });
    const doorOf = (lockId: string): { doorId?: string } => {
      const d = store.doors.byLock(lockId)[0]?.doorId;
      return d === undefined ? {} : { doorId: d };
    };
    const alerts = new SecurityAlerts(store, () => clock.now(), (e) => emit([{ ...e }]), doorOf);
    this.reports = new LockReports({
      store,
      clock,
      log,
      status,
      alerts,
      online: (lockId) => this.fleet.online(lockId),
      setOnline: (lockId, online) => this.fleet.setOnline(lockId, online),
      lockRecord: (lockId) => desired.lockRecord(lockId),
      forgetLock: (lockId) => desired.forgetLock(lockId),
      emit,
      doorOf,
      resyncKeys: (keyIds) => desired.resyncKeys(keyIds),
      keysOnLock: (lockId) => desired.keysOnLock(lockId),
      scheduleKey: (keyId) => this.agendas.schedule(keyId),
    });
    const tables = new StoreLockTables(store, deps.events, index, clock, options.eventCommitWindowMs ?? 0);
    this.fleet = new LockFleet({
      store,
      tables,
      clock,
      log,
      links: deps.links,
      reports: this.reports,
      status,
      // Through the adapter: a table check's confirmed writes are recorded with the events
      // that this row decides (StoreLockTables.recordWith), after it is read.
      desiredRow: (lockId, kind, credentialId) => {
        const slot = store.slots.slotOf(lockId, kind, credentialId);
        return slot === undefined ? undefined : tables.slot(lockId, kind, slot);
      },
      scheduleKey: (keyId) => this.agendas.schedule(keyId),
      emit,
      options,
    });
    this.statuses = new StatusModel({
      store,
      clock,
      slotRows: (credentialId) => desired.slotRows(credentialId),
      alerts,
      doors: () => desired.doors(),
      lifecycleOf: (key) => desired.lifecycleOf(key),
      lockRecord: (lockId) => desired.lockRecord(lockId),
      slotCount: (lockId, kind) => desired.slotCount(lockId, kind),
      unplaced: () => desired.unplacedCredentials(),
      live: (lockId) => this.fleet.live(lockId),
      linkErrorsOf: options.linkErrorsOf,
    });
    this.agendas = new KeyAgendas({
      store,
      clock,
      log,
      doors: () => desired.doors(),
      keyStatus: (keyId) => this.statuses.keyStatus(keyId),
      resyncKeys: (keyIds) => desired.resyncKeys(keyIds),
      emit,
      atRiskGraceMs: options.atRiskGraceMs,
    });
    this.desired = desired;
  }

  /** Re-derives every key's desired rows, then brings every commissioned lock into service. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.desired.load();
    await this.fleet.start(this.store.locks.list());
  }

  async stop(): Promise<void> {
    this.started = false;
    this.agendas.stop();
    this.held.stop();
    await this.fleet.stop();
    this.reports.flushLastSeen();
  }

  /**
   * True when every lock in service has nothing queued (tests and benchmarks wait for it).
   * @internal
   */
  get idle(): boolean {
    return this.fleet.idle;
  }
}
