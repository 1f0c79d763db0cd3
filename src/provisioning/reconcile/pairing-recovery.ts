/**
 * What the lock worker does when a lock stops answering sealed and only unsealed refusals
 * come back (LLP v1.1 §9.1, §9.2). Those refusals prove nothing: anything on the link can send
 * them. So:
 *
 * 1. Ask IDENT unsealed, as a hint of who answers. Another lockId: a swapped lock (or an
 *    impostor saying so) is reported (`lock.replaced`, state `replaced`), and nothing is sent
 *    to it: a PAIR_KX would leave the new lock holding a key nobody knows.
 * 2. A `kx` lock with its setup key on file is re-paired with PAIR_KX: the confirm proves the setup key, so an impostor
 *    gets nothing sealed and the hub keeps its key (`pairing_unconfirmed`). A lock that
 *    refuses PAIR_KX (it holds a key) is reported pairing_lost: the refusals were forged, or
 *    it needs its pairing button.
 * 3. A `plain` lock is never re-paired here: PAIR would hand a fresh key in clear to whatever
 *    answers. It is reported `pairing_lost` and waits for an installer.
 *
 * Each round (hint, then re-pair) runs at most once per backoff step, 1 min doubling to 1 h,
 * started afresh by any sealed answer.
 */
import { retryDelay, type BackoffPolicy } from "../../shared/backoff.js";
import { isLockBridgeError } from "../../shared/errors.js";
import type { Logger } from "../../shared/logger.js";
import type { IdentInfo } from "../../protocol/llp/commands.js";
import { classifyLockError } from "./lock-errors.js";
import type { LockLinkPort } from "./ports.js";
import type { SecurityAlertReason } from "./security-alerts.js";

/** One round (hint, re-pair) per step: 1 min doubling to 1 h, no jitter (one lock, one hub). */
/** Logged when the hub starts re-pairing a lock that lost its link key (PAIR_KX, setup key on file). */
export const REPAIRING_MSG = "lock lost its link key: re-pairing with PAIR_KX and the setup key on file";

export const REPAIR_BACKOFF: BackoffPolicy = { firstMs: 60_000, maxMs: 60 * 60_000, jitter: "none" };

export type RecoveryOutcome =
  /** Re-paired: the lock's tables are unknown now and must be verified. */
  | "repaired"
  /** Another lockId answered the hint: reported as replaced. */
  | "replaced"
  /** Reported (pairing_lost or an alert); keep probing sealed with backoff. */
  | "reported"
  /** The hint got no answer or the re-pair step is not due yet; keep probing. */
  | "waiting";

export interface PairingRecoveryDeps {
  lockId: string;
  link: LockLinkPort;
  log: Logger;
  now: () => number;
  /** The lock's setup key from lock.commission (kx), or null. */
  setupKey: () => Uint8Array | null;
  /** State pairing_lost in status; `alert` raises the pairing_lost alert too (plain locks). */
  pairingLost: (alert: boolean) => void;
  alert: (reason: SecurityAlertReason, detail: string) => void;
  replaced: (seen: IdentInfo) => void;
}

export class PairingRecovery {
  private attempts = 0;
  private nextAttemptAt = 0;

  constructor(private readonly d: PairingRecoveryDeps) {}

  /** A sealed answer came back: the lock holds the hub's key; start the backoff afresh. */
  reset(): void {
    this.attempts = 0;
    this.nextAttemptAt = 0;
  }

  async onNotPaired(): Promise<RecoveryOutcome> {
    const d = this.d;
    // The whole step (hint, re-pair) at most once per backoff step: an answered hint marks the
    // link online again, so asking it every round would keep a lost lock flapping.
    const now = d.now();
    if (now < this.nextAttemptAt) return "waiting";
    this.attempts++;
    this.nextAttemptAt = now + retryDelay(this.attempts, REPAIR_BACKOFF);
    let hint: IdentInfo | undefined;
    try {
      hint = await d.link.identHint();
    } catch {
      // No answer, or a refusal: no hint either way (and nothing to act on).
    }
    if (hint && hint.lockId.toLowerCase() !== d.lockId.toLowerCase()) {
      d.log.warn({ lockId: d.lockId, seen: hint.lockId }, "lock stopped answering sealed and IDENT (unsealed, a hint) shows another lockId: reported as replaced");
      d.replaced(hint);
      return "replaced";
    }
    if (d.link.pairing !== "kx") {
      d.pairingLost(true);
      return "reported";
    }
    const setupKey = d.setupKey();
    if (!setupKey) {
      d.log.warn({ lockId: d.lockId }, "PAIR_KX lock lost its pairing and no setup key is on file: commission it again with the setup key from its label");
      d.pairingLost(true);
      return "reported";
    }
    // Said before the exchange: an installer (and the chaos run's mid-pairing kill) sees it start.
    d.log.info({ lockId: d.lockId }, REPAIRING_MSG);
    try {
      await d.link.pairKx(setupKey);
    } catch (e) {
      if (isLockBridgeError(e, "lock_pairing_unconfirmed")) {
        d.log.warn({ lockId: d.lockId }, "re-pairing refused: the answer to PAIR_KX does not prove the lock's setup key (an impostor on the link?); the hub keeps its key");
        d.alert("pairing_unconfirmed", "PAIR_KX confirm did not prove the setup key");
        d.pairingLost(false);
        return "reported";
      }
      const f = classifyLockError(e);
      if (f.kind === "nak") {
        d.log.warn({ lockId: d.lockId, nak: f.nak }, "lock refuses PAIR_KX: it holds a link key (the unsealed refusals were not its own, or it needs its pairing button)");
        d.pairingLost(false);
        return "reported";
      }
      throw e;
    }
    this.reset();
    d.log.info({ lockId: d.lockId }, "lock re-paired with PAIR_KX after losing its key: verifying its tables");
    return "repaired";
  }
}
