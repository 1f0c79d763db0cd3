/**
 * Issue 9, the cloud-side findings replayed against the real hub (`lockbridge run` as a
 * process, Mosquitto as its broker, the attacker a plain client of that broker) and shown to
 * fail:
 * - no command key on a real broker: the hub refuses to start (and starts, warning, only when
 *   told to accept unsigned commands);
 * - an unsigned lock.commission re-pointing a commissioned lock to the attacker's host:
 *   refused, nothing changed, the attacker's host never contacted;
 * - an unsigned key.upsert granting itself access: refused, no key, no code;
 * - a door.unlock dated 2030, signed with the genuine key: refused;
 * - a 32 MiB command: answered small on MQTT 3.1.1, dropped by the broker on MQTT 5; the store
 *   does not grow and no log line carries it.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { createServer, type Server } from "node:net";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CloudClient } from "../../src/cloud/ctl-client.js";
import { openStore } from "../../src/store/index.js";
import { connectCloud, TEST_CLOUD_KEY, waitForHubOnline } from "../helpers/cloud.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";
import { spawnLockbridge, type RunningProcess } from "../helpers/process.js";

const LOCK_ID = "4c42000000000101";
const GENUINE = { type: "tcp", host: "127.0.0.1", port: 4901, address: 1 } as const;

let broker: Mosquitto;
const procs: RunningProcess[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  await broker?.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
afterEach(async () => {
  for (const p of procs.splice(0)) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
    p.kill("SIGTERM");
    await p.waitForExit(10_000).catch(() => p.kill("SIGKILL"));
  }
});

/** A data dir holding a commissioned lock on the genuine host (as a hub in service has). */
function dataDirWithLock(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lockbridge-attack-"));
  dirs.push(dir);
  const store = openStore(path.join(dir, "lockbridge.db"));
  store.locks.upsert({ lockId: LOCK_ID, profileId: "rs485-mortise", link: GENUINE });
  store.locks.setLinkKey(LOCK_ID, randomBytes(16));
  store.locks.setState(LOCK_ID, "commissioned");
  store.close();
  return dir;
}

function hubEnv(dataDir: string, hubId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    LOCKBRIDGE_DATA_DIR: dataDir,
    LOCKBRIDGE_HUB_ID: hubId,
    LOCKBRIDGE_MQTT_URL: broker.url,
    LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY: TEST_CLOUD_KEY.publicPem,
    LOCKBRIDGE_BLE_ENABLED: "false",
    LOCKBRIDGE_LOG_LEVEL: "info",
    ...extra,
  };
}

async function startHub(env: Record<string, string>): Promise<RunningProcess> {
  const hub = spawnLockbridge(["run"], { env });
  procs.push(hub);
  await hub.waitForLog("connected to the MQTT broker", 20_000);
  return hub;
}

describe("a hub without a command key on a real broker", () => {
  it("refuses to start and says why; starts with a warning only when told to accept unsigned commands", async () => {
    const dir = dataDirWithLock();
    const env = hubEnv(dir, "hub-nokey", { LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY: "" });
    const refused = spawnLockbridge(["run"], { env });
    procs.push(refused);
    const exit = await refused.waitForExit(20_000);
    expect(exit.code).toBe(1);
    expect(refused.stdout.join("\n")).toContain("cloud.commandPublicKey");

    const allowed = await startHub({ ...env, LOCKBRIDGE_CLOUD_ALLOW_UNSIGNED_COMMANDS: "true" });
    const warning = allowed.stdout.map((l) => JSON.parse(l) as { level: string; security?: string; msg: string }).find((l) => l.security === "unsigned_commands_allowed");
    expect(warning).toMatchObject({ level: "warn", msg: expect.stringContaining("every client of the broker can send commands") });
  });
});

describe("start warnings for a weak broker connection", () => {
  it("logs one for unchecked TLS certificates and one for a password sent in clear to another host; never the password", async () => {
    const dir = dataDirWithLock();
    const tls = path.join(dir, "tls.yaml");
    fs.writeFileSync(tls, "mqtt:\n  url: mqtts://192.0.2.10:8883\n  tls:\n    rejectUnauthorized: false\n");
    const clear = spawnLockbridge(["run"], { env: { ...hubEnv(dir, "hub-warn", { LOCKBRIDGE_MQTT_URL: "mqtt://192.0.2.10:1883", LOCKBRIDGE_MQTT_USERNAME: "hub", LOCKBRIDGE_MQTT_PASSWORD: "s3cret-in-clear" }) } });
    procs.push(clear);
    const warned = await clear.waitForLine((l) => l.includes('"security":"password_in_clear"'));
    expect(warned).toContain("mqtts://");
    clear.kill("SIGTERM");
    await clear.waitForExit(10_000);
    expect(clear.stdout.join("\n")).not.toContain("s3cret-in-clear");

    const unchecked = spawnLockbridge(["run", "--config", tls], { env: { ...hubEnv(dir, "hub-warn"), LOCKBRIDGE_MQTT_URL: "" } });
    procs.push(unchecked);
    expect(await unchecked.waitForLine((l) => l.includes('"security":"tls_not_verified"'))).toContain("rejectUnauthorized is false");
  });
});

