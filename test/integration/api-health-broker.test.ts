/**
 * /health follows the broker: ready while the hub is connected to a real Mosquitto,
 * degraded with "broker unreachable" named once Mosquitto stops, ready again when it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthSchema, type Health } from "../../src/api/schemas.js";
import { startApiHub, type ApiHub } from "../helpers/api-hub.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";

let broker: Mosquitto;
let h: ApiHub;
beforeAll(async () => {
  broker = await startMosquitto();
  h = await startApiHub({ env: { LOCKBRIDGE_MQTT_URL: broker.url, LOCKBRIDGE_CLOUD_ALLOW_UNSIGNED_COMMANDS: "true" }, rooms: 1 });
}, 30_000);
afterAll(async () => {
  await h?.close();
  await broker?.close();
});

async function healthUntil(test: (h: Health) => boolean): Promise<Health> {
  let last: Health | undefined;
  for (let i = 0; i < 200; i++) {
    last = healthSchema.parse(await (await h.get("/health")).json());
    if (test(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`health never matched; last: ${JSON.stringify(last)}`);
}

describe("/health and the broker", () => {
  it("flips to degraded naming the broker when it goes away, and back when it returns", async () => {
    const ready = await healthUntil((x) => x.status === "ready");
    expect(ready.checks.broker).toBe("connected");
    await broker.stop();
    const degraded = await healthUntil((x) => x.status === "degraded");
    expect(degraded).toMatchObject({ ready: true, problems: ["broker unreachable"], checks: { broker: "unreachable" } });
    await broker.start();
    await healthUntil((x) => x.status === "ready");
  }, 30_000);
});
