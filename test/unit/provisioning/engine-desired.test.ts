/**
 * The engine's desired side without locks: a real store (temp file, manual clock), the key
 * service and the engine's derivation of slot rows and statuses. No lock is in service, so
 * nothing is applied: these tests are about WHAT the engine asks each lock to hold.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Key } from "../../../src/access/model.js";
import type { KeyChangeContext } from "../../../src/cloud/handlers/key-commands.js";
import { seededRandom } from "../../../src/shared/random.js";
import { ProvisioningEngine } from "../../../src/provisioning/engine.js";
import { KeyService } from "../../../src/provisioning/desired/key-service.js";
import type { ManualClock } from "../../../src/shared/clock.js";
import { createLogger } from "../../../src/shared/logger.js";
import type { Store } from "../../../src/store/index.js";
import { makeDoor, makeEntry, makeKey, makeSite } from "../../helpers/access-fixtures.js";
import { tempStore } from "../../helpers/store.js";

const log = createLogger({ level: "silent" });
let t: ReturnType<typeof tempStore>;
let store: Store;
let clock: ManualClock;
let engine: ProvisioningEngine;
let keys: KeyService;
const events: { type: string }[] = [];
const ctx = (): KeyChangeContext => ({ clock, log, origin: "command", emit: () => undefined, keyChanged: () => undefined, lockChanged: () => undefined });

function lock(lockId: string, slots = { codeSlots: 32, cardSlots: 32, mobileKeySlots: 16 }): void {
  store.locks.upsert({ lockId, profileId: "p", link: { type: "tcp", host: "h", port: 1, address: 1 } });
  store.locks.setIdent(lockId, { protocolVersion: 1, lockId, model: "m", firmware: "1", capabilities: 0x7f, codeMinLen: 4, codeMaxLen: 10, ...slots });
  store.locks.setState(lockId, "commissioned");
  store.locks.updateHealth(lockId, { online: true });
}

/** Slot rows desired on a lock: [kind, slot, keyId]. */
function desired(lockId: string): [string, number, string][] {
  return store.slots
    .forLock(lockId)
    .filter((r) => r.desired)
    .map((r) => [r.kind, r.slot, store.credentials.get(r.desired!.credentialId)!.keyId]);
}

beforeEach(() => {
  t = tempStore();
  store = t.store;
  clock = t.clock; // 2026-12-01T12:00Z
  store.site.put(makeSite());
  lock("lock-room-101");
  lock("lock-room-102");
  lock("lock-lobby");
  store.doors.upsert(makeDoor("lobby"));
  store.doors.upsert(makeDoor("room-101", { linkedDoorIds: ["lobby"] }));
  store.doors.upsert(makeDoor("room-102", { linkedDoorIds: ["lobby"] }));
  events.length = 0;
  engine = new ProvisioningEngine({
    store,
    clock,
    log,
    events: { emit: (e) => events.push(e) },
    status: { keyChanged: () => undefined, lockChanged: () => undefined },
    links: { open: () => Promise.reject(new Error("no locks in unit tests")) },
  });
  const rnd = seededRandom(7);
  keys = new KeyService(store, { desired: engine.desired, statuses: engine.statuses, clock }, { random: { int: (n) => Math.floor(rnd() * n) } });
});
afterEach(() => t.cleanup());

const upsert = (key: Key) => store.transaction(() => keys.upsert(key, ctx()));

