/**
 * A real hub (`lockbridge run`, its own process) on Mosquitto with a signing cloud client and
 * an image served over HTTP on loopback, for the firmware bridge's end-to-end tests.
 */
import fs from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "vitest";
import type { CloudClient } from "../../src/cloud/ctl-client.js";
import { connectCloud, TEST_CLOUD_KEY, waitForHubOnline } from "./cloud.js";
import type { Mosquitto } from "./mosquitto.js";
import { spawnLockbridge, type RunningProcess } from "./process.js";

export async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 30_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const localDate = (days: number): string =>
  new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Prague", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(Date.now() + days * 86_400_000));

export const guestKey = (keyId: string, doorId: string, code: string) => ({
  cmd: "key.upsert", keyId, version: 1, source: "manual", holder: { name: "Guest" },
  doors: [{ doorId, accessPeriod: { from: localDate(-1), to: localDate(2) }, arrivalTime: "00:00", departureTime: "11:00", allowProvisioning: true, allowLinkedDoorsAccess: false }],
  doorCode: { enabled: true, assignment: "strict", code },
});

export interface ImageServer {
  url: string;
  close(): Promise<void>;
}

export async function serveImage(image: Buffer): Promise<ImageServer> {
  const server: Server = createServer((_req, res) => res.end(image));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fw.bin`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export interface FirmwareRig {
  dir: string;
  hub: RunningProcess;
  cloud: CloudClient;
  /** Every event received, duplicates (same seq) dropped as the cloud does. */
  events(): Record<string, unknown>[];
  /** Sends a command, expects ok, returns its result. */
  send(cmd: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startFirmwareRig(broker: Mosquitto, name: string, env: Record<string, string> = {}): Promise<FirmwareRig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lb-fw-${name}-`));
  const hubId = `hub-${name}`;
  const hub = spawnLockbridge(["run"], {
    env: {
      LOCKBRIDGE_DATA_DIR: dir, LOCKBRIDGE_HUB_ID: hubId, LOCKBRIDGE_MQTT_URL: broker.url,
      LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY: TEST_CLOUD_KEY.publicPem, LOCKBRIDGE_BLE_ENABLED: "false", LOCKBRIDGE_LOG_LEVEL: process.env.FW_LOG_LEVEL ?? "info", LOCKBRIDGE_FIRMWARE_ALLOW_HTTP: "true", ...env,
    },
  });
  let cloud: CloudClient | undefined;
  try {
    await hub.waitForLog("connected to the MQTT broker", 20_000);
    cloud = await connectCloud({ url: broker.url, hubId });
    const bySeq = new Map<unknown, Record<string, unknown>>();
    const c = cloud;
    c.onMessage((m) => {
      if (m.topic === c.topics.evt) {
        const e = m.payload as Record<string, unknown>;
        bySeq.set(e.seq, e);
      }
    });
    await c.watch([c.topics.evt]);
    await waitForHubOnline(c);
    const send = async (cmd: Record<string, unknown>) => {
      // Generous: commissioning over BLE scans and connects, on a machine shared with other work.
      const res = await c.send(cmd, { timeoutMs: 90_000 });
      expect(res, JSON.stringify(res)).toMatchObject({ ok: true });
      return (res && res.ok ? res.result : {}) as Record<string, unknown>;
    };
    await send({ cmd: "site.configure", siteId: "s1", timezone: "Europe/Prague", credentialTypes: { doorCode: true, keycard: true, smartKey: false } });
    return {
      dir, hub, cloud: c, send,
      events: () => [...bySeq.values()],
      async close() {
        await c.close();
        hub.kill("SIGTERM");
        await hub.waitForExit(10_000).catch(() => hub.kill("SIGKILL"));
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await cloud?.close();
    hub.kill("SIGKILL");
    throw e;
  }
}
