/**
 * The contract commands whose effect lies with the lock fleet, commissioning, key semantics,
 * firmware or diagnosis (given to the cloud sync when it is built), each calling the narrow
 * ports it is handed.
 *
 * Lock I/O happens before ctx.commit (outside any transaction); the commit stores the effect
 * with the response, and the broker's PUBACK follows it.
 */
import type { KeyStatus } from "../../access/model.js";
import { keyContext } from "../../cloud/handlers/desired-state.js";
import type { ProvisioningCommandHandlers } from "../../cloud/handlers/index.js";
import { defineHandler, type HandlerOutcome } from "../../cloud/registry.js";
import type { Finding } from "../../diagnosis/index.js";
import type { IdentInfo } from "../../protocol/llp/commands.js";
import { LockBridgeError } from "../../shared/errors.js";
import type { DesiredState } from "../desired/desired-state.js";
import type { FirmwareService } from "../reconcile/firmware.js";
import type { LockFleet } from "../reconcile/fleet.js";
import type { KeyService } from "../desired/key-service.js";
import type { LockService } from "../reconcile/lock-service.js";

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
