/**
 * Issue 15, BLE: firmware through the real hub's BLE stack (`lockbridge run` with a BLE proxy,
 * the simulator's proxy server standing in for the adapter), at ATT MTU 23 (a 1,000-byte chunk
 * in 20-byte writes) and 247. Two deadbolts updated under firmware.bleTransfersPerAdapter = 2
 * (both transfers seen at once), a guest's code on one of them works before and after.
 */
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadProfiles } from "../../src/profiles/index.js";
import { lockProfileFromDevice, SimLock, startBleProxy } from "../../sim/index.js";
import { guestKey, serveImage, startFirmwareRig, until, type ImageServer } from "../helpers/firmware-rig.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";
import { REPO_ROOT } from "../helpers/store.js";

const PROFILE = "ble-deadbolt";
const deadbolt = lockProfileFromDevice(loadProfiles(path.join(REPO_ROOT, "device-profiles")).get(PROFILE));
const image = randomBytes(10_000);
const sha256 = createHash("sha256").update(image).digest("hex");

let broker: Mosquitto;
let server: ImageServer;
beforeAll(async () => {
  broker = await startMosquitto();
  server = await serveImage(image);
});
afterAll(async () => {
  await broker?.close();
  await server?.close();
});

describe.each([23, 247])("firmware over BLE, ATT MTU %i", (mtu) => {
  it("updates two deadbolts at once (cap 2 per adapter); the guest's code works before and after", async () => {
    const ids = [`4c420000000b${mtu.toString(16).padStart(2, "0")}01`, `4c420000000b${mtu.toString(16).padStart(2, "0")}02`];
    const locks = ids.map((lockId) => new SimLock({ lockId, address: 1, profile: deadbolt, fwRestartMs: 500 }));
    for (const l of locks) l.setSlow(mtu === 23 ? 5 : 20);
    const proxy = await startBleProxy(locks, { mtu });
    const rig = await startFirmwareRig(broker, `fwble${mtu}`, { LOCKBRIDGE_BLE_ENABLED: "true", LOCKBRIDGE_BLE_PROXY: `${proxy.host}:${proxy.port}`, LOCKBRIDGE_FIRMWARE_BLE_TRANSFERS: "2" });
    try {
      for (const [i, l] of locks.entries()) {
        await rig.send({ cmd: "lock.commission", lockId: ids[i], profile: PROFILE, link: { type: "ble", lockId: ids[i] }, setupKey: l.setupKey });
        await rig.send({ cmd: "door.upsert", doorId: `room-${201 + i}`, name: `${201 + i}`, lockId: ids[i], kind: "room", linkedDoorIds: [], protectConfiguration: false });
      }
      await rig.send(guestKey("k-ble", "room-201", "604817"));
      await until("the guest's code on the deadbolt", () => locks[0]!.enterCode("604817").granted, 60_000, 50);

      let both = false;
      const sampler = setInterval(() => {
        if (locks.every((l) => l.firmwareOffset !== null)) both = true;
      }, 5);
      try {
        await rig.send({ cmd: "firmware.update", jobId: `fw-ble-${mtu}`, lockIds: ids, version: "4.0.0", url: server.url, sha256, size: image.length });
        for (const id of ids) {
          const done = await until(`lock ${id} done`, () => rig.events().find((e) => (e.type === "firmware.applied" || e.type === "firmware.failed") && e.lockId === id), 120_000, 50);
          expect(done, JSON.stringify(done)).toMatchObject({ type: "firmware.applied", version: "4.0.0", tablesChecked: true });
        }
      } finally {
        clearInterval(sampler);
      }
      expect(both).toBe(true);
      for (const l of locks) {
        expect(l.firmware).toBe("4.0.0");
        expect(l.executionCount("FW_BEGIN")).toBe(1);
        expect(l.executionCount("FW_CHUNK")).toBe(Math.ceil(image.length / 1000));
      }
      expect(locks[0]!.enterCode("604817").granted).toBe(true);
    } finally {
      await rig.close();
      await proxy.close();
    }
  }, 240_000);
});
