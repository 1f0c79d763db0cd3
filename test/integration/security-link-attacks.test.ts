/**
 * Issue 9, the lock-link findings replayed against the real hub (`lockbridge run` as its own
 * process, Mosquitto as its broker, the cloud a signing MQTT client) with an attacker on the
 * lock's link, over TCP (a serial server) and over a socat pseudo-terminal (the bus):
 *
 * - a forged "I lost my key" (unsealed NAK NOT_AUTHENTICATED): no PAIR, no code in clear, the
 *   impostor's PAIR_KX answer is refused (`pairing_unconfirmed` upstream), and the genuine lock
 *   keeps its key and works once the attacker is gone;
 * - an impostor answering PAIR_KX at commissioning without the setup key: refused, nothing
 *   sealed sent to it; the genuine lock then commissions and works;
 * - unsealed IDENT answers with another lockId: the lock stays in service (no lock.replaced),
 *   `unsealed_from_paired_lock` upstream;
 * - a replayed sealed answer: dropped, `replay` upstream.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CloudClient } from "../../src/cloud/ctl-client.js";
import { Cmd, type Frame } from "../../src/protocol/llp/index.js";
import { lockProfileFromDevice, SimLock } from "../../sim/index.js";
import { loadProfiles } from "../../src/profiles/index.js";
import { connectCloud, TEST_CLOUD_KEY, waitForHubOnline } from "../helpers/cloud.js";
import { guessedPairKx, hostilePtyLink, hostileTcpLink, mortiseIdent, unsealedIdent, unsealedNotAuthenticated, type HostileLink } from "../helpers/hostile-link.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";
import { spawnLockbridge, type RunningProcess } from "../helpers/process.js";
import { REPO_ROOT } from "../helpers/store.js";

const PROFILE = "rs485-mortise";
const mortise = lockProfileFromDevice(loadProfiles(path.join(REPO_ROOT, "device-profiles")).get(PROFILE));

let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker?.close());

const local = (days: number): string =>
  new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Prague", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(Date.now() + days * 86_400_000));

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Rig {
  hub: RunningProcess;
  cloud: CloudClient;
  events: Record<string, unknown>[];
  close(): Promise<void>;
}

async function startRig(name: string): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lb-linkattack-${name}-`));
  const hubId = `hub-${name}`;
  const hub = spawnLockbridge(["run"], {
    env: {
      LOCKBRIDGE_DATA_DIR: dir, LOCKBRIDGE_HUB_ID: hubId, LOCKBRIDGE_MQTT_URL: broker.url,
      LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY: TEST_CLOUD_KEY.publicPem, LOCKBRIDGE_BLE_ENABLED: "false", LOCKBRIDGE_LOG_LEVEL: process.env.LOCKBRIDGE_TEST_DUMP ? "debug" : "info",
    },
  });
  try {
    return await connectRig(name, dir, hubId, hub);
  } catch (e) {
    hub.kill("SIGKILL"); // a rig that failed to start leaves no hub behind
    throw e;
  }
}

async function connectRig(name: string, dir: string, hubId: string, hub: RunningProcess): Promise<Rig> {
  await hub.waitForLog("connected to the MQTT broker", 20_000);
  const cloud = await connectCloud({ url: broker.url, hubId });
  const events: Record<string, unknown>[] = [];
  cloud.onMessage((m) => {
    if (m.topic === cloud.topics.evt) events.push(m.payload as Record<string, unknown>);
  });
  await cloud.watch([cloud.topics.evt]);
  await waitForHubOnline(cloud);
  const ok = await cloud.send({ cmd: "site.configure", siteId: "s1", timezone: "Europe/Prague", credentialTypes: { doorCode: true, keycard: true, smartKey: false } });
  expect(ok?.ok).toBe(true);
  return {
    hub, cloud, events,
    async close() {
      if (process.env.LOCKBRIDGE_TEST_DUMP) fs.writeFileSync(path.join(process.env.LOCKBRIDGE_TEST_DUMP, `${name}.log`), hub.stdout.join("\n"));
      await cloud.close();
      hub.kill("SIGTERM");
      await hub.waitForExit(10_000).catch(() => hub.kill("SIGKILL"));
      // Secrets never reach the log, whatever happened on the link.
      expect(hub.stdout.join("\n")).not.toMatch(/482916|915273/);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const LOCK_ID = "4c42000000000a01";
const key = (keyId: string, code: string) => ({
  cmd: "key.upsert", keyId, version: 1, source: "manual", holder: { name: "Guest" },
  doors: [{ doorId: "room-101", accessPeriod: { from: local(-1), to: local(2) }, arrivalTime: "00:00", departureTime: "11:00", allowProvisioning: true, allowLinkedDoorsAccess: false }],
  doorCode: { enabled: true, assignment: "strict", code },
});

/** Commissions the lock behind the link and puts k-1 (code 482916) on it. */
async function inService(rig: Rig, l: HostileLink, lock: SimLock): Promise<void> {
  const res = await rig.cloud.send({ cmd: "lock.commission", lockId: LOCK_ID, profile: PROFILE, link: l.link, setupKey: lock.setupKey });
  expect(res, JSON.stringify(res)).toMatchObject({ ok: true });
  expect((await rig.cloud.send({ cmd: "door.upsert", doorId: "room-101", name: "101", lockId: LOCK_ID, kind: "room", linkedDoorIds: [], protectConfiguration: false }))?.ok).toBe(true);
  expect((await rig.cloud.send(key("k-1", "482916")))?.ok).toBe(true);
  await until("k-1 on the lock", () => lock.enterCode("482916").granted, 60_000);
}

