/**
 * Issue 9, "the simulator's control endpoint answers cross-site requests": a web page the
 * developer visits must not open a simulated door through the browser, neither by a
 * cross-site fetch (foreign Origin) nor by DNS rebinding (Host names the attacker's domain).
 * Real fleet, real HTTP on loopback.
 */
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { ControlClient } from "../../sim/control/client.js";
import { startControlServer } from "../../sim/control/server.js";
import { Fleet } from "../../sim/fleet/fleet.js";
import { parseProperty } from "../../sim/fleet/property.js";

const property = parseProperty({
  name: "Control Hotel",
  buses: [{ id: "floor1" }],
  rooms: [{ doorId: "r1", name: "Room 1", link: { bus: "floor1", address: 1 } }],
});

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function post(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", headers: { "content-type": "text/plain", ...headers } }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end("{}");
  });
}

describe("sim control endpoint: local tools only", () => {
  it("refuses a cross-site request and a DNS-rebinding Host; the door stays closed; local tools still work", async () => {
    const fleet = await Fleet.start(property, { ephemeralPorts: true });
    const control = await startControlServer(fleet);
    cleanup.push(() => fleet.close(), () => control.close());
    const client = new ControlClient(control.port);
    const doorOpen = async () => ((await client.show("r1")) as { doorOpen: boolean }).doorOpen;

    const crossSite = await post(control.port, "/locks/r1/open", { origin: "https://evil.example", "sec-fetch-site": "cross-site" });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body).toContain("Origin");
    const rebinding = await post(control.port, "/locks/r1/open", { host: `evil.example:${control.port}` });
    expect(rebinding.status).toBe(403);
    expect(rebinding.body).toContain("Host");
    const nullOrigin = await post(control.port, "/locks/r1/open", { origin: "null" });
    expect(nullOrigin.status).toBe(403);
    expect(await doorOpen()).toBe(false);

    // The developer's own tools: no Origin, Host 127.0.0.1 / localhost.
    await client.act("r1", "open");
    expect(await doorOpen()).toBe(true);
    expect((await post(control.port, "/locks/r1/close", { host: `localhost:${control.port}`, origin: `http://localhost:${control.port}` })).status).toBe(200);
    expect(await doorOpen()).toBe(false);
  });
});