describe("a broker-level attacker against a hub with the cloud's command key", () => {
  let hub: RunningProcess;
  let dataDir: string;
  let attacker: CloudClient;
  let cloud: CloudClient;
  let attackerHost: Server;
  let attackerContacted = 0;

  beforeAll(async () => {
    dataDir = dataDirWithLock();
    attackerHost = createServer((s) => {
      attackerContacted++;
      s.destroy();
    });
    await new Promise<void>((r) => attackerHost.listen(0, "127.0.0.1", r));
    hub = spawnLockbridge(["run"], { env: hubEnv(dataDir, "hub-attacked", { LOCKBRIDGE_MQTT_PROTOCOL_VERSION: "4" }) });
    await hub.waitForLog("connected to the MQTT broker", 20_000);
    attacker = await connectCloud({ url: broker.url, hubId: "hub-attacked", signingKey: undefined });
    cloud = await connectCloud({ url: broker.url, hubId: "hub-attacked" });
    await waitForHubOnline(cloud);
  });
  afterAll(async () => {
    await attacker?.close();
    await cloud?.close();
    hub?.kill("SIGTERM");
    await hub?.waitForExit(10_000).catch(() => hub.kill("SIGKILL"));
    await new Promise((r) => attackerHost.close(r));
  });

  const lockInStore = () => {
    const store = openStore(path.join(dataDir, "lockbridge.db"));
    try {
      return { lock: store.locks.get(LOCK_ID), keys: store.keys.ids(), inbox: store.inbox.count(), size: store.sizeBytes() };
    } finally {
      store.close();
    }
  };

  it("an unsigned lock.commission re-pointing the lock is refused; the lock keeps its link and key", async () => {
    const before = lockInStore().lock!;
    const port = (attackerHost.address() as { port: number }).port;
    const res = await attacker.send({ cmd: "lock.commission", lockId: LOCK_ID, profile: "rs485-mortise", link: { type: "tcp", host: "127.0.0.1", port, address: 1 } });
    expect(res).toMatchObject({ ok: false, error: { code: "unauthorized", path: "sig" } });
    const after = lockInStore().lock!;
    expect(after.link).toEqual(GENUINE);
    expect(after.linkKey!.equals(before.linkKey!)).toBe(true);
    expect(after.state).toBe("commissioned");
    await new Promise((r) => setTimeout(r, 300));
    expect(attackerContacted).toBe(0);
  });

  it("an unsigned key.upsert is refused: no key, no code", async () => {
    const res = await attacker.send({
      cmd: "key.upsert", keyId: "k-evil", version: 1, source: "manual",
      doors: [{ doorId: "room-101", accessPeriod: { from: "2026-01-01", to: "2030-12-31" }, arrivalTime: "00:00", departureTime: "23:59", allowProvisioning: true, allowLinkedDoorsAccess: true }],
      doorCode: { enabled: true, assignment: "strict", code: "123456" },
    });
    expect(res).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    expect(lockInStore().keys).toEqual([]);
    // A forged signature (another key) fares no better.
    const forged = await connectCloud({ url: broker.url, hubId: "hub-attacked", signingKey: (await import("node:crypto")).generateKeyPairSync("ed25519").privateKey });
    expect(await forged.send({ cmd: "key.remove", keyId: "k-1", version: 9 })).toMatchObject({ ok: false, error: { code: "unauthorized", path: "sig" } });
    await forged.close();
  });

  it("a door.unlock dated 2030 is refused even when signed with the genuine key", async () => {
    const res = await cloud.send({ cmd: "door.unlock", doorId: "room-101", seconds: 5, ts: "2030-01-01T00:00:00Z" });
    expect(res).toMatchObject({ ok: false, error: { code: "invalid_payload", path: "ts" } });
  });

  it("a 32 MiB command is answered small and refused unread: the store does not grow, no log line carries it", async () => {
    const before = lockInStore();
    const huge = JSON.stringify({ id: "huge-1", cmd: "site.configure", ts: new Date().toISOString(), siteId: "x".repeat(32 * 1024 * 1024), timezone: "UTC" });
    const answered = new Promise<{ payload: unknown; bytes: number }>((resolve) => {
      attacker.onMessage((m) => {
        if (m.topic === attacker.topics.res && (m.payload as { error?: { code?: string } }).error?.code === "payload_too_large") resolve({ payload: m.payload, bytes: m.packet.payload.length });
      });
    });
    await attacker.sendRaw(huge, undefined, { wait: false });
    const { payload, bytes } = await answered;
    expect(payload).toMatchObject({ id: null, ok: false, error: { code: "payload_too_large" } });
    expect(bytes).toBeLessThan(512);
    // The hub still serves the genuine cloud.
    expect(await cloud.send({ cmd: "status.get" })).toMatchObject({ ok: true });
    const after = lockInStore();
    expect(after.inbox).toBe(before.inbox + 1); // the status.get only
    expect(after.size).toBeLessThan(before.size + 1024 * 1024);
    expect(Math.max(...hub.stdout.map((l) => l.length))).toBeLessThan(8 * 1024);
  });
});

describe("a 32 MiB command to an MQTT 5 hub", () => {
  it("is dropped by the broker (the hub's maximum packet size): the hub stays up and keeps answering", async () => {
    const dir = dataDirWithLock();
    const hub = await startHub(hubEnv(dir, "hub-v5", { LOCKBRIDGE_MQTT_PROTOCOL_VERSION: "5" }));
    const cloud = await connectCloud({ url: broker.url, hubId: "hub-v5", protocolVersion: 5 });
    try {
      const raw = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clean: true });
      await raw.publishAsync("lockbridge/v1/hub-v5/cmd", JSON.stringify({ id: "huge-5", cmd: "status.get", ts: new Date().toISOString(), pad: "x".repeat(32 * 1024 * 1024) }), { qos: 1 });
      await raw.endAsync();
      expect(await cloud.send({ cmd: "status.get" })).toMatchObject({ ok: true });
      expect(hub.child.exitCode).toBeNull();
      expect(Math.max(...hub.stdout.map((l) => l.length))).toBeLessThan(8 * 1024);
      const store = openStore(path.join(dir, "lockbridge.db"));
      try {
        expect(store.inbox.get("huge-5")).toBeUndefined();
      } finally {
        store.close();
      }
    } finally {
      await cloud.close();
    }
  });
});
