/**
 * The hub process on a full data disk (root: the data dir is a 16 MiB tmpfs filled to the last
 * byte; skipped otherwise). Found by the chaos run's "data disk full" fault: the hub exited
 * (an uncaught SqliteError from a timer; at start, ENOSPC on its pid file) and answered ok for
 * commands whose commit had failed. Now: it stays up, refuses a command it cannot commit with
 * `internal` naming the full disk (unstored), answers reads, keeps what it had committed, and
 * applies the cloud's resend of the same id exactly once after space returns; a hub started
 * on a full disk runs and connects once there is room.
 *
 * Also a hub started on a full disk after a crash left a write-ahead log whose index SQLite
 * must write before it can read the store: found by the chaos run at 269790f, where the open
 * failed with "disk I/O error", the hub called its sound store "damaged" and exited, again at
 * every restart (systemd gives up after 10). Now it says the disk is full, waits for room
 * without touching the file, and opens the store with everything in it.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { signCommand } from "../../src/cloud/signing.js";
import { DataDisk } from "../../chaos/disk.js";
import { STORE_FILE } from "../../src/store/datadir.js";
import type { CloudClient } from "../../src/cloud/ctl-client.js";
import { connectCloud, TEST_CLOUD_KEY, waitForHubOnline } from "../helpers/cloud.js";
import { startMosquitto } from "../helpers/mosquitto.js";
import { spawnLockbridge, type RunningProcess } from "../helpers/process.js";

const root = mkdtempSync(join(tmpdir(), "lb-hub-diskfull-"));
// One small tmpfs per test (each fills its own); null without root or mount(8).
const disks = [DataDisk.mount(join(root, "data-1"), 16), DataDisk.mount(join(root, "data-2"), 16)];
const resources: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of resources.splice(0).reverse()) await Promise.resolve(close()).catch(() => undefined);
});
const canFill = disks.every((d) => d !== null);
const cleanupRoot = () => {
  for (const d of disks) d?.unmount();
  rmSync(root, { recursive: true, force: true });
};
if (!canFill) cleanupRoot();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A broker, a cloud and a hub process whose data dir is `disk`; `ok` sends a command that must succeed. */
async function hubOnDisk(disk: DataDisk, hubId: string) {
  const broker = await startMosquitto();
  resources.push(() => broker.close());
  const startHub = (): RunningProcess => {
    const h = spawnLockbridge(["run"], {
      env: { LOCKBRIDGE_DATA_DIR: disk.dir, LOCKBRIDGE_HUB_ID: hubId, LOCKBRIDGE_MQTT_URL: broker.url, LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY: TEST_CLOUD_KEY.publicPem, LOCKBRIDGE_BLE_ENABLED: "false", LOCKBRIDGE_LOG_LEVEL: "info", LOCKBRIDGE_API_PORT: "0" },
    });
    resources.push(() => h.kill("SIGKILL"));
    return h;
  };
  const hub = startHub();
  await hub.waitForLog("connected to the MQTT broker", 30_000);
  const cloud: CloudClient = await connectCloud({ url: broker.url, hubId });
  resources.push(() => cloud.close());
  await waitForHubOnline(cloud);
  const ok = async (cmd: Record<string, unknown>) => {
    const r = await cloud.send(cmd, { timeoutMs: 30_000 });
    expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
    return r && r.ok ? (r.result as Record<string, unknown>) : {};
  };
  return { hub, startHub, cloud, ok };
}