const alert = (rig: Rig, reason: string) => rig.events.find((e) => e.type === "lock.security_alert" && e.reason === reason && e.lockId === LOCK_ID);
const hasSecret = (raw: Buffer[], secret: string) => raw.some((b) => b.includes(Buffer.from(secret, "ascii")));

describe.each([
  ["TCP (serial server)", hostileTcpLink],
  ["socat pseudo-terminal (RS-485 bus)", hostilePtyLink],
] as const)("an attacker on the lock's link, over %s", (_name, open) => {
  it("a forged 'I lost my key' gets no PAIR and no code in clear; the impostor's PAIR_KX is refused; the genuine lock keeps working", async () => {
    const rig = await startRig(`lost-${open === hostileTcpLink ? "tcp" : "pty"}`);
    const lock = new SimLock({ lockId: LOCK_ID, address: 3, profile: mortise });
    const l = await open(lock, 3);
    try {
      await inService(rig, l, lock);
      const keyBefore = Buffer.from(lock.linkKey!);
      const from = l.wire.fromHub.length;
      // The attacker answers everything in the lock's place: "not authenticated", and a guessed PAIR_KX.
      l.wire.forge = (f: Frame) => (f.cmd === Cmd.PAIR_KX ? guessedPairKx(f) : unsealedNotAuthenticated(f));
      expect((await rig.cloud.send(key("k-2", "915273")))?.ok).toBe(true);
      const unconfirmed = await until("pairing_unconfirmed upstream", () => alert(rig, "pairing_unconfirmed"), 45_000);
      expect(unconfirmed).toMatchObject({ doorId: "room-101" });
      const sent = l.wire.since(from);
      expect(sent.some((f) => f.cmd === Cmd.PAIR)).toBe(false);
      expect(sent.filter((f) => f.cmd === Cmd.PAIR_KX).length).toBeLessThanOrEqual(2); // rate-limited
      expect(hasSecret(l.wire.rawFromHub, "482916") || hasSecret(l.wire.rawFromHub, "915273")).toBe(false);
      expect(sent.filter((f) => f.cmd === Cmd.PUT_CREDENTIAL).every((f) => f.sec)).toBe(true);
      // The attacker leaves: the genuine lock still holds its key and gets the new code, sealed.
      l.wire.forge = undefined;
      await until("k-2 on the genuine lock", () => lock.enterCode("915273").granted, 90_000);
      expect(lock.linkKey!.equals(keyBefore)).toBe(true);
      expect(lock.enterCode("482916").granted).toBe(true);
      expect(rig.events.some((e) => e.type === "lock.replaced")).toBe(false);
    } finally {
      await l.close();
      await rig.close();
    }
  }, 180_000);

  it("an impostor answering PAIR_KX without the setup key is refused at commissioning and receives nothing sealed; the genuine lock then commissions", async () => {
    const rig = await startRig(`kx-${open === hostileTcpLink ? "tcp" : "pty"}`);
    const lock = new SimLock({ lockId: LOCK_ID, address: 4, profile: mortise });
    const l = await open(null, 4);
    try {
      l.wire.forge = (f) => (f.cmd === Cmd.IDENT ? unsealedIdent(f, mortiseIdent(LOCK_ID)) : f.cmd === Cmd.PAIR_KX ? guessedPairKx(f) : unsealedNotAuthenticated(f));
      const refused = await rig.cloud.send({ cmd: "lock.commission", lockId: LOCK_ID, profile: PROFILE, link: l.link, setupKey: lock.setupKey });
      expect(refused).toMatchObject({ ok: false, error: { code: "lock_rejected", path: "setupKey" } });
      expect((refused as { error: { message: string } }).error.message).toMatch(/did not prove the setup key/);
      expect(l.wire.fromHub.some((f) => f.sec)).toBe(false);
      expect(l.wire.fromHub.some((f) => f.cmd === Cmd.PAIR)).toBe(false);
      await until("pairing_unconfirmed upstream", () => alert(rig, "pairing_unconfirmed"));
      // The genuine lock at the link: commissioned, and its guest's code works.
      l.wire.forge = undefined;
      l.wire.lock = lock;
      await inService(rig, l, lock);
    } finally {
      await l.close();
      await rig.close();
    }
  }, 120_000);

  it("unsealed IDENT answers with another lockId do not take the lock out of service; unsealed_from_paired_lock goes upstream", async () => {
    const rig = await startRig(`ident-${open === hostileTcpLink ? "tcp" : "pty"}`);
    const lock = new SimLock({ lockId: LOCK_ID, address: 5, profile: mortise });
    const l = await open(lock, 5);
    try {
      await inService(rig, l, lock);
      l.wire.forge = (f) => unsealedIdent(f, mortiseIdent("4c42deadbeef0001"));
      await until("unsealed_from_paired_lock upstream", () => alert(rig, "unsealed_from_paired_lock"), 45_000);
      l.wire.forge = undefined;
      expect((await rig.cloud.send(key("k-2", "915273")))?.ok).toBe(true);
      await until("k-2 on the genuine lock", () => lock.enterCode("915273").granted, 90_000);
      expect(rig.events.some((e) => e.type === "lock.replaced")).toBe(false);
      const status = await rig.cloud.send({ cmd: "status.get" });
      expect(JSON.stringify(status)).not.toContain("4c42deadbeef0001");
    } finally {
      await l.close();
      await rig.close();
    }
  }, 180_000);
});

