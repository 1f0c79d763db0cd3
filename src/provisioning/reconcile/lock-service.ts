/**
 * Locks entering and leaving service (lock.commission / lock.decommission).
 *
 * Commission: record the lock (state `commissioning`), IDENT unsealed (must show the lockId the
 * installer gave: a stranger is never accepted), pair unless the hub already holds the lock's
 * key (PAIR_KX with the setup key from the label for `kx` profiles, whose confirm proves the
 * lock is the one on the label; legacy PAIR for `plain` ones, with the lock in pairing mode),
 * SET_TIME, then `commissioned` and the worker starts: every
 * key reaching the lock's door is re-derived and provisioned. The lock's older event log is
 * skipped (events before the hub managed the lock are not the cloud's business).
 *
 * A lock that was `replaced` (IDENT showed another lockId) stays out of service until the
 * installer commissions the new lock (its own lockId) and points the door at it, or
 * re-commissions the old lockId once the original lock is back.
 */
import type { LockLink } from "../../access/model.js";
import type { IdentInfo } from "../../protocol/llp/commands.js";
import type { Store } from "../../store/index.js";
import { LockBridgeError, errorMessage, isLockBridgeError } from "../../shared/errors.js";
import type { Logger } from "../../shared/logger.js";
import { CREDENTIAL_TYPES, LLP_KIND } from "../../access/model.js";
import type { Clock } from "../../shared/clock.js";
import type { DesiredState } from "../desired/desired-state.js";
import type { FleetReports, LockFleet } from "./fleet.js";

/** What commissioning uses: links and workers of the fleet, the desired state's lock caches and re-derivation, security alerts, the time. */
export interface LockServicePorts {
  fleet: Pick<LockFleet, "openLock" | "closeLock" | "openLink">;
  desired: Pick<DesiredState, "forgetLock" | "keysOnLock" | "resyncKeys" | "doorsChanged" | "lockSlotsRewritten" | "lockRemoved">;
  reports: Pick<FleetReports, "securityAlert">;
  clock: Pick<Clock, "now">;
}
import { classifyLockError } from "./lock-errors.js";
import { checkAddressFree, replacedAtAddress, undoCommission } from "./commission-checks.js";
import { clearPairingLost } from "./pairing-lost.js";
import { clearReplacedBy } from "./replaced.js";
import { readRanges } from "./table-diff.js";
import { Capability } from "../../protocol/llp/constants.js";
import type { LockLinkPort } from "./ports.js";

export interface CommissionRequest {
  lockId: string;
  profileId: string;
  link: LockLink;
  /** 32 hex digits from the lock's label (LLP v1.1 §8); required for `kx` profiles. */
  setupKey?: string | undefined;
}

export class LockService {
  constructor(
    private readonly store: Pick<Store, "linkState" | "locks" | "slots" | "transaction" | "lockFacts">,
    private readonly ports: LockServicePorts,
    private readonly log: Logger,
    /** Throws unknown_profile for an id the hub does not know. */
    private readonly checkProfile: (profileId: string) => void,
  ) {}