describe.skipIf(!canFill)("hub on a full data disk (root, tmpfs)", () => {
  afterAll(cleanupRoot);

  it("stays up, refuses what it cannot commit with a resend message, loses nothing, and applies the resent id once after space returns", async () => {
    const disk = disks[0]!;
    const { startHub, cloud, ok, ...first } = await hubOnDisk(disk, "hub-diskfull");
    let hub = first.hub;
    await ok({ cmd: "site.configure", siteId: "s1", timezone: "Europe/Prague", credentialTypes: { doorCode: true, keycard: true, smartKey: false } });
    await ok({ cmd: "keycards.upsert", cards: [{ cardId: "card-1", uid: "04A1B2C3D4E5F6", label: "Front desk 1" }] });

    disk.fill();
    // The same signed bytes, as the cloud resends them.
    const id = randomUUID();
    const upsert = JSON.stringify(signCommand({ id, ts: new Date().toISOString(), cmd: "keycards.upsert", cards: [{ cardId: "card-2", uid: "04A1B2C3D4E5F7", label: "Front desk 2" }] }, TEST_CLOUD_KEY.privateKey));
    const refused = await cloud.sendRaw(upsert, id, { timeoutMs: 30_000 });
    expect(refused).toMatchObject({ id, ok: false, error: { code: "internal" } });
    expect(refused && !refused.ok ? refused.error.message : "").toMatch(/data disk is full.*send it again with the same id/);
    const status = await ok({ cmd: "status.get" });
    expect(status.store).toMatchObject({ diskFull: true });
    await hub.waitForLog("data disk full: the store cannot commit; commands are refused (internal, resend) and lock work waits until space returns", 5_000);
    await sleep(6_000); // past the lock counters' flush timer (5 s): the hub must still be there
    expect(hub.child.exitCode).toBeNull();

    // Killed while the disk is full, started again on it: it runs (no pid file), and connects once there is room.
    hub.kill("SIGKILL");
    await hub.waitForExit(10_000);
    hub = startHub();
    await hub.waitForLog("hub started", 30_000);
    await sleep(3_000);
    expect(hub.child.exitCode).toBeNull();

    disk.free();
    await hub.waitForLog("connected to the MQTT broker", 30_000);
    await waitForHubOnline(cloud);
    const applied = await cloud.sendRaw(upsert, id, { timeoutMs: 30_000 });
    expect(applied).toMatchObject({ id, ok: true });
    const again = await cloud.sendRaw(upsert, id, { timeoutMs: 30_000 });
    expect(again).toEqual(applied); // the stored response: applied once
    const list = await ok({ cmd: "keycards.list" });
    expect((list.cards as { cardId: string }[]).map((c) => c.cardId).sort()).toEqual(["card-1", "card-2"]);
    expect((await ok({ cmd: "status.get" })).store).toMatchObject({ diskFull: false });
  }, 180_000);

  it("started on a full disk after a crash: says the disk is full, waits for room without touching the store, then opens it with everything in it", async () => {
    const disk = disks[1]!;
    const { startHub, cloud, ok, ...first } = await hubOnDisk(disk, "hub-startfull");
    let hub = first.hub;
    await ok({ cmd: "site.configure", siteId: "s1", timezone: "Europe/Prague", credentialTypes: { doorCode: true, keycard: true, smartKey: false } });
    await ok({ cmd: "keycards.upsert", cards: [{ cardId: "card-1", uid: "04A1B2C3D4E5F6", label: "Front desk 1" }] });

    // The crash leaves the WAL; without its index (lost with the crash, or too small for the
    // WAL) SQLite has to write one before it can read the store.
    hub.kill("SIGKILL");
    await hub.waitForExit(10_000);
    const store = join(disk.dir, STORE_FILE);
    expect(statSync(`${store}-wal`).size).toBeGreaterThan(0);
    rmSync(`${store}-shm`, { force: true });
    disk.fill();
    const sizes = () => [statSync(store).size, statSync(`${store}-wal`).size];
    const before = sizes();

    hub = startHub();
    const waiting = await hub.waitForLog("data disk full: the store cannot be opened until there is room; waiting (free space on the data disk)", 30_000);
    expect(JSON.stringify(waiting)).toMatch(/the data disk is full \(\d+ bytes free/);
    await sleep(5_000);
    expect(hub.child.exitCode).toBeNull();
    expect(hub.stdout.join("\n")).not.toMatch(/damaged|hub failed to start/);
    expect(sizes()).toEqual(before);
    expect(existsSync(`${store}-shm`) ? statSync(`${store}-shm`).size : 0).toBeLessThan(32 * 1024);

    disk.free();
    await hub.waitForLog("data disk has room again: store open", 10_000);
    await hub.waitForLog("connected to the MQTT broker", 30_000);
    await waitForHubOnline(cloud);
    const list = await ok({ cmd: "keycards.list" });
    expect((list.cards as { cardId: string }[]).map((c) => c.cardId)).toEqual(["card-1"]);
  }, 180_000);
});
