/**
 * The hub process on a full data disk (root: the data dir is a 16 MiB tmpfs filled to the last
 * byte; skipped otherwise). Found by the chaos run's "data disk full" fault: the hub exited
 * (an uncaught SqliteError from a timer; at start, ENOSPC on its pid file) and answered ok for
 * commands whose commit had failed. Now: it stays up, refuses a command it cannot commit with
 * `internal` naming the full disk (unstored), answers reads, keeps what it had committed, and
 * applies the cloud's resend of the same id exactly once after space returns; a hub started
 * on a full disk runs and connects once there is room.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { signCommand } from "../../src/cloud/signing.js";
import { DataDisk } from "../../chaos/disk.js";
import type { CloudClient } from "../../src/cloud/ctl-client.js";
import { connectCloud, TEST_CLOUD_KEY, waitForHubOnline } from "../helpers/cloud.js";
import { startMosquitto } from "../helpers/mosquitto.js";
import { spawnLockbridge, type RunningProcess } from "../helpers/process.js";

const root = mkdtempSync(join(tmpdir(), "lb-hub-diskfull-"));
const disk = DataDisk.mount(join(root, "data"), 16);
const resources: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of resources.splice(0).reverse()) await Promise.resolve(close()).catch(() => undefined);
});
if (!disk) rmSync(root, { recursive: true, force: true });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!disk)("hub on a full data disk (root, tmpfs)", () => {
  it("stays up, refuses what it cannot commit with a resend message, loses nothing, and applies the resent id once after space returns", async () => {
    resources.push(() => {
      disk!.unmount();
      rmSync(root, { recursive: true, force: true });
    });
    const broker = await startMosquitto();
    resources.push(() => broker.close());
    const hubId = "hub-diskfull";
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

    disk!.fill();
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

    disk!.free();
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
});
