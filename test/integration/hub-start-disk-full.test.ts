/**
 * A hub started on a full data disk after a crash (root: the data dir is a 16 MiB tmpfs; skipped
 * otherwise). Found by the chaos run's "data disk full" fault: SQLite must write the
 * write-ahead log's shared-memory index to open a store a crash left with a WAL, so on a full
 * disk the open failed with "disk I/O error" and the hub called its sound store "damaged" and
 * exited, again at every restart (systemd gives up after 10). Now it says the disk is full,
 * waits for room without touching the file, and opens the store with everything in it.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DataDisk } from "../../chaos/disk.js";
import { STORE_FILE } from "../../src/store/datadir.js";
import type { CloudClient } from "../../src/cloud/ctl-client.js";
import { connectCloud, TEST_CLOUD_KEY, waitForHubOnline } from "../helpers/cloud.js";
import { startMosquitto } from "../helpers/mosquitto.js";
import { spawnLockbridge, type RunningProcess } from "../helpers/process.js";

const root = mkdtempSync(join(tmpdir(), "lb-hub-startfull-"));
const disk = DataDisk.mount(join(root, "data"), 16);
const resources: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of resources.splice(0).reverse()) await Promise.resolve(close()).catch(() => undefined);
});
if (!disk) rmSync(root, { recursive: true, force: true });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!disk)("hub started on a full data disk after a crash (root, tmpfs)", () => {
  it("says the disk is full, waits for room without touching the store, then opens it with everything in it", async () => {
    resources.push(() => {
      disk!.unmount();
      rmSync(root, { recursive: true, force: true });
    });
    const broker = await startMosquitto();
    resources.push(() => broker.close());
    const hubId = "hub-startfull";
    const startHub = (): RunningProcess => {
      const h = spawnLockbridge(["run"], {
        env: { LOCKBRIDGE_DATA_DIR: disk!.dir, LOCKBRIDGE_HUB_ID: hubId, LOCKBRIDGE_MQTT_URL: broker.url, LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY: TEST_CLOUD_KEY.publicPem, LOCKBRIDGE_BLE_ENABLED: "false", LOCKBRIDGE_LOG_LEVEL: "info", LOCKBRIDGE_API_PORT: "0" },
      });
      resources.push(() => h.kill("SIGKILL"));
      return h;
    };
    let hub = startHub();
    await hub.waitForLog("connected to the MQTT broker", 30_000);
    const cloud: CloudClient = await connectCloud({ url: broker.url, hubId });
    resources.push(() => cloud.close());
    await waitForHubOnline(cloud);
    const ok = async (cmd: Record<string, unknown>) => {
      const r = await cloud.send(cmd, { timeoutMs: 30_000 });
      expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
      return r && r.ok ? (r.result as Record<string, unknown>) : {};
    };
    await ok({ cmd: "site.configure", siteId: "s1", timezone: "Europe/Prague", credentialTypes: { doorCode: true, keycard: true, smartKey: false } });
    await ok({ cmd: "keycards.upsert", cards: [{ cardId: "card-1", uid: "04A1B2C3D4E5F6", label: "Front desk 1" }] });

    // The crash leaves the WAL; without its index (lost with the crash, or too small for the
    // WAL) SQLite has to write one before it can read the store.
    hub.kill("SIGKILL");
    await hub.waitForExit(10_000);
    const store = join(disk!.dir, STORE_FILE);
    expect(statSync(`${store}-wal`).size).toBeGreaterThan(0);
    rmSync(`${store}-shm`, { force: true });
    disk!.fill();
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

    disk!.free();
    await hub.waitForLog("data disk has room again: store open", 10_000);
    await hub.waitForLog("connected to the MQTT broker", 30_000);
    await waitForHubOnline(cloud);
    const list = await ok({ cmd: "keycards.list" });
    expect((list.cards as { cardId: string }[]).map((c) => c.cardId)).toEqual(["card-1"]);
  }, 180_000);
});
