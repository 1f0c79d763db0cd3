import { describe, expect, it } from "vitest";
import { firstWindowError, targetDoors, unreachedLinkedDoors } from "../../../src/access/linked-doors.js";
import { doorMap, epochS, makeDoor, makeEntry, makeKey } from "../../helpers/access-fixtures.js";

const doors = doorMap(
  makeDoor("room-101", { linkedDoorIds: ["lobby", "gym"] }),
  makeDoor("room-102", { linkedDoorIds: ["lobby", "spa"] }),
  makeDoor("lobby"),
  makeDoor("gym"),
  makeDoor("spa"),
  makeDoor("room-103", { linkedDoorIds: ["room-101", "ghost"] }),
);
const TZ = "Europe/Prague";

describe("targetDoors", () => {
  it("room only, when allowLinkedDoorsAccess is off: linked doors are not targets", () => {
    const key = makeKey("k1", { doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false })] });
    const { targets, issues } = targetDoors(key, doors, TZ);
    expect(targets.map((t) => [t.doorId, t.linked])).toEqual([["room-101", false]]);
    expect(issues).toEqual([]);
  });

  it("room plus its linked common doors with the same window when on", () => {
    const key = makeKey("k1", { doors: [makeEntry("room-101")] });
    const { targets } = targetDoors(key, doors, TZ);
    expect(targets.map((t) => [t.doorId, t.linked, t.via])).toEqual([
      ["room-101", false, []],
      ["lobby", true, ["room-101"]],
      ["gym", true, ["room-101"]],
    ]);
    const room = targets[0]!;
    expect(room.window).toEqual({ validFrom: epochS("2026-12-01T14:00:00Z"), validUntil: epochS("2026-12-04T10:00:00Z") });
    for (const t of targets) expect(t.window).toEqual(room.window);
  });

  it("turning linked access off removes the common doors from the targets (so plans delete them)", () => {
    const on = targetDoors(makeKey("k1", { doors: [makeEntry("room-101")] }), doors, TZ).targets.map((t) => t.doorId);
    const off = targetDoors(makeKey("k1", { doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false })] }), doors, TZ).targets.map((t) => t.doorId);
    expect(on).toContain("lobby");
    expect(off).not.toContain("lobby");
    expect(off).not.toContain("gym");
  });

  it("a common door reached through two rooms gets the union span of their windows", () => {
    const key = makeKey("k1", {
      doors: [
        makeEntry("room-101", { accessPeriod: { from: "2026-12-01", to: "2026-12-03" } }),
        makeEntry("room-102", { accessPeriod: { from: "2026-12-05", to: "2026-12-07" }, arrivalTime: "12:00", departureTime: "10:00" }),
      ],
    });
    const lobby = targetDoors(key, doors, TZ).targets.find((t) => t.doorId === "lobby");
    expect(lobby?.via).toEqual(["room-101", "room-102"]);
    expect(lobby?.window).toEqual({ validFrom: epochS("2026-12-01T14:00:00Z"), validUntil: epochS("2026-12-07T09:00:00Z") });
    const spa = targetDoors(key, doors, TZ).targets.find((t) => t.doorId === "spa");
    expect(spa?.window).toEqual({ validFrom: epochS("2026-12-05T11:00:00Z"), validUntil: epochS("2026-12-07T09:00:00Z") });
  });

  it("only rooms that allow linked access contribute to a shared door's window", () => {
    const key = makeKey("k1", {
      doors: [
        makeEntry("room-101", { accessPeriod: { from: "2026-12-01", to: "2026-12-03" }, allowLinkedDoorsAccess: false }),
        makeEntry("room-102", { accessPeriod: { from: "2026-12-05", to: "2026-12-07" } }),
      ],
    });
    const lobby = targetDoors(key, doors, TZ).targets.find((t) => t.doorId === "lobby");
    expect(lobby?.via).toEqual(["room-102"]);
    expect(lobby?.window.validFrom).toBe(epochS("2026-12-05T14:00:00Z"));
  });

  it("a linked door inherits allowProvisioning; a room that does not allow it does not widen the window", () => {
    const key = makeKey("k1", {
      doors: [
        makeEntry("room-101", { accessPeriod: { from: "2026-12-01", to: "2026-12-03" }, allowProvisioning: false }),
        makeEntry("room-102", { accessPeriod: { from: "2026-12-05", to: "2026-12-07" } }),
      ],
    });
    const t = targetDoors(key, doors, TZ).targets;
    expect(t.find((x) => x.doorId === "gym")?.allowProvisioning).toBe(false);
    const lobby = t.find((x) => x.doorId === "lobby");
    expect(lobby?.allowProvisioning).toBe(true);
    expect(lobby?.window.validFrom).toBe(epochS("2026-12-05T14:00:00Z"));
  });

  it("an explicit entry for a common door wins over the link", () => {
    const key = makeKey("k1", {
      doors: [makeEntry("room-101"), makeEntry("lobby", { accessPeriod: { from: "2026-12-02", to: "2026-12-02" }, arrivalTime: "08:00", departureTime: "20:00" })],
    });
    const lobby = targetDoors(key, doors, TZ).targets.filter((x) => x.doorId === "lobby");
    expect(lobby).toHaveLength(1);
    expect(lobby[0]?.linked).toBe(false);
    expect(lobby[0]?.window.validFrom).toBe(epochS("2026-12-02T07:00:00Z"));
  });

  it("reports unknown doors, links to rooms or unknown doors, duplicate entries and bad windows", () => {
    const key = makeKey("k1", {
      doors: [
        makeEntry("room-103"),
        makeEntry("room-999"),
        makeEntry("room-103"),
        makeEntry("room-102", { arrivalTime: "25:00" }),
      ],
    });
    const { targets, issues } = targetDoors(key, doors, TZ);
    expect(targets.map((t) => t.doorId)).toEqual(["room-103", "room-999"]);
    expect(issues.map((i) => [i.code, i.doorId])).toEqual([
      ["unknown_door", "room-999"],
      ["duplicate_entry", "room-103"],
      ["invalid_window", "room-102"],
      ["linked_door_not_common", "room-101"],
      ["linked_door_unknown", "ghost"],
    ]);
  });
});

describe("unreachedLinkedDoors", () => {
  it("lists the common doors a room links to but the key cannot open", () => {
    const key = makeKey("k1", { doors: [makeEntry("room-101", { allowLinkedDoorsAccess: false }), makeEntry("room-102")] });
    expect(unreachedLinkedDoors(key, doors)).toEqual([{ roomId: "room-101", doorId: "gym" }]);
  });
});

describe("firstWindowError", () => {
  it("names the payload path of the first bad entry", () => {
    const key = makeKey("k1", { doors: [makeEntry("room-101"), makeEntry("room-102", { accessPeriod: { from: "2026-12-05", to: "2026-12-01" } })] });
    expect(firstWindowError(key, TZ)?.path).toBe("doors[1].accessPeriod.to");
    expect(firstWindowError(makeKey("k2"), TZ)).toBeUndefined();
  });
});
