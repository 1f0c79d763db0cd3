// Property files: zod validation with errors naming the field, profiles from device-profiles/.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Capability } from "../../../src/protocol/llp/index.js";
import { loadLockProfile } from "../../../sim/fleet/profiles.js";
import { loadProperty, parseProperty, propertyDoors } from "../../../sim/fleet/property.js";
import { DEMO_PROPERTY } from "../../../sim/cli.js";

const base = { name: "Test", buses: [{ id: "b1" }], rooms: [{ doorId: "r1", name: "R1", link: { bus: "b1", address: 1 } }] };
const error = (raw: unknown) => {
  try {
    parseProperty(raw, "p.yaml");
  } catch (e) {
    return (e as Error).message;
  }
  return "no error";
};

describe("property files", () => {
  it("accepts a minimal property with defaults", () => {
    const p = parseProperty(base);
    expect(p.buses[0]).toMatchObject({ type: "tcp", host: "127.0.0.1", port: 0, eventNotify: false });
    expect(p.rooms[0]!.profile).toBe("sim-room");
  });

  it("names the bad field", () => {
    expect(error({ ...base, rooms: [{ ...base.rooms[0], link: { bus: "b1", address: 251 } }] })).toMatch(/^p\.yaml: rooms\[0\]\.link/);
    expect(error({ ...base, rooms: [{ ...base.rooms[0], link: { bus: "nope", address: 1 } }] })).toBe('p.yaml: rooms[0].link.bus: no bus "nope" in buses');
    expect(error({ ...base, rooms: [base.rooms[0], { ...base.rooms[0], doorId: "r2" }] })).toMatch(/rooms\[1\]\.link\.address: address 1 on bus "b1" is also used by rooms\[0\]/);
    expect(error({ ...base, rooms: [{ ...base.rooms[0], link: { ble: true } }] })).toMatch(/rooms\[0\]\.link: a BLE lock needs a ble: section/);
    expect(error({ ...base, rooms: [{ ...base.rooms[0], linkedDoorIds: ["pool"] }] })).toMatch(/rooms\[0\]\.linkedDoorIds\[0\]: "pool" is not a common door/);
    expect(error({ ...base, extra: 1 })).toMatch(/\(top level\)|extra/);
    expect(error({ ...base, rooms: [{ ...base.rooms[0], lockId: "xyz" }] })).toMatch(/rooms\[0\]\.lockId: expected a lockId of 16 hex digits/);
  });

  it("an unknown key is named by its own path, top level too (fuzz regression, seed 1306425408)", () => {
    const e = (raw: unknown) => {
      try {
        parseProperty(raw, "p.yaml");
      } catch (err) {
        return err as { path?: string; message: string };
      }
      return undefined;
    };
    expect(e({ ...base, "timezg $#/Ud buses": null })).toMatchObject({ path: "timezg $#/Ud buses", message: 'p.yaml: timezg $#/Ud buses: unknown key "timezg $#/Ud buses"' });
    expect(e({ ...base, rooms: [{ ...base.rooms[0], colour: "red" }] })?.path).toBe("rooms[0].colour");
    // A key with no name (seed 1136370441): the file is where.
    expect(e({ ...base, "": 1 })).toMatchObject({ path: "p.yaml", message: 'p.yaml: (top level): unknown key ""' });
  });

  it("reports a file that is not YAML", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sim-prop-"));
    await writeFile(join(dir, "bad.yaml"), "rooms: [\n");
    await expect(loadProperty(join(dir, "bad.yaml"))).rejects.toMatchObject({ code: "config_invalid", message: expect.stringMatching(/not valid YAML/) });
  });

  it("the demo property: 12 rooms on one bus (1..12), lobby and gym linked to every room, two BLE locks", async () => {
    const p = await loadProperty(DEMO_PROPERTY);
    const doors = propertyDoors(p);
    const rooms = doors.filter((d) => d.kind === "room");
    const onBus = rooms.filter((d) => "bus" in d.link && d.link.bus === "rooms");
    expect(onBus.map((d) => ("address" in d.link ? d.link.address : 0))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(rooms.filter((d) => "ble" in d.link)).toHaveLength(2);
    for (const r of rooms) expect(r.linkedDoorIds.sort()).toEqual(["gym", "lobby"]);
    const lobby = loadLockProfile(doors.find((d) => d.doorId === "lobby")!.profile as string);
    expect(lobby.codeSlots).toBeGreaterThanOrEqual(rooms.length * 2);
  });

  it("reads a lock model from device-profiles/", () => {
    const p = loadLockProfile("rs485-mortise");
    expect(p).toMatchObject({ model: "NV-M485", codeSlots: 32, cardSlots: 32, mobileKeySlots: 0, codeMinLen: 4, codeMaxLen: 8 });
    expect(p.capabilities & Capability.MOBILE_KEYS).toBe(0);
    expect(p.capabilities & Capability.SEALING).toBe(Capability.SEALING);
    expect(() => loadLockProfile("no-such-model")).toThrow(/cannot read/);
  });
});
