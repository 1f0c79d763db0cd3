/**
 * The rule that judges a simulated guest's try (chaos/guest-verdict.ts): must open only where
 * the cloud sees the key active and current on an online lock with no fault, a right clock and
 * the window open with margin; must not open only where the hub reported the removal (or the
 * replacement) done, or the key's short window is well past or ahead at a lock with a right
 * clock; everything else not judged.
 */
import { describe, expect, it } from "vitest";
import { CLOCK_TOLERANCE_S, FAULT_QUIET_S, judgeTry, WINDOW_MARGIN_S, type KeyStatusView, type TryFacts } from "../../chaos/guest-verdict.js";

const NOW = Date.parse("2026-11-29T10:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

function status(over: Partial<KeyStatusView> = {}, doorState = "active", window = { from: NOW - 86_400_000, until: NOW + 86_400_000 }): KeyStatusView {
  const door = (doorId: string) => ({ doorId, state: doorState, validFrom: iso(window.from), validUntil: iso(window.until) });
  return { version: 2, doors: [door("room-1"), door("lobby")], doorCode: { state: "assigned", code: "48291637" }, keycard: { state: "assigned", cardId: "card-7" }, smartKey: { state: "disabled" }, ...over };
}

function live(over: Partial<TryFacts> = {}): TryFacts {
  return {
    nowMs: NOW,
    doorId: "room-1",
    kind: "code",
    standing: "live",
    expected: { version: 2, code: "48291637", cardId: "card-7" },
    keyStatus: status(),
    keyBusy: false,
    lock: { online: true, state: "commissioned" },
    sinceFaultS: undefined,
    clockErrorS: 0,
    ...over,
  };
}

describe("judging a guest's try", () => {
  it("must open: active and current in the key status, lock online, no fault, clock right, inside the window", () => {
    expect(judgeTry(live())).toMatchObject({ verdict: "must_open", kind: "deniedInsideWindow" });
    expect(judgeTry(live({ doorId: "lobby", kind: "card" }))).toMatchObject({ verdict: "must_open" });
    expect(judgeTry(live({ sinceFaultS: FAULT_QUIET_S + 1, clockErrorS: CLOCK_TOLERANCE_S }))).toMatchObject({ verdict: "must_open" });
    expect(judgeTry(live({ kind: "phone", keyStatus: status({ smartKey: { state: "ready" } }) }))).toMatchObject({ verdict: "must_open" });
  });

  it.each<[string, Partial<TryFacts>, string]>([
    ["a sender acting on the key", { keyBusy: true }, "key being changed"],
    ["no key status yet", { keyStatus: undefined }, "no key status"],
    ["a status of an older version", { keyStatus: status({ version: 1 }) }, "key status of another version"],
    ["another code in the status", { keyStatus: status({ doorCode: { state: "assigned", code: "11223344" } }) }, "credential not assigned in the key status"],
    ["the code unassigned", { keyStatus: status({ doorCode: { state: "unassigned" } }) }, "credential not assigned in the key status"],
    ["the door pending", { keyStatus: status({}, "pending") }, "door pending in the key status"],
    ["the window not started (verified)", { keyStatus: status({}, "inactive") }, "door inactive in the key status"],
    ["the lock offline", { lock: { online: false, state: "commissioned" } }, "lock not online and commissioned"],
    ["the lock pairing_lost", { lock: { online: true, state: "pairing_lost" } }, "lock not online and commissioned"],
    ["no lock status", { lock: undefined }, "lock not online and commissioned"],
    ["a fault on the lock now", { sinceFaultS: 0 }, "fault on the lock"],
    ["a fault lifted just now (a memory loss the hub has not seen yet)", { sinceFaultS: FAULT_QUIET_S - 1 }, "fault on the lock"],
    ["a clock jumped and not corrected", { clockErrorS: 3_600 }, "lock clock not right"],
    ["the clock unknown", { clockErrorS: undefined }, "lock clock not right"],
  ])("not judged: %s", (_, over, why) => {
    expect(judgeTry(live(over))).toEqual({ verdict: "not_judged", why });
  });

  it("near the window's edges: not judged; inside by the margin: must open", () => {
    const from = NOW - WINDOW_MARGIN_S * 1000 + 1;
    const near = { from, until: NOW + 600_000 };
    const window = { validFromMs: near.from, validUntilMs: near.until };
    expect(judgeTry(live({ keyStatus: status({}, "active", near), window }))).toEqual({ verdict: "not_judged", why: "near or outside the window" });
    const inside = { from: NOW - WINDOW_MARGIN_S * 1000, until: NOW + WINDOW_MARGIN_S * 1000 + 1 };
    expect(judgeTry(live({ keyStatus: status({}, "active", inside), window: { validFromMs: inside.from, validUntilMs: inside.until } }))).toMatchObject({ verdict: "must_open" });
    const ending = { from: NOW - 600_000, until: NOW + WINDOW_MARGIN_S * 1000 };
    expect(judgeTry(live({ keyStatus: status({}, "active", ending), window: { validFromMs: ending.from, validUntilMs: ending.until } }))).toMatchObject({ verdict: "not_judged" });
  });

  it("outside a short window by the margin, with the lock's clock right: must not open, whatever the key's standing", () => {
    const ahead = { validFromMs: NOW + WINDOW_MARGIN_S * 1000 + 1, validUntilMs: NOW + 600_000 };
    const past = { validFromMs: NOW - 600_000, validUntilMs: NOW - WINDOW_MARGIN_S * 1000 };
    expect(judgeTry(live({ window: ahead, keyStatus: status({}, "inactive") }))).toMatchObject({ verdict: "must_not_open", kind: "openedOutsideWindow" });
    expect(judgeTry(live({ window: past, keyStatus: status({}, "inactive"), sinceFaultS: 0 }))).toMatchObject({ verdict: "must_not_open", kind: "openedOutsideWindow" });
    expect(judgeTry(live({ window: past, standing: "retired", keyStatus: undefined }))).toMatchObject({ verdict: "must_not_open", kind: "openedOutsideWindow" });
    // A clock not right (a jump the hub has not corrected) may put the lock inside the window.
    expect(judgeTry(live({ window: past, keyStatus: status({}, "inactive"), clockErrorS: CLOCK_TOLERANCE_S + 1 }))).toMatchObject({ verdict: "not_judged" });
    // Within the margin of an edge: not judged.
    const justEnded = { validFromMs: NOW - 600_000, validUntilMs: NOW - WINDOW_MARGIN_S * 1000 + 1 };
    expect(judgeTry(live({ window: justEnded, keyStatus: status({}, "inactive") }))).toMatchObject({ verdict: "not_judged" });
  });

  it("a removed or checked-out key: must not open once the hub reported the door revoked or the key fully removed", () => {
    const revoked = (over: Partial<TryFacts>) => judgeTry(live({ standing: "revoked", ...over }));
    expect(revoked({ keyStatus: null })).toMatchObject({ verdict: "must_not_open", kind: "revokedOpened" });
    expect(revoked({ keyStatus: status({}, "revoked") })).toMatchObject({ verdict: "must_not_open", kind: "revokedOpened" });
    // Faults and clocks do not matter: a credential the lock deleted cannot come back.
    expect(revoked({ keyStatus: status({}, "revoked"), sinceFaultS: 0, clockErrorS: 86_400, lock: { online: false, state: "commissioned" } })).toMatchObject({ verdict: "must_not_open" });
    expect(revoked({ keyStatus: status({}, "revoking") })).toEqual({ verdict: "not_judged", why: "removal not reported done" });
    expect(revoked({ keyStatus: status({}, "active") })).toEqual({ verdict: "not_judged", why: "removal not reported done" });
    expect(revoked({ keyStatus: undefined })).toEqual({ verdict: "not_judged", why: "removal not reported done" });
    // Revoked at the room but the lobby not yet: judged per door.
    const mixed = status();
    mixed.doors = [{ doorId: "room-1", state: "revoked" }, { doorId: "lobby", state: "revoking" }];
    expect(revoked({ keyStatus: mixed })).toMatchObject({ verdict: "must_not_open" });
    expect(revoked({ keyStatus: mixed, doorId: "lobby" })).toMatchObject({ verdict: "not_judged" });
  });

  it("a credential a key gave up: must not open once the door is active with the new one (or revoked)", () => {
    const retired = (over: Partial<TryFacts>) => judgeTry(live({ standing: "retired", ...over }));
    const oldCode = { version: 2, code: "11223344" };
    expect(retired({ expected: oldCode })).toMatchObject({ verdict: "must_not_open", kind: "retiredOpened" });
    expect(retired({ expected: oldCode, keyStatus: status({}, "pending") })).toEqual({ verdict: "not_judged", why: "replacement not reported done" });
    // The status still shows the old code: the regenerate is not reflected yet.
    expect(retired({ expected: { version: 2, code: "48291637" } })).toMatchObject({ verdict: "not_judged" });
    expect(retired({ kind: "card", expected: { version: 2, cardId: "card-3" } })).toMatchObject({ verdict: "must_not_open" });
    expect(retired({ kind: "card", expected: { version: 2, cardId: "card-7" } })).toMatchObject({ verdict: "not_judged" });
    // A phone's old pair: the status must be of the version that brought the new pair.
    expect(retired({ kind: "phone", expected: { version: 2 } })).toMatchObject({ verdict: "must_not_open" });
    expect(retired({ kind: "phone", expected: { version: 3 } })).toMatchObject({ verdict: "not_judged" });
    expect(retired({ kind: "phone", expected: { version: 3 }, keyStatus: null })).toMatchObject({ verdict: "must_not_open" });
  });
});
