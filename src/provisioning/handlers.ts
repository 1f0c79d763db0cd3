/**
 * The contract commands whose effect is the engine's (given to the cloud sync when it is
 * built), and the engine's effects of the plain store commands (a door, the site or a card
 * changed: the keys concerned are re-derived in the same transaction).
 *
 * Lock I/O happens before ctx.commit (outside any transaction); the commit stores the effect
 * with the response, and the broker's PUBACK follows it.
 */
import type { KeyStatus } from "../access/model.js";
import { keyContext } from "../cloud/handlers/desired-state.js";
import type { DesiredStateEffects, ProvisioningCommandHandlers } from "../cloud/handlers/index.js";
import { defineHandler, type HandlerOutcome } from "../cloud/registry.js";
import type { Finding } from "../diagnosis/index.js";
import type { IdentInfo } from "../protocol/llp/commands.js";
import { LockBridgeError } from "../shared/errors.js";
import type { DesiredState } from "./desired-state.js";
import type { FirmwareService } from "./firmware.js";
import type { LockFleet } from "./fleet.js";
import type { KeyService } from "./key-service.js";
import type { LockService } from "./lock-service.js";
import type { Store } from "../store/index.js";

/** Door unlock without expiresAt expires this long after its ts (mqtt-api.md §3). */
const UNLOCK_EXPIRY_MS = 30_000;

export interface ProvisioningHandlersDeps {
  fleet: Pick<LockFleet, "has" | "unlock">;
  desired: Pick<DesiredState, "resyncKeys">;
  keys: Pick<KeyService, "regenerateCode" | "replaceKeycard">;
  locks: Pick<LockService, "commission" | "finishCommission" | "afterCommission" | "decommission" | "finishDecommission">;
  firmware: Pick<FirmwareService, "start">;
  /** Explains a key or a door (src/diagnosis); throws unknown_key / unknown_door. */
  diagnose(target: { keyId: string } | { doorId: string }): Finding[];
}

export function identPayload(ident: IdentInfo): Record<string, unknown> {
  return {
    lockId: ident.lockId.toLowerCase(),
    protocolVersion: ident.protocolVersion,
    model: ident.model,
    firmware: ident.firmware,
    capabilities: ident.capabilities,
    slots: { doorCode: ident.codeSlots, keycard: ident.cardSlots, smartKey: ident.mobileKeySlots },
    code: { minLength: ident.codeMinLen, maxLength: ident.codeMaxLen },
  };
}

const keyOutcome = (o: { status: KeyStatus; warnings: string[] }): HandlerOutcome => ({ result: o.status, warnings: o.warnings });

