/**
 * When the hub sets a lock's clock (issue 6, "Clock"): at commissioning, when the lock says
 * its clock is not set (CLOCK_LOST / STATUS flag), when it has drifted past the tolerance,
 * and once a day. A lock enforces validity windows against its own clock, so a wrong clock
 * opens doors at the wrong time: drift is reported upstream (`lock.clock_drift`) and fixed.
 */
import { StatusFlag } from "../../protocol/llp/constants.js";
import type { StatusInfo } from "../../protocol/llp/commands.js";

export interface ClockPolicy {
  /** Drift (s) that is reported and corrected at once. */
  driftToleranceS: number;
  /** Routine re-set period (ms). */
  resetPeriodMs: number;
}

export const DEFAULT_CLOCK_POLICY: ClockPolicy = { driftToleranceS: 30, resetPeriodMs: 24 * 3600_000 };

export type ClockAction =
  | { set: false; driftS: number }
  | { set: true; why: "clock_lost" | "drift" | "daily"; driftS: number };

/**
 * What to do after a STATUS answer. `driftS` is lock minus hub, in seconds (positive: the
 * lock runs ahead). `lastSetMs` is when the hub last set this lock's clock (undefined: never
 * since start, which counts as due).
 */
export function assessClock(status: Pick<StatusInfo, "flags" | "lockTime">, nowMs: number, lastSetMs: number | undefined, policy: ClockPolicy = DEFAULT_CLOCK_POLICY): ClockAction {
  const driftS = status.lockTime - Math.floor(nowMs / 1000);
  if ((status.flags & StatusFlag.CLOCK_NOT_SET) !== 0) return { set: true, why: "clock_lost", driftS };
  if (Math.abs(driftS) > policy.driftToleranceS) return { set: true, why: "drift", driftS };
  if (lastSetMs === undefined || nowMs - lastSetMs >= policy.resetPeriodMs) return { set: true, why: "daily", driftS };
  return { set: false, driftS };
}