describe("an attacker on the lock's link (TCP)", () => {
  it("a replayed sealed answer is dropped and reported as replay", async () => {
    const rig = await startRig("replay");
    const lock = new SimLock({ lockId: LOCK_ID, address: 6, profile: mortise });
    const l = await hostileTcpLink(lock, 6);
    try {
      await inService(rig, l, lock);
      // The attacker records the lock's sealed answers by SEQ and plays an old one back.
      const recorded = new Map<number, Buffer>();
      l.wire.forge = (f, genuine) => {
        const old = recorded.get(f.seq);
        const fresh = genuine();
        if (fresh) recorded.set(f.seq, fresh);
        return old ?? fresh;
      };
      await until("replay upstream", () => alert(rig, "replay"), 60_000);
      l.wire.forge = undefined;
      // Visible where an installer looks: the lock's retained status and diagnose.
      const statusTopic = `${rig.cloud.topics.base}/status/locks/${LOCK_ID}`;
      const statuses: Record<string, unknown>[] = [];
      rig.cloud.onMessage((m) => {
        if (m.topic === statusTopic) statuses.push(m.payload as Record<string, unknown>);
      });
      await rig.cloud.watch([statusTopic]);
      const status = await until("lock status naming the alert", () => statuses.find((x) => JSON.stringify(x.securityAlerts ?? []).includes('"replay"')));
      expect(status).toMatchObject({ lockId: LOCK_ID, doorIds: ["room-101"], link: l.link, state: "commissioned" });
      const diag = await rig.cloud.send({ cmd: "diagnose", doorId: "room-101" });
      expect(JSON.stringify(diag)).toContain("lock_security_alert");
      expect(JSON.stringify(diag)).toContain("replay");
      expect((await rig.cloud.send(key("k-2", "915273")))?.ok).toBe(true);
      await until("k-2 on the genuine lock", () => lock.enterCode("915273").granted, 90_000);
    } finally {
      await l.close();
      await rig.close();
    }
  }, 180_000);
});
