/**
 * The whole hub (createHub: store, embedded broker, provisioning, cloud sync) driven over
 * MQTT as the cloud would, against simulated locks on a TCP bus: commission, key, retained
 * status, the guest at the door -> access.granted on the event topic; then a hub restart
 * (link keys and sealing counters persisted in the store) and a remote unlock.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import type { KeyStatus } from "../../src/access/model.js";
import { CloudClient, type ReceivedMessage } from "../../src/cloud/index.js";
import { loadConfig } from "../../src/config/index.js";
import { createHub, type Hub } from "../../src/hub.js";
import { loadProfiles } from "../../src/profiles/index.js";
import { createLogger } from "../../src/shared/logger.js";
import { SimLock, startTcpBus } from "../../sim/index.js";
import { simProfileOf } from "../helpers/property.js";
import { REPO_ROOT } from "../helpers/store.js";

const tmp = mkdtempSync(join(tmpdir(), "lb-prov-mqtt-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const silent = createLogger({ level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });

const local = (days: number): string =>
  new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Prague", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(Date.now() + days * 86_400_000));

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("the hub over MQTT with simulated locks", () => {
  it("commission, key, retained status, guest access, restart, remote unlock", async () => {
    const profiles = loadProfiles(join(REPO_ROOT, "device-profiles"));
    const roomLock = new SimLock({ lockId: "4c42000000000101", address: 1, profile: simProfileOf(profiles.get("rs485-mortise")) });
    const lobbyLock = new SimLock({ lockId: "4c42000000000f01", address: 2, profile: simProfileOf(profiles.get("common-door-controller")) });
    const bus = await startTcpBus([roomLock, lobbyLock], { eventNotify: true });
    const config = loadConfig({ env: { LOCKBRIDGE_DATA_DIR: join(tmp, "hub"), LOCKBRIDGE_MQTT_EMBEDDED_PORT: "0", LOCKBRIDGE_BLE_ENABLED: "false" } });
    let hub: Hub = createHub(config, silent);
    await hub.start();
    let cloud = await CloudClient.connect({ url: hub.brokerUrl!, hubId: config.hubId });
    const seen: ReceivedMessage[] = [];
    const listen = (c: CloudClient) => c.onMessage((m) => seen.push(m));
    listen(cloud);
    await cloud.watch([`${cloud.topics.base}/status/#`, cloud.topics.evt]);
    const ok = async (cmd: Record<string, unknown>): Promise<Record<string, unknown>> => {
      const r = await cloud.send(cmd);
      if (!r?.ok) throw new Error(`${String(cmd.cmd)}: ${JSON.stringify(r)}`);
      return r.result as Record<string, unknown>;
    };
    try {
      await ok({ cmd: "site.configure", siteId: "s1", timezone: "Europe/Prague", credentialTypes: { doorCode: true, keycard: true, smartKey: false } });
      const link = (address: number) => ({ type: "tcp", host: bus.host, port: bus.port, address });
      const ident = await ok({ cmd: "lock.commission", lockId: "4C42000000000101", profile: "rs485-mortise", link: link(1), setupKey: roomLock.setupKey });
      expect(ident.ident).toMatchObject({ lockId: "4c42000000000101", model: "NV-M485" });
      await ok({ cmd: "lock.commission", lockId: "4C42000000000F01", profile: "common-door-controller", link: link(2), setupKey: lobbyLock.setupKey });
      await ok({ cmd: "door.upsert", doorId: "lobby", name: "Lobby", lockId: "4C42000000000F01", kind: "common", linkedDoorIds: [], protectConfiguration: false });
      await ok({ cmd: "door.upsert", doorId: "room-101", name: "101", lockId: "4C42000000000101", kind: "room", linkedDoorIds: ["lobby"], protectConfiguration: false });
      const entry = { doorId: "room-101", accessPeriod: { from: local(-1), to: local(2) }, arrivalTime: "00:00", departureTime: "11:00", allowProvisioning: true, allowLinkedDoorsAccess: true };
      await ok({ cmd: "key.upsert", keyId: "k-1", version: 1, source: "manual", doors: [entry], doorCode: { enabled: true, assignment: "random" }, keycard: { enabled: false }, smartKey: { enabled: false } });

      const active = await until("retained active status", () => {
        const m = seen.filter((x) => x.topic === `${cloud.topics.base}/status/keys/k-1` && x.retained !== undefined).at(-1);
        const s = m?.payload as KeyStatus | undefined;
        return s?.state === "active" ? s : undefined;
      });
      expect(active.doors.map((d) => [d.doorId, d.state])).toEqual([["room-101", "active"], ["lobby", "active"]]);
      const code = active.doorCode.code!;
      const lockStatus = await until("lock status", () => {
        const m = seen.filter((x) => x.topic === `${cloud.topics.base}/status/locks/4c42000000000101`).at(-1);
        const p = m?.payload as { online?: boolean; slots?: { doorCode: { used: number } } } | undefined;
        return p?.online === true && p.slots?.doorCode.used === 1 ? p : undefined;
      });
      expect(lockStatus).toMatchObject({ profile: "rs485-mortise", model: "NV-M485" });

      expect(roomLock.enterCode(code).granted).toBe(true);
      const granted = await until("access.granted on MQTT", () =>
        seen.find((x) => x.topic === cloud.topics.evt && (x.payload as { type?: string; keyId?: string }).type === "access.granted"),
      );
      expect(granted.payload).toMatchObject({ type: "access.granted", doorId: "room-101", keyId: "k-1", credential: "doorCode" });
      expect(typeof (granted.payload as { seq: unknown }).seq).toBe("number");

      // Restart: the link key and counters come from the store; the sealed link keeps working.
      await cloud.close();
      await hub.stop();
      hub = createHub(config, silent);
      await hub.start();
      cloud = await CloudClient.connect({ url: hub.brokerUrl!, hubId: config.hubId });
      listen(cloud);
      await cloud.watch([cloud.topics.evt]);
      const unlocked = await cloud.send({ cmd: "door.unlock", doorId: "lobby", seconds: 4 });
      expect(unlocked).toMatchObject({ ok: true });
      expect(lobbyLock.unlocked).toBe(true);
      expect(lobbyLock.enterCode(code).granted).toBe(true);
      await until("door.remote_unlock", () => seen.find((x) => (x.payload as { type?: string }).type === "door.remote_unlock"));
    } finally {
      await cloud.close();
      await hub.stop();
      await bus.close();
      roomLock.dispose();
      lobbyLock.dispose();
    }
  }, 60_000);
});
