import { describe, expect, it } from "vitest";
import { applyKeyUpsert, doorSettingsChanges } from "../../../src/access/protect-config.js";
import { doorMap, makeDoor, makeEntry, makeKey, makePmsKey } from "../../helpers/access-fixtures.js";

const doors = doorMap(
  makeDoor("room-101", { protectConfiguration: true, linkedDoorIds: ["lobby"] }),
  makeDoor("room-102"),
  makeDoor("room-103", { protectConfiguration: true }),
  makeDoor("lobby"),
);

const staffEntry = makeEntry("room-101", { accessPeriod: { from: "2026-12-01", to: "2026-12-06" }, departureTime: "14:00", allowLinkedDoorsAccess: false });
const stored = makePmsKey("k1", { version: 2, checkedIn: false, doors: [staffEntry, makeEntry("room-102")] });

describe("applyKeyUpsert under Protect Configuration", () => {
  it("PMS upsert: protected room keeps staff settings, a warning names the blocked fields, other fields update", () => {
    const incoming = makePmsKey("k1", {
      version: 3,
      checkedIn: true,
      holder: { name: "Ada" },
      doors: [makeEntry("room-101"), makeEntry("room-102", { departureTime: "12:00" })],
    });
    const { key, warnings } = applyKeyUpsert(stored, incoming, doors);
    expect(key.doors[0]).toEqual(staffEntry);
    expect(key.doors[1]?.departureTime).toBe("12:00");
    expect(key.version).toBe(3);
    expect(key.checkedIn).toBe(true);
    expect(key.holder).toEqual({ name: "Ada" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: "protected_configuration", doorId: "room-101", fields: ["accessPeriod.to", "departureTime", "allowLinkedDoorsAccess"] });
    expect(warnings[0]?.message).toContain("room-101");
  });

  it("PMS upsert repeating the stored settings: no warning", () => {
    const incoming = makePmsKey("k1", { version: 3, doors: [staffEntry, makeEntry("room-102")] });
    expect(applyKeyUpsert(stored, incoming, doors).warnings).toEqual([]);
  });

  it("PMS cannot drop a protected door from the key, nor add one", () => {
    const incoming = makePmsKey("k1", { version: 3, doors: [makeEntry("room-102"), makeEntry("room-103")] });
    const { key, warnings } = applyKeyUpsert(stored, incoming, doors);
    expect(key.doors.map((d) => d.doorId)).toEqual(["room-102", "room-101"]);
    expect(warnings.map((w) => [w.doorId, w.fields])).toEqual([
      ["room-103", ["door"]],
      ["room-101", ["door"]],
    ]);
  });

  it("manual upsert always applies in full", () => {
    const incoming = makeKey("k1", { version: 3, doors: [makeEntry("room-101"), makeEntry("room-103")] });
    const { key, warnings } = applyKeyUpsert(stored, incoming, doors);
    expect(key).toEqual(incoming);
    expect(warnings).toEqual([]);
  });

  it("a new PMS key for a protected room is applied (nothing to protect yet)", () => {
    const incoming = makePmsKey("k9", { doors: [makeEntry("room-101")] });
    expect(applyKeyUpsert(undefined, incoming, doors)).toEqual({ key: incoming, warnings: [] });
  });

  it("without Protect Configuration a PMS upsert changes the settings", () => {
    const open = doorMap(makeDoor("room-101"), makeDoor("room-102"));
    const incoming = makePmsKey("k1", { version: 3, doors: [makeEntry("room-101")] });
    const { key, warnings } = applyKeyUpsert(stored, incoming, open);
    expect(key.doors).toEqual([makeEntry("room-101")]);
    expect(warnings).toEqual([]);
  });
});

describe("doorSettingsChanges", () => {
  it("lists added, changed and removed doors", () => {
    const after = makePmsKey("k1", { doors: [makeEntry("room-101", { ...staffEntry, arrivalTime: "12:00" }), makeEntry("room-103")] });
    expect(doorSettingsChanges(stored, after)).toEqual([
      { doorId: "room-101", change: "changed", fields: ["arrivalTime"] },
      { doorId: "room-103", change: "added", fields: ["door"] },
      { doorId: "room-102", change: "removed", fields: ["door"] },
    ]);
    expect(doorSettingsChanges(undefined, after)).toEqual([]);
  });
});