describe("desired slot rows", () => {
  it("a key goes to its room and the linked common door; slots stay put when the key changes", () => {
    upsert(makeKey("k-1"));
    upsert(makeKey("k-2"));
    expect(desired("lock-room-101")).toEqual([["doorCode", 0, "k-1"], ["doorCode", 1, "k-2"]]);
    expect(desired("lock-lobby")).toEqual([["doorCode", 0, "k-1"], ["doorCode", 1, "k-2"]]);
    // A new window for k-1: same slots, new content.
    const before = store.slots.get("lock-lobby", "doorCode", 0)!.desired!;
    upsert(makeKey("k-1", { version: 2, doors: [makeEntry("room-101", { departureTime: "12:00" })] }));
    expect(desired("lock-lobby")).toEqual([["doorCode", 0, "k-1"], ["doorCode", 1, "k-2"]]);
    expect(store.slots.get("lock-lobby", "doorCode", 0)!.desired!.validUntil).toBe(before.validUntil + 3600);
  });

  it("linked doors follow Allow Linked Doors Access, both ways", () => {
    upsert(makeKey("k-1", { doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false })] }));
    expect(desired("lock-lobby")).toEqual([]);
    upsert(makeKey("k-1", { version: 2 }));
    expect(desired("lock-lobby")).toEqual([["doorCode", 0, "k-1"]]);
    upsert(makeKey("k-1", { version: 3, doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false })] }));
    expect(desired("lock-lobby")).toEqual([]);
    expect(desired("lock-room-101")).toEqual([["doorCode", 0, "k-1"]]);
    expect(engine.statuses.keyStatus("k-1")!.doors.map((d) => d.doorId)).toEqual(["room-101"]);
  });

  it.each([
    ["Allow Provisioning off", makeKey("k-1", { doors: [makeEntry("room-101", { allowProvisioning: false })] }), "pending", ["provisioning_disabled"]],
    ["a PMS key not checked in", makeKey("k-1", { source: "pms", checkedIn: false }), "inactive", ["not_checked_in"]],
    ["a window that ended", makeKey("k-1", { doors: [makeEntry("room-101", { accessPeriod: { from: "2026-11-20", to: "2026-11-22" } })] }), "inactive", ["access_period_ended"]],
  ] as const)("%s: nothing goes to the lock", (_what, key, state, reasons) => {
    upsert(key);
    expect(desired("lock-room-101")).toEqual([]);
    expect(engine.statuses.keyStatus("k-1")!.doors[0]).toMatchObject({ doorId: "room-101", state, reasons });
  });

  it("a window not started yet IS provisioned (the lock enforces validFrom)", () => {
    upsert(makeKey("k-1", { doors: [makeEntry("room-101", { accessPeriod: { from: "2026-12-05", to: "2026-12-06" } })] }));
    expect(desired("lock-room-101")).toEqual([["doorCode", 0, "k-1"]]);
  });

  it("a type disabled for the site is not delivered; the status says credential_type_disabled", () => {
    store.site.put(makeSite({ credentialTypes: { doorCode: false, keycard: true, smartKey: true } }));
    upsert(makeKey("k-1"));
    expect(desired("lock-room-101")).toEqual([]);
    const s = engine.statuses.keyStatus("k-1")!;
    expect(s.doorCode).toEqual({ state: "disabled", reason: "credential_type_disabled" });
    expect(s.doors[0]).toMatchObject({ state: "pending", reasons: ["credential_type_disabled"] });
  });

  it("a full lock fails the newest credential (lock_memory_full); a freed slot places it", () => {
    lock("lock-room-101", { codeSlots: 2, cardSlots: 0, mobileKeySlots: 0 });
    upsert(makeKey("k-1", { doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false })] }));
    upsert(makeKey("k-2", { doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false })] }));
    upsert(makeKey("k-3", { doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false })] }));
    expect(engine.statuses.keyStatus("k-3")!.doors[0]).toMatchObject({ state: "failed", reasons: ["lock_memory_full"] });
    store.transaction(() => keys.remove("k-1", 2, ctx()));
    expect(desired("lock-room-101").map(([, , k]) => k).sort()).toEqual(["k-2", "k-3"]);
    expect(engine.statuses.keyStatus("k-3")!.doors[0]?.reasons).not.toContain("lock_memory_full");
  });

  it("a credential type the lock has no slots for fails with not_supported", () => {
    lock("lock-room-101", { codeSlots: 32, cardSlots: 32, mobileKeySlots: 0 });
    upsert(makeKey("k-1", { doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false })], smartKey: { enabled: true, publicKey: Buffer.alloc(32, 1).toString("base64") } }));
    const s = engine.statuses.keyStatus("k-1")!;
    expect(s.smartKey).toEqual({ state: "failed", reason: "not_supported" });
    expect(s.doors[0]).toMatchObject({ state: "failed", reasons: ["not_supported"] });
  });
});

