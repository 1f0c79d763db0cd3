/**
 * A lock's health for `diagnose`: battery, tamper, security alerts, link errors and a lock
 * replaced at its link (naming the lock that answers instead). Clock drift and memory are
 * judged in diagnose-door.ts beside the slot rules.
 */
import { finding, type Finding } from "./findings.js";
import type { DiagnosisLock } from "./snapshot.js";

export const BATTERY_LOW_PERCENT = 20;
/** Timeouts + CRC errors + retries on the lock's bus since the hub started, worth a look. */
export const LINK_ERRORS_WARN = 20;

export function lockHealthFindings(lock: DiagnosisLock, doorId: string): Finding[] {
  const out: Finding[] = [];
  if (lock.battery !== undefined && lock.battery <= BATTERY_LOW_PERCENT) {
    out.push(finding("lock_battery_low", lock.battery <= 10 ? "error" : "warning", doorId, `Lock ${lock.lockId} battery is at ${lock.battery} %.`, "Replace the lock's batteries soon: below 10 % it may stop opening."));
  }
  if (lock.recentTamper) {
    out.push(finding("lock_tamper", "warning", doorId, `Lock ${lock.lockId} reported a tamper alarm in the last 24 h.`, "Inspect the lock and the door for damage or forced entry; check the lock's cover is closed."));
  }
  if ((lock.securityAlerts ?? []).length > 0) {
    out.push(finding("lock_security_alert", "error", doorId, `Lock ${lock.lockId} raised security alerts in the last 24 h: ${lock.securityAlerts!.join(", ")}.`, "Check what is connected to the lock's link (a foreign device, a swapped lock); recommission it if it was reset."));
  }
  if (lock.linkErrors) {
    const { timeouts, crcErrors, retries } = lock.linkErrors;
    if (timeouts + crcErrors + retries >= LINK_ERRORS_WARN) {
      out.push(finding("lock_link_errors", "warning", doorId, `The link of lock ${lock.lockId}${lock.link ? ` (${lock.link})` : ""} is unreliable: ${timeouts} timeouts, ${crcErrors} CRC errors, ${retries} retries since the hub started.`, "Check the bus wiring (A/B, shield, 120 Ω termination at both ends), cable length and interference; on BLE, the distance to the hub or proxy."));
    }
  }
  return out;
}

/** A replaced lock: name the lock that answers at its link and the one command that fixes it. */
export function replacedLockFinding(lock: DiagnosisLock, doorId: string): Finding {
  const seen = lock.replacedBy;
  return finding(
    "lock_replaced",
    "error",
    doorId,
    seen ? `Lock ${lock.lockId} of door ${doorId} was replaced: lock ${seen} answers at its link${lock.link ? ` (${lock.link})` : ""}. No key works on this door until the new lock is in service.` : `Lock ${lock.lockId} of door ${doorId} was replaced: another lock answers at its link.`,
    seen ? `lockbridge lock replace ${lock.lockId} ${seen} (commissions ${seen} on the same link, moves the door to it, forgets ${lock.lockId}); keys are then delivered to it.` : `Commission the new lock on the same link and point the door at it (lockbridge lock replace ${lock.lockId} NEW_LOCKID).`,
  );
}
