// `--commission`: the simulator puts its property into a hub over the MQTT contract. The hub
// side here is a scripted responder on a real (embedded aedes) broker: it checks what the
// simulator sends, in which order, and that it waits for each response.
import mqtt from "mqtt";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { startEmbeddedBroker } from "../../src/cloud/embedded-broker.js";
import { commissionIntoHub } from "../../sim/fleet/commission.js";
import { Fleet } from "../../sim/fleet/fleet.js";
import { parseProperty } from "../../sim/fleet/property.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe("commission into a hub", () => {
  it("sends site.configure, lock.commission per lock, door.upsert (common doors first), one at a time", async () => {
    const broker = await startEmbeddedBroker(0, pino({ level: "silent" }));
    cleanup.push(() => broker.close());
    const fleet = await Fleet.start(
      parseProperty({
        name: "Tiny Inn",
        buses: [{ id: "b" }],
        ble: {},
        rooms: [
          { doorId: "r1", name: "Room 1", link: { bus: "b", address: 1 }, profile: "rs485-mortise" },
          { doorId: "r2", name: "Room 2", link: { ble: true }, profile: "ble-deadbolt" },
        ],
        commonDoors: [{ doorId: "lobby", name: "Lobby", link: { bus: "b", address: 2 }, profile: "common-door-controller", linkedToAllRooms: true }],
      }),
    );
    cleanup.push(() => fleet.close());
    const hub = await mqtt.connectAsync(broker.url);
    cleanup.push(() => hub.endAsync());
    const seen: Record<string, unknown>[] = [];
    let inFlight = 0;
    let overlap = false;
    await hub.subscribeAsync("lockbridge/v1/hub-1/cmd", { qos: 1 });
    hub.on("message", (_t, payload) => {
      const cmd = JSON.parse(payload.toString()) as Record<string, unknown>;
      seen.push(cmd);
      if (++inFlight > 1) overlap = true;
      const fail = cmd.cmd === "lock.commission" && cmd.lockId === fleet.find("r2").lock.lockId;
      setTimeout(() => {
        inFlight--;
        const res = fail
          ? { id: cmd.id, cmd: cmd.cmd, ok: false, error: { code: "lock_offline", message: "not found" } }
          : { id: cmd.id, cmd: cmd.cmd, ok: true, result: {} };
        void hub.publishAsync("lockbridge/v1/hub-1/res", JSON.stringify(res), { qos: 1 });
      }, 5);
    });

    const report = await commissionIntoHub(fleet.ready(null), { url: broker.url, hubId: "hub-1", timeoutMs: 5000 });
    expect(overlap).toBe(false);
    expect(seen.map((c) => `${String(c.cmd)} ${String(c.doorId ?? c.lockId ?? c.siteId)}`)).toEqual([
      "site.configure tiny-inn",
      `lock.commission ${fleet.find("r1").lock.lockId}`,
      `lock.commission ${fleet.find("r2").lock.lockId}`,
      `lock.commission ${fleet.find("lobby").lock.lockId}`,
      "door.upsert lobby",
      "door.upsert r1",
      "door.upsert r2",
    ]);
    expect(seen[1]).toMatchObject({ profile: "rs485-mortise", link: { type: "tcp", host: "127.0.0.1", address: 1 } });
    expect(seen[2]).toMatchObject({ profile: "ble-deadbolt", link: { type: "ble", lockId: fleet.find("r2").lock.lockId } });
    expect(seen[5]).toMatchObject({ kind: "room", linkedDoorIds: ["lobby"], lockId: fleet.find("r1").lock.lockId, protectConfiguration: false });
    for (const c of seen) expect(typeof c.ts === "string" && typeof c.id === "string").toBe(true);
    expect(report.sent).toBe(7);
    expect(report.failed).toEqual([{ cmd: "lock.commission", target: "r2", error: "lock_offline: not found" }]);
  });
});
