/**
 * `ctl send` to a hub id the broker has never seen fails at once, naming the hubs it has
 * seen, instead of waiting 30 s for an answer that cannot come.
 */
import mqtt from "mqtt";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../src/cloud/embedded-broker.js";
import { runLockbridge } from "../helpers/process.js";

let broker: EmbeddedBroker;
beforeAll(async () => {
  broker = await startEmbeddedBroker(0, pino({ level: "silent" }));
  const hub = await mqtt.connectAsync(broker.url);
  await hub.publishAsync("lockbridge/v1/hub-lobby/state", JSON.stringify({ online: true, hubId: "hub-lobby" }), { qos: 1, retain: true });
  await hub.publishAsync("lockbridge/v1/hub-annex/state", JSON.stringify({ online: false, hubId: "hub-annex" }), { qos: 1, retain: true });
  await hub.endAsync();
});
afterAll(async () => broker?.close());

describe("ctl send to a hub id", () => {
  it("that no hub uses: fails fast (exit 1) and names the hubs seen", async () => {
    const started = Date.now();
    const r = await runLockbridge(["ctl", "send", "status.get", "--url", broker.url, "--hub", "hub-lobb", "--protocol", "4", "--timeout", "20"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`lockbridge ctl: no hub "hub-lobb" on ${broker.url}: hubs seen: `);
    expect(r.stderr).toContain("hub-lobby (online)");
    expect(r.stderr).toContain("hub-annex (offline)");
    expect(r.stderr).toContain("Use --hub ID or LOCKBRIDGE_HUB_ID");
    // Well under the 20 s answer timeout: the broker's retained states settle it.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("that is offline: says so and waits for it", async () => {
    const r = await runLockbridge(["ctl", "send", "status.get", "--url", broker.url, "--hub", "hub-annex", "--protocol", "4", "--timeout", "1"]);
    expect(r.stderr).toContain("hub hub-annex is offline");
    expect(r.stderr).toMatch(/no response .* within 1000 ms/);
  });
});