  /**
   * Talks to the lock (before the command's commit): IDENT, PAIR, SET_TIME, STATUS.
   * @returns the IDENT; the caller then commits with `finishCommission`.
   */
  async commission(req: CommissionRequest): Promise<IdentInfo> {
    this.checkProfile(req.profileId);
    checkAddressFree(this.store, req.lockId, req.link);
    for (const old of replacedAtAddress(this.store, req.lockId, req.link)) await this.ports.fleet.closeLock(old);
    const existing = this.store.locks.get(req.lockId);
    if (existing?.state === "commissioned") await this.ports.fleet.closeLock(req.lockId);
    this.store.locks.upsert({ lockId: req.lockId, profileId: req.profileId, link: req.link });
    this.ports.desired.forgetLock(req.lockId);
    const record = this.store.locks.get(req.lockId)!;
    // Any failure from here on leaves the lock as it was (a new one is not kept).
    const undo = async () => {
      undoCommission(this.store, req.lockId, existing);
      this.ports.desired.forgetLock(req.lockId);
      if (existing?.state === "commissioned") await this.ports.fleet.openLock(existing).catch((err: unknown) => this.log.error({ lockId: req.lockId, err: errorMessage(err) }, "could not resume the lock"));
    };
    // A fresh session for commissioning; the worker opens its own afterwards.
    let handle;
    try {
      handle = await this.ports.fleet.openLink(record);
    } catch (e) {
      await undo();
      throw toCommandError(e, req.lockId);
    }
    let failed = false;
    try {
      // A link that cannot be opened fails now, naming the cause, instead of timing out.
      const failure = await handle.linkFailure?.();
      if (failure !== undefined) throw new LockBridgeError("lock_offline", failure, "link");
      // Unsealed: the lock may have lost the key the hub holds. Proof comes with pairing (or the sealed STATUS below).
      const ident = await handle.port.identHint();
      if (ident.lockId.toLowerCase() !== req.lockId.toLowerCase()) {
        throw new LockBridgeError("lock_rejected", `the lock at this link reports lockId ${ident.lockId.toLowerCase()}, not ${req.lockId}`, "lockId");
      }
      const setupKey = this.checkSetupKey(req, handle.port.pairing, ident);
      // The hub holds no key (a new lock), or the lock refuses ours (factory reset): pair.
      if (!handle.port.paired || !(await this.acceptsOurKey(handle.port))) {
        await this.pair(handle.port, req.lockId, setupKey);
      }
      await handle.port.setTime(Math.floor(this.ports.clock.now() / 1000));
      const status = await handle.port.status();
      this.store.transaction(() => {
        this.store.locks.setIdent(req.lockId, { ...ident });
        this.store.linkState.saveSetupKey(req.lockId, setupKey);
        this.store.locks.resetLastEventSeq(req.lockId, status.eventHead);
        this.store.locks.updateHealth(req.lockId, { online: true, lastSeen: this.ports.clock.now(), battery: status.battery, clockDriftS: 0 });
      });
      this.ports.desired.forgetLock(req.lockId);
      return ident;
    } catch (e) {
      failed = true;
      throw toCommandError(e, req.lockId);
    } finally {
      await handle.close();
      if (failed) await undo();
    }
  }

  /** Inside the command's transaction: in service. */
  finishCommission(lockId: string): void {
    this.store.locks.setState(lockId, "commissioned");
    clearReplacedBy(this.store, lockId);
    clearPairingLost(this.store, lockId);
    this.ports.desired.forgetLock(lockId);
    // Every slot row of the lock is unknown until verified (a recommissioned lock may hold anything).
    this.store.slots.resetApplied(lockId, "unknown");
    this.ports.desired.lockSlotsRewritten(lockId);
  }

  /** After the commit: start the worker and deliver every key that reaches the lock's doors. */
  async afterCommission(lockId: string): Promise<void> {
    this.ports.desired.doorsChanged();
    const record = this.store.locks.get(lockId);
    if (!record) return;
    await this.ports.fleet.openLock(record);
    this.ports.desired.resyncKeys(this.ports.desired.keysOnLock(lockId));
  }

