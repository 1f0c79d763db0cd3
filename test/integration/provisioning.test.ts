import { describe, expect, it } from "vitest";
import { codeOf, keyPayload, withProperty } from "../helpers/property.js";

describe("provisioning end to end (simulated locks over TCP)", () => {
  it("a manual key becomes active on its room and linked lobby; the guest's code opens both", async () => {
    await withProperty({ rooms: 2, commons: ["lobby"] }, async (p) => {
      const res = await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"]));
      expect(res.keyId).toBe("k-1");
      const status = await p.waitForKey("k-1", (s) => s.state === "active");
      expect(status.doors.map((d) => [d.doorId, d.linked, d.state])).toEqual([
        ["room-101", false, "active"],
        ["lobby", true, "active"],
      ]);
      const code = codeOf(status);
      expect(p.sim("room-101").enterCode(code).granted).toBe(true);
      expect(p.sim("lobby").enterCode(code).granted).toBe(true);
      expect(p.sim("room-102").enterCode(code).granted).toBe(false);
      const granted = await p.waitFor("access.granted on room-101", () =>
        p.events("access.granted").find((e) => e.doorId === "room-101" && e.keyId === "k-1"),
      );
      expect(granted).toMatchObject({ credential: "doorCode", lockId: p.lockIdOf("room-101") });
    });
  });
});