export function provisioningCommandHandlers(deps: ProvisioningHandlersDeps): ProvisioningCommandHandlers {
  const { fleet, desired, keys, locks, firmware } = deps;
  return {
    "lock.commission": defineHandler(
      "lock.commission",
      async (cmd, ctx) => {
        const ident = await locks.commission({ lockId: cmd.lockId, profileId: cmd.profile, link: cmd.link, setupKey: cmd.setupKey });
        const outcome = ctx.commit(() => {
          locks.finishCommission(cmd.lockId);
          ctx.lockChanged(cmd.lockId);
          return { result: { ident: identPayload(ident) } };
        });
        await locks.afterCommission(cmd.lockId);
        return outcome;
      },
      { timeoutMs: 60_000 },
    ),

    "lock.decommission": defineHandler(
      "lock.decommission",
      async (cmd, ctx) => {
        await locks.decommission(cmd.lockId, cmd.wipe);
        let touched: string[] = [];
        const outcome = ctx.commit(() => {
          touched = locks.finishDecommission(cmd.lockId);
          ctx.lockChanged(cmd.lockId);
          desired.resyncKeys(touched);
          for (const k of touched) ctx.keyChanged(k);
          return { result: {} };
        });
        return outcome;
      },
      { timeoutMs: 120_000 },
    ),

    "door.unlock": defineHandler(
      "door.unlock",
      async (cmd, ctx) => {
        const deadline = cmd.expiresAt !== undefined ? Date.parse(cmd.expiresAt) : ctx.meta.ts + UNLOCK_EXPIRY_MS;
        // The signal cancels the queued unlock when the command's budget runs out: a door
        // must not open after the cloud was told the unlock failed.
        await fleet.unlock(cmd.doorId, cmd.seconds, deadline, ctx.signal);
        return ctx.commit(() => ({ result: {} }));
      },
      // An unlock already on the link when the budget runs out finishes within the link's
      // own timeouts; the answer then says whether the door opened.
      { cancelGraceMs: 10_000 },
    ),

    "doorcode.regenerate": defineHandler("doorcode.regenerate", (cmd, ctx) =>
      ctx.commit(() => keyOutcome(keys.regenerateCode(cmd.keyId, cmd.assignment, cmd.code, keyContext(ctx, "command")))),
    ),

    "keycard.replace": defineHandler("keycard.replace", (cmd, ctx) => ctx.commit(() => keyOutcome(keys.replaceKeycard(cmd.keyId, cmd.cardId, keyContext(ctx, "command"))))),

    "firmware.update": defineHandler("firmware.update", (cmd, ctx) =>
      // The job and its locks are stored in the command's transaction: a hub killed after the
      // response resumes it at its next start (docs/firmware.md).
      ctx.commit(() => {
        const known = cmd.lockIds.filter((id) => fleet.has(id));
        if (known.length === 0) throw new LockBridgeError("unknown_lock", "none of the locks is commissioned and in service", "lockIds");
        const { accepted } = firmware.start({ jobId: cmd.jobId, lockIds: known, version: cmd.version, url: cmd.url, sha256: cmd.sha256, size: cmd.size, model: cmd.model, maxOfflineS: cmd.maxOfflineS });
        return { result: { accepted }, warnings: cmd.lockIds.filter((id) => !accepted.includes(id)).map((id) => `lock ${id} is not in service: skipped`) };
      }),
    ),

    diagnose: defineHandler("diagnose", (cmd, ctx) =>
      ctx.commit(() => ({ result: { findings: deps.diagnose(cmd.keyId !== undefined ? { keyId: cmd.keyId } : { doorId: cmd.doorId! }) } })),
    ),
  };
}

/**
 * What a desired-state change means for the derived slot rows, inside the command's transaction: the
 * keys concerned are re-derived (and their lock workers woken) with the command's own writes.
 */
export function desiredStateEffects(
  store: Pick<Store, "keys" | "doors" | "keycards">,
  desired: Pick<DesiredState, "doorsChanged" | "resyncKeys" | "keysOnLock" | "keysReachingDoors" | "indexKeyCode" | "resyncMark" | "resyncKeysNotSince">,
): DesiredStateEffects {
  // Keys the snapshot applied were re-derived one by one: afterwards only the others are.
  let snapshotMark = 0;
  return {
    siteChanged() {
      desired.doorsChanged();
      desired.resyncKeys(store.keys.ids());
    },
    doorChanging(doorId) {
      // Keys of the door's lock now: the door may move to another lock, or go away.
      const lockId = store.doors.get(doorId)?.lockId;
      return lockId ? [...desired.keysOnLock(lockId)] : [];
    },
    doorChanged(doorId, keysBefore) {
      desired.doorsChanged();
      const affected = desired.keysReachingDoors([doorId]);
      for (const k of affected) desired.indexKeyCode(k);
      desired.resyncKeys(affected);
      desired.resyncKeys(keysBefore);
    },
    keycardsChanged(cardIds) {
      const holders = cardIds.map((id) => store.keycards.get(id)?.assignedKeyId).filter((k): k is string => typeof k === "string");
      desired.resyncKeys(holders);
    },
    snapshotApplying() {
      // Doors change inside the snapshot before its keys are applied.
      desired.doorsChanged();
      snapshotMark = desired.resyncMark();
    },
    snapshotApplied() {
      desired.doorsChanged();
      desired.resyncKeysNotSince(snapshotMark, store.keys.ids({ includeRemoved: true }));
    },
  };
}
