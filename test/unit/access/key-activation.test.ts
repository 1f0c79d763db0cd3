import { describe, expect, it } from "vitest";
import { holdsCredentials, holdsKeycard, keyActivation, nextLifecycle, NEW_LIFECYCLE, removedLifecycle, type KeyLifecycle } from "../../../src/access/key-activation.js";

describe("keyActivation", () => {
  const live: KeyLifecycle = NEW_LIFECYCLE;
  it.each([
    { name: "manual key, checked in by default", checkedIn: true, lc: live, want: { state: "live" } },
    { name: "PMS key before check-in", checkedIn: false, lc: live, want: { state: "inactive", reason: "not_checked_in" } },
    { name: "PMS key after check-out", checkedIn: false, lc: { removed: false, checkedOut: true }, want: { state: "revoked", reason: "checked_out" } },
    { name: "removed key, even if checked in", checkedIn: true, lc: { removed: true, checkedOut: false }, want: { state: "revoked", reason: "removed" } },
  ])("$name", ({ checkedIn, lc, want }) => {
    expect(keyActivation({ checkedIn }, lc)).toEqual(want);
  });

  it("only live keys hold credentials; inactive keys keep their card reserved, revoked keys release it", () => {
    expect(holdsCredentials({ state: "live" })).toBe(true);
    expect(holdsCredentials({ state: "inactive", reason: "not_checked_in" })).toBe(false);
    expect(holdsKeycard({ state: "inactive", reason: "not_checked_in" })).toBe(true);
    expect(holdsKeycard({ state: "revoked", reason: "checked_out" })).toBe(false);
  });
});

describe("nextLifecycle: check-in and check-out transitions", () => {
  it.each([
    { name: "new PMS key, not checked in", prev: undefined, lc: undefined, next: false, want: { removed: false, checkedOut: false } },
    { name: "check-in", prev: false, lc: NEW_LIFECYCLE, next: true, want: { removed: false, checkedOut: false } },
    { name: "check-out (true -> false)", prev: true, lc: NEW_LIFECYCLE, next: false, want: { removed: false, checkedOut: true } },
    { name: "an update after check-out stays checked out", prev: false, lc: { removed: false, checkedOut: true }, next: false, want: { removed: false, checkedOut: true } },
    { name: "checked in again after a mistaken check-out", prev: false, lc: { removed: false, checkedOut: true }, next: true, want: { removed: false, checkedOut: false } },
    { name: "upsert of a removed key with a newer version revives it", prev: true, lc: { removed: true, checkedOut: false }, next: true, want: { removed: false, checkedOut: false } },
  ])("$name", ({ prev, lc, next, want }) => {
    expect(nextLifecycle(prev === undefined ? undefined : { checkedIn: prev }, lc, { checkedIn: next })).toEqual(want);
  });

  it("removal", () => {
    expect(removedLifecycle(undefined)).toEqual({ removed: true, checkedOut: false });
    expect(keyActivation({ checkedIn: true }, removedLifecycle(NEW_LIFECYCLE)).state).toBe("revoked");
  });
});
