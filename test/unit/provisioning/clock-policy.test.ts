import { describe, expect, it } from "vitest";
import { assessClock } from "../../../src/provisioning/reconcile/clock-policy.js";
import { StatusFlag } from "../../../src/protocol/llp/constants.js";

const now = Date.UTC(2026, 11, 1, 12, 0, 0);
const t = Math.floor(now / 1000);

describe("assessClock", () => {
  it.each([
    ["a lost clock is set", { flags: StatusFlag.CLOCK_NOT_SET, lockTime: 12 }, now - 1000, { set: true, why: "clock_lost" }],
    ["drift past tolerance is fixed", { flags: 0, lockTime: t + 31 }, now - 1000, { set: true, why: "drift", driftS: 31 }],
    ["a slow lock drifts negative", { flags: 0, lockTime: t - 45 }, now - 1000, { set: true, why: "drift", driftS: -45 }],
    ["small drift is left alone", { flags: 0, lockTime: t + 30 }, now - 1000, { set: false, driftS: 30 }],
    ["a day after the last set it is set again", { flags: 0, lockTime: t }, now - 24 * 3600_000, { set: true, why: "daily" }],
    ["never set since start counts as due", { flags: 0, lockTime: t }, undefined, { set: true, why: "daily" }],
  ] as const)("%s", (_name, status, lastSet, expected) => {
    expect(assessClock(status, now, lastSet)).toMatchObject(expected);
  });
});
