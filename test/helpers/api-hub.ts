/**
 * A real hub in process (store file, broker, provisioning, cloud sync, local API) beside a
 * simulated property on real TCP buses, for the local API and CLI tests.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { loadConfig, type Config } from "../../src/config/index.js";
import { createHub, type Hub } from "../../src/hub.js";
import { createLogger } from "../../src/shared/logger.js";
import { Fleet } from "../../sim/fleet/fleet.js";
import { parseProperty } from "../../sim/fleet/property.js";

export interface ApiHub {
  hub: Hub;
  config: Config;
  fleet: Fleet;
  dir: string;
  url: string;
  token: string;
  /** fetch against the API with the token (unless `token: null`). */
  get(path: string, init?: { token?: string | null; headers?: Record<string, string> }): Promise<Response>;
  post(path: string, body: unknown, init?: { token?: string | null; headers?: Record<string, string> }): Promise<Response>;
  /** site.configure and door.upsert for every door, as the cloud would (in process). */
  configureSite(): Promise<void>;
  close(): Promise<void>;
}

const silent = createLogger({ level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });

export async function startApiHub(opts: { env?: Record<string, string>; rooms?: number } = {}): Promise<ApiHub> {
  const dir = mkdtempSync(join(tmpdir(), "lb-api-"));
  const rooms = opts.rooms ?? 2;
  const fleet = await Fleet.start(
    parseProperty({
      name: "API Inn",
      timezone: "Europe/Prague",
      buses: [{ id: "rooms" }],
      rooms: Array.from({ length: rooms }, (_, i) => ({
        doorId: `room-10${i + 1}`,
        name: `Room 10${i + 1}`,
        lockId: `4c4200000000a10${i + 1}`,
        profile: "rs485-mortise",
        link: { bus: "rooms", address: i + 1 },
      })),
    }),
    { ephemeralPorts: true },
  );
  const config = loadConfig({
    env: {
      LOCKBRIDGE_DATA_DIR: join(dir, "data"),
      // The embedded broker on a free port, unless the test brings its own broker.
      ...(opts.env?.LOCKBRIDGE_MQTT_URL === undefined && { LOCKBRIDGE_MQTT_EMBEDDED_PORT: "0" }),
      LOCKBRIDGE_API_PORT: "0",
      LOCKBRIDGE_BLE_ENABLED: "false",
      // The Progress test serves its firmware image over plain HTTP on loopback.
      LOCKBRIDGE_FIRMWARE_ALLOW_HTTP: "true",
      LOCKBRIDGE_HUB_ID: "hub-api-test",
      ...opts.env,
    },
  });
  const hub = createHub(config, silent);
  await hub.start();
  const url = (JSON.parse(readFileSync(join(config.dataDir, "api.json"), "utf8")) as { url: string }).url;
  const token = readFileSync(join(config.dataDir, "installer-token"), "utf8").trim();
  const headers = (t: string | null | undefined, extra: Record<string, string> = {}) => ({ ...(t !== null && { authorization: `Bearer ${t ?? token}` }), ...extra });
  return {
    hub,
    config,
    fleet,
    dir,
    url,
    token,
    get: (path, init = {}) => fetch(`${url}${path}`, { headers: headers(init.token, init.headers) }),
    post: (path, body, init = {}) =>
      fetch(`${url}${path}`, { method: "POST", headers: headers(init.token, { "content-type": "application/json", ...init.headers }), body: JSON.stringify(body) }),
    async configureSite() {
      const ts = () => new Date().toISOString();
      const ok = async (cmd: Record<string, unknown>) => {
        const r = await hub.cloud.runLocal({ id: `setup-${Math.random()}`, ts: ts(), ...cmd });
        if (!r.ok) throw new Error(`${String(cmd.cmd)}: ${r.error.message}`);
      };
      await ok({ cmd: "site.configure", siteId: "api-inn", timezone: "Europe/Prague", credentialTypes: { doorCode: true, keycard: true, smartKey: true } });
      for (const d of fleet.ready(null).doors) {
        await ok({ cmd: "door.upsert", doorId: d.doorId, name: d.name, lockId: d.lockId, kind: d.kind, linkedDoorIds: d.linkedDoorIds, protectConfiguration: false });
      }
    },
    async close() {
      await hub.stop().catch(() => undefined);
      await fleet.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