describe("key service", () => {
  it("Protect Configuration: PMS changes to a protected room are not applied (warning); manual ones are", () => {
    store.doors.upsert(makeDoor("room-101", { linkedDoorIds: ["lobby"], protectConfiguration: true }));
    engine.desired.doorsChanged();
    upsert(makeKey("k-1", { source: "pms", pms: { provider: "mews", reservationId: "R" } }));
    const pms = upsert(makeKey("k-1", { version: 2, source: "pms", pms: { provider: "mews", reservationId: "R" }, doors: [makeEntry("room-101", { departureTime: "09:00" })] }));
    expect(pms.warnings.join(" ")).toMatch(/Protect Configuration.*departureTime/);
    expect(store.keys.get("k-1")!.doors[0]!.departureTime).toBe("11:00");
    const manual = upsert(makeKey("k-1", { version: 3, doors: [makeEntry("room-101", { departureTime: "09:00" })] }));
    expect(manual.warnings).toEqual([]);
    expect(store.keys.get("k-1")!.doors[0]!.departureTime).toBe("09:00");
  });

  it("a transaction that rolls back leaves no trace in the engine's copies: its code is free, its slots are not held", () => {
    upsert(makeKey("k-1", { doorCode: { enabled: true, assignment: "strict", code: "482916" } }));
    // k-2 takes 731905 on room-102 and the lobby, then the command fails (a full disk, say).
    expect(() =>
      store.transaction(() => {
        keys.upsert(makeKey("k-2", { doors: [makeEntry("room-102")], doorCode: { enabled: true, assignment: "strict", code: "731905" } }), ctx());
        throw new Error("disk full");
      }),
    ).toThrow("disk full");
    expect(store.keys.get("k-2")).toBeUndefined();
    // The code k-2 never got is free for k-3, on the same doors, and k-3 sits where k-2 would have.
    const r = upsert(makeKey("k-3", { doors: [makeEntry("room-102")], doorCode: { enabled: true, assignment: "strict", code: "731905" } }));
    expect(r.warnings).toEqual([]);
    expect(engine.statuses.keyStatus("k-3")!.doorCode).toMatchObject({ code: "731905" });
    expect(desired("lock-room-102")).toEqual([["doorCode", 0, "k-3"]]);
    expect(desired("lock-lobby")).toEqual([["doorCode", 0, "k-1"], ["doorCode", 1, "k-3"]]);
    // The slot index agrees with the store for every credential.
    for (const c of store.credentials.history("k-3")) {
      expect(engine.desired.slotRows(c.credentialId).map((r) => r.lockId).sort()).toEqual(["lock-lobby", "lock-room-102"]);
    }
  });

  it("door codes: unique on every lock that holds them, strict refusal, regenerate never reissues the old code", () => {
    upsert(makeKey("k-1", { doorCode: { enabled: true, assignment: "strict", code: "482916" } }));
    expect(engine.statuses.keyStatus("k-1")!.doorCode).toMatchObject({ code: "482916" });
    // k-2 is in another room but shares the lobby: the same code is unavailable.
    const r = upsert(makeKey("k-2", { doors: [makeEntry("room-102")], doorCode: { enabled: true, assignment: "strict", code: "482916" } }));
    expect(r.warnings.join(" ")).toMatch(/already used/);
    expect(engine.statuses.keyStatus("k-2")!.doorCode).toEqual({ state: "unassigned", reason: "code_unavailable" });
    const seen = new Set<string>(["482916"]);
    for (let i = 0; i < 5; i++) {
      store.transaction(() => keys.regenerateCode("k-1", "random", undefined, ctx()));
      const code = engine.statuses.keyStatus("k-1")!.doorCode.code!;
      expect(seen.has(code)).toBe(false);
      seen.add(code);
    }
  });

  it("check-out revokes the key's credentials and returns its card; removal too", () => {
    store.keycards.upsert([{ cardId: "c1", uid: "04a1b2c3", label: "1" }]);
    upsert(makeKey("k-1", { source: "pms", pms: { provider: "mews", reservationId: "R" }, keycard: { enabled: true, cardId: "c1" } }));
    expect(desired("lock-room-101").map(([k]) => k)).toEqual(["doorCode", "keycard"]);
    store.transaction(() => keys.checkin("k-1", false, ctx()));
    expect(desired("lock-room-101")).toEqual([]);
    expect(store.keycards.get("c1")!.assignedKeyId).toBeNull();
    expect(store.credentials.current("k-1")).toEqual([]);
    // Nothing was ever on a lock here, so it is revoked at once.
    expect(engine.statuses.keyStatus("k-1")!.state).toBe("revoked");
  });

  it("cooling-off ends while the hub keeps running: a code revoked longer ago than the period is offered again", () => {
    const strict = (version: number) =>
      makeKey("k-2", { version, doors: [makeEntry("room-102")], doorCode: { enabled: true, assignment: "strict", code: "482916" } });
    upsert(makeKey("k-1", { doorCode: { enabled: true, assignment: "strict", code: "482916" } }));
    store.transaction(() => keys.checkin("k-1", false, ctx()));
    // Checked out a moment ago: the code is cooling off for everyone.
    const early = upsert(strict(1));
    expect(early.warnings.join(" ")).toMatch(/cooling/i);
    expect(engine.statuses.keyStatus("k-2")!.doorCode).toEqual({ state: "unassigned", reason: "code_unavailable" });
    // One day short of the 7-day period: still refused.
    clock.advance(6 * 24 * 3_600_000);
    upsert(strict(2));
    expect(engine.statuses.keyStatus("k-2")!.doorCode).toEqual({ state: "unassigned", reason: "code_unavailable" });
    // Past the period, same KeyService (no restart): offered again.
    clock.advance(1 * 24 * 3_600_000 + 1_000);
    const late = upsert(strict(3));
    expect(late.warnings).toEqual([]);
    expect(engine.statuses.keyStatus("k-2")!.doorCode).toMatchObject({ code: "482916" });
    // Regenerated away from it: cooling off again at once, from this revocation.
    store.transaction(() => keys.regenerateCode("k-2", "random", undefined, ctx()));
    const again = upsert(makeKey("k-1", { version: 2, doorCode: { enabled: true, assignment: "strict", code: "482916" } }));
    expect(again.warnings.join(" ")).toMatch(/cooling/i);
  });
});
