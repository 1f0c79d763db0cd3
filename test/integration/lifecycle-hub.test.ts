/** The Hub's service lifecycle in-process: order, reverse stop, roll-back on a failed start. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { createHub, Hub, type Service } from "../../src/hub.js";
import { createLogger } from "../../src/shared/logger.js";

const tmp = mkdtempSync(join(tmpdir(), "lb-hub-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const silent = createLogger({ level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });

function recorder() {
  const calls: string[] = [];
  const service = (name: string, fail?: "start" | "stop"): Service => ({
    name,
    start: async () => {
      calls.push(`start ${name}`);
      if (fail === "start") throw new Error(`${name} cannot start`);
    },
    stop: async () => {
      calls.push(`stop ${name}`);
      if (fail === "stop") throw new Error(`${name} cannot stop`);
    },
  });
  return { calls, service };
}

const config = (name: string) => loadConfig({ env: { LOCKBRIDGE_DATA_DIR: join(tmp, name), LOCKBRIDGE_MQTT_EMBEDDED_PORT: "0", LOCKBRIDGE_API_PORT: "0" } });

describe("Hub lifecycle", () => {
  it("starts services in order and stops them in reverse", async () => {
    const { calls, service } = recorder();
    const hub = new Hub(config("order"), silent).use(service("a")).use(service("b")).use(service("c"));
    await hub.start();
    await hub.stop();
    expect(calls).toEqual(["start a", "start b", "start c", "stop c", "stop b", "stop a"]);
  });

  it("stops the started services when one fails to start, and rethrows", async () => {
    const { calls, service } = recorder();
    const hub = new Hub(config("rollback"), silent).use(service("a")).use(service("b", "start")).use(service("c"));
    await expect(hub.start()).rejects.toThrow("b cannot start");
    expect(calls).toEqual(["start a", "start b", "stop a"]);
  });

  it("asks every service to stop even when one fails, then reports the failure", async () => {
    const { calls, service } = recorder();
    const hub = new Hub(config("stopfail"), silent).use(service("a")).use(service("b", "stop")).use(service("c"));
    await hub.start();
    await expect(hub.stop()).rejects.toThrow(AggregateError);
    expect(calls.slice(3)).toEqual(["stop c", "stop b", "stop a"]);
  });

  it("gives later services the open store and the embedded broker's URL", async () => {
    const hub = createHub(config("standard"), silent);
    let seen: { schemaVersion: number; brokerUrl: string | undefined } | undefined;
    hub.use({
      name: "probe",
      start: async () => void (seen = { schemaVersion: hub.store.schemaVersion(), brokerUrl: hub.brokerUrl }),
      stop: async () => undefined,
    });
    expect(hub.services.map((s) => s.name)).toEqual(["security-preflight", "store", "embedded-broker", "provisioning", "cloud-sync", "local-api", "probe"]);
    await hub.start();
    expect(seen?.schemaVersion).toBeGreaterThan(0);
    expect(seen?.brokerUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    await hub.stop();
    expect(() => hub.store).toThrow(expect.objectContaining({ code: "internal" }));
  });

  it("runs no embedded broker when a broker URL is configured", () => {
    const hub = createHub(loadConfig({ env: { LOCKBRIDGE_DATA_DIR: join(tmp, "ext"), LOCKBRIDGE_MQTT_URL: "mqtt://broker.example:1883" } }), silent);
    expect(hub.services.map((s) => s.name)).toEqual(["security-preflight", "store", "provisioning", "cloud-sync", "local-api"]);
    expect(hub.brokerUrl).toBe("mqtt://broker.example:1883");
  });
});
