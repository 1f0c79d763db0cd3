/**
 * Who answers at the lock's link: the sealed IDENT handshake, and what happens when the lock
 * stops answering sealed (re-paired with PAIR_KX or reported pairing_lost / replaced by
 * pairing-recovery.ts; LLP v1.1 §9.1, §9.2). A sealed answer clears either report.
 */
import type { IdentInfo } from "../../../protocol/llp/commands.js";
import { LockBridgeError, errorMessage } from "../../../shared/errors.js";
import { allKindsNeedVerify, type WorkerContext } from "./context.js";
import { retryFailed } from "./apply.js";
import { failUnlocks } from "./unlock.js";

export async function handshake(ctx: WorkerContext): Promise<void> {
  const { o, lockId } = ctx;
  // Sealed once paired (LLP v1.1 §9.1): only the lock holding the hub's key can answer it.
  const ident = await o.link.ident();
  if (ident.lockId.toLowerCase() !== lockId.toLowerCase()) {
    // Cannot come from an honest lock (its lockId is in the seal's nonce): report, change nothing.
    o.log.error({ lockId, seen: ident.lockId }, "sealed IDENT shows another lockId: identity mismatch reported");
    o.hooks.securityAlert(lockId, "identity_mismatch", `sealed IDENT shows lockId ${ident.lockId.toLowerCase()}`);
    throw new LockBridgeError("lock_identity_mismatch", `sealed IDENT of lock ${lockId} shows lockId ${ident.lockId.toLowerCase()}`);
  }
  confirmPairing(ctx);
  ctx.ident = ident;
  o.hooks.ident(lockId, ident);
  o.hooks.health(lockId, { online: true, lastSeen: o.clock.now() });
  ctx.needs.handshake = false;
  // After a reconnect (or a firmware update) earlier refusals may not hold any more.
  retryFailed(ctx);
}

/**
 * The lock refuses our sealing, or something answers for it with unsealed refusals. The hub
 * never re-PAIRs on its own (LLP v1.1 §9.2): PAIR would hand a fresh key in clear to
 * whatever answers, and an impostor can make any lock look factory-reset. It reports the
 * lock once and keeps asking sealed (with backoff); a sealed answer proves the lock still
 * holds the key and clears the report, an installer's commissioning re-pairs it.
 */
export function reportPairingLost(ctx: WorkerContext, alert: boolean): void {
  ctx.needs.status = true;
  if (ctx.pairingLost) return;
  ctx.pairingLost = true;
  ctx.o.log.warn({ lockId: ctx.lockId }, "lock seems to have lost its link key (only unsealed refusals) and was not re-paired: commission it again with the lock in pairing mode");
  ctx.o.hooks.pairingLost(ctx.lockId, alert);
}

/** Only unsealed refusals came back: re-paired with PAIR_KX, or reported (pairing-recovery.ts). */
export async function recoverPairing(ctx: WorkerContext): Promise<"repaired" | "other"> {
  let outcome;
  try {
    outcome = await ctx.recovery.onNotPaired();
  } catch (e) {
    // The next round tries again after the backoff; the loop must never die of it.
    ctx.o.log.debug({ lockId: ctx.lockId, err: errorMessage(e) }, "pairing recovery step failed");
    return "other";
  }
  if (outcome !== "repaired") return "other";
  // A lock that lost its key lost its tables too (or holds anything): verify every slot.
  ctx.o.store.resetApplied(ctx.lockId, "unknown");
  confirmPairing(ctx);
  ctx.failures = 0;
  ctx.needs.handshake = true;
  ctx.needs.status = true;
  ctx.needs.events = true;
  ctx.needs.replan = true;
  allKindsNeedVerify(ctx);
  return "repaired";
}

/** A hint only: the loop keeps probing sealed; unlocks fail until a sealed answer or an installer. */
export function reportReplaced(ctx: WorkerContext, seen: IdentInfo): void {
  failUnlocks(ctx, new LockBridgeError("lock_offline", `lock ${ctx.lockId} was replaced`), true);
  if (ctx.replaced) return;
  ctx.replaced = true;
  ctx.o.hooks.replaced(ctx.lockId, seen);
}

/** A sealed answer under the hub's key: whatever the unsealed refusals said, the lock has it. */
export function confirmPairing(ctx: WorkerContext): void {
  ctx.recovery.reset();
  if (!ctx.pairingLost && !ctx.replaced) return;
  ctx.pairingLost = false;
  ctx.replaced = false;
  ctx.o.log.info({ lockId: ctx.lockId }, "lock answered sealed under its link key again: pairing confirmed");
  ctx.o.hooks.pairingConfirmed(ctx.lockId);
}