  /**
   * Takes the lock out of service. With `wipe`, every credential on the lock is deleted first
   * (the lock must be reachable: lock_offline otherwise, nothing changed).
   */
  async decommission(lockId: string, wipe: boolean): Promise<void> {
    const record = this.store.locks.get(lockId);
    if (!record) throw new LockBridgeError("unknown_lock", `no lock ${lockId}`, "lockId");
    await this.ports.fleet.closeLock(lockId);
    if (!wipe) return;
    const handle = await this.ports.fleet.openLink(record);
    try {
      const ident = record.ident ?? (await handle.port.ident());
      for (const kind of CREDENTIAL_TYPES) {
        const count = kind === "doorCode" ? ident.codeSlots : kind === "keycard" ? ident.cardSlots : ident.mobileKeySlots;
        if (!count) continue;
        const digest = await handle.port.tableDigest(LLP_KIND[kind]);
        let left = digest.used;
        for (const range of readRanges(count)) {
          if (left <= 0) break;
          const used = await handle.port.readSlots(LLP_KIND[kind], range.first, range.count);
          for (const s of used) await handle.port.deleteCredential(LLP_KIND[kind], s.slot);
          left -= used.length;
        }
      }
    } catch (e) {
      // Back in service: the lock still holds what it held.
      await this.ports.fleet.openLock(record).catch((err: unknown) => this.log.error({ lockId, err: errorMessage(err) }, "could not resume the lock"));
      throw toCommandError(e, lockId);
    } finally {
      await handle.close();
    }
  }

  /** Inside the command's transaction: forget the lock and its slot table. */
  finishDecommission(lockId: string): string[] {
    const keys = [...this.ports.desired.keysOnLock(lockId)];
    this.store.locks.remove(lockId);
    clearReplacedBy(this.store, lockId);
    clearPairingLost(this.store, lockId);
    this.ports.desired.lockRemoved(lockId);
    return keys;
  }

  /** The setup key a `kx` lock needs, checked against what the lock offers; null for `plain`. */
  private checkSetupKey(req: CommissionRequest, pairing: "kx" | "plain", ident: IdentInfo): Buffer | null {
    if (pairing !== "kx") return null;
    if ((ident.capabilities & Capability.PAIR_KX) === 0) {
      throw new LockBridgeError("lock_rejected", `profile ${req.profileId} pairs with PAIR_KX but the lock at this link does not offer it (IDENT capability bit 7): check the profile, or a device other than the lock answers`, "profile");
    }
    if (req.setupKey === undefined) {
      throw new LockBridgeError("invalid_payload", `profile ${req.profileId} pairs with PAIR_KX: setupKey is required (32 hex digits from the lock's label)`, "setupKey");
    }
    return Buffer.from(req.setupKey, "hex");
  }

  private async pair(port: LockLinkPort, lockId: string, setupKey: Buffer | null): Promise<void> {
    try {
      if (setupKey) await port.pairKx(setupKey);
      else await port.pair();
    } catch (e) {
      if (isLockBridgeError(e, "lock_pairing_unconfirmed")) {
        this.ports.reports.securityAlert(lockId, "pairing_unconfirmed", "PAIR_KX confirm at commissioning did not prove the setup key");
        throw new LockBridgeError("lock_rejected", "the lock did not prove the setup key: check the 32 hex digits on the lock's label (or a device other than the lock answers at this link); nothing was sent under the new key", "setupKey");
      }
      const f = classifyLockError(e);
      if (f.kind === "nak") throw new LockBridgeError("lock_rejected", "the lock refused pairing: it holds another link key; press its pairing button and commission again", "lockId");
      throw e;
    }
  }

  private async acceptsOurKey(port: { status(): Promise<unknown> }): Promise<boolean> {
    try {
      await port.status();
      return true;
    } catch (e) {
      if (classifyLockError(e).kind === "not_paired" || isLockBridgeError(e, "lock_not_paired")) return false;
      throw e;
    }
  }
}

/** A lock failure as a contract error for the command's response. */
export function toCommandError(e: unknown, lockId: string): LockBridgeError {
  if (isLockBridgeError(e) && ["lock_rejected", "unknown_lock", "unknown_profile", "invalid_payload", "lock_offline"].includes(e.code)) return e;
  const f = classifyLockError(e);
  if (f.kind === "unreachable") return new LockBridgeError("lock_offline", `lock ${lockId} did not answer`, "lockId");
  if (f.kind === "nak") return new LockBridgeError("lock_rejected", `lock ${lockId} refused (${f.nak ?? "unknown"})`, "lockId");
  return new LockBridgeError("lock_rejected", `lock ${lockId}: ${errorMessage(e)}`, "lockId");
}
