/**
 * The local API against a real hub and simulated locks: installer actions end to end,
 * read models, the guard (token, Host, Origin), /metrics parsed as a scraper parses it,
 * /health flipping when the store goes away, and the live event feed.
 */
import { rmSync } from "node:fs";
import { request } from "node:http";
import { Readable } from "node:stream";
import { getMetricsFromStream, type PromData, type PromHistogramData } from "prom2javascript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actionResponseSchema, healthSchema, lockViewSchema, statusSchema } from "../../src/api/schemas.js";
import { startApiHub, type ApiHub } from "../helpers/api-hub.js";

let h: ApiHub;
beforeAll(async () => {
  h = await startApiHub();
  await h.configureSite();
}, 30_000);
afterAll(async () => h?.close());

const link = (address: number) => {
  const bus = h.fleet.ready(null).tcpBuses[0]!;
  return { type: "tcp", host: bus.host, port: bus.port, address };
};
/** The setup key on the simulated lock's label (rs485-mortise pairs with PAIR_KX). */
const setupKeyOf = (lockId: string) => h.fleet.find(lockId).lock.setupKey!;

describe("local API", () => {
  it("refuses an action without the token, and one from a foreign origin or host name", async () => {
    const body = { lockId: "4c4200000000a101", profile: "rs485-mortise", link: link(1) };
    const noToken = await h.post("/api/actions/commission", body, { token: null });
    expect(noToken.status).toBe(401);
    expect(((await noToken.json()) as { error: { message: string } }).error.message).toMatch(/installer token/);
    const wrongToken = await h.post("/api/actions/commission", body, { token: "x".repeat(43) });
    expect(wrongToken.status).toBe(401);
    const foreign = await h.post("/api/actions/commission", body, { headers: { origin: "http://evil.example" } });
    expect(foreign.status).toBe(403);
    // fetch() will not send another Host: a raw request does, as a DNS-rebound page's would.
    const rebinding = await new Promise<number>((resolve, reject) => {
      request(`${h.url}/api/locks`, { headers: { host: "evil.example:8620" } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      })
        .on("error", reject)
        .end();
    });
    expect(rebinding).toBe(421);
    const form = await fetch(`${h.url}/api/actions/commission`, { method: "POST", headers: { authorization: `Bearer ${h.token}`, "content-type": "application/x-www-form-urlencoded" }, body: "lockId=1" });
    expect(form.status).toBe(403);
    expect((await h.get("/api/locks")).status).toBe(200);
  });

  it("commissions a lock end to end, with its steps streamed, and shows it online on its bus", async () => {
    const res = await h.post("/api/actions/commission", { lockId: "4c4200000000a101", profile: "rs485-mortise", link: link(1), setupKey: setupKeyOf("4c4200000000a101") }, { headers: { accept: "application/x-ndjson" } });
    const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ step: expect.stringContaining("commissioning 4c4200000000a101") });
    const response = actionResponseSchema.parse(lines.at(-1)!.response);
    expect(response.ok).toBe(true);
    const lock = lockViewSchema.parse(await (await h.get("/api/locks/4c4200000000a101")).json());
    expect(lock).toMatchObject({ state: "commissioned", online: true, doorIds: ["room-101"], bus: `tcp 127.0.0.1:${link(1).port}`, address: 1 });
    const status = statusSchema.parse(await (await h.get("/api/status")).json());
    expect(status.buses.map((b) => b.locks.map((l) => l.lockId))).toEqual([["4c4200000000a101"]]);
    expect(status.health.status).toBe("ready");
  });

  it("answers a bad body with the field at fault, and an unknown lock with unknown_lock", async () => {
    const bad = await h.post("/api/actions/commission", { lockId: "4c4200000000a101", profile: "rs485-mortise", link: { type: "serial" } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/^link/);
    const unknown = actionResponseSchema.parse(await (await h.post("/api/actions/decommission", { lockId: "4c42ffffffffffff" })).json());
    expect(unknown).toMatchObject({ ok: false, error: { code: "unknown_lock" } });
  });

  it("serves /metrics that a Prometheus text parser reads: locks by link and state, command latency", async () => {
    const res = await h.get("/metrics", { token: null });
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const metrics = await getMetricsFromStream(Readable.from([await res.text()]));
    const gauge = (name: string) => metrics[name]?.data as PromData[] | undefined;
    expect(gauge("lockbridge_locks")).toContainEqual({ labels: { link: "tcp", online: "true" }, value: 1 });
    const latency = metrics.lockbridge_command_duration_seconds;
    expect(latency?.type).toBe("histogram");
    const commission = (latency?.data as PromHistogramData[]).find((m) => m.labels.cmd === "lock.commission" && m.labels.ok === "true");
    expect(commission?.count).toBe(1);
    expect(commission?.buckets["+Inf"]).toBe(1);
    expect(metrics.lockbridge_outbox_events?.type).toBe("gauge");
    expect(gauge("lockbridge_link_timeouts_total")?.[0]?.labels).toEqual({ bus: `tcp:127.0.0.1:${link(1).port}` });
    expect(gauge("lockbridge_up")?.[0]?.value).toBe(1);
  });

  it("streams events live over SSE: a lock unplugged in the simulator shows up as lock.offline", async () => {
    const abort = new AbortController();
    const res = await fetch(`${h.url}/api/events?type=lock`, { headers: { accept: "text/event-stream" }, signal: abort.signal });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    h.fleet.find("room-101").lock.setOffline(true);
    let text = "";
    const decoder = new TextDecoder();
    while (!text.includes("event: lock.offline")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    abort.abort();
    expect(text).toMatch(/event: lock\.offline\ndata: \{[^\n]*"lockId":"4c4200000000a101"/);
    h.fleet.find("room-101").lock.setOffline(false);
  }, 30_000);

  it("raises lock.battery_low once for a lock installed at 18 % (it never logs the crossing itself)", async () => {
    h.fleet.find("room-102").lock.setBattery(18);
    const res = await h.post("/api/actions/commission", { lockId: "4c4200000000a102", profile: "rs485-mortise", link: link(2), setupKey: setupKeyOf("4c4200000000a102") });
    expect(actionResponseSchema.parse(await res.json()).ok).toBe(true);
    const lowEvents = async () => {
      const { events } = (await (await h.get("/api/events?since=0&type=lock.battery_low")).json()) as { events: { lockId: string; battery: number }[] };
      return events.filter((e) => e.lockId === "4c4200000000a102");
    };
    for (let i = 0; i < 100 && (await lowEvents()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await lowEvents()).toEqual([expect.objectContaining({ battery: 18, doorId: "room-102" })]);
    // Further polls at 18 % raise nothing more.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await lowEvents()).toHaveLength(1);
    const lock = lockViewSchema.parse(await (await h.get("/api/locks/4c4200000000a102")).json());
    expect(lock.alerts).toContain("battery 18 %");
  }, 30_000);

  it("a replaced lock shows offline naming the new lock; lock replace puts the new one in service on the door", async () => {
    h.fleet.find("room-101").lock.replace("4c4200000000b101");
    let lock = lockViewSchema.parse(await (await h.get("/api/locks/4c4200000000a101")).json());
    for (let i = 0; i < 200 && lock.state !== "replaced"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      lock = lockViewSchema.parse(await (await h.get("/api/locks/4c4200000000a101")).json());
    }
    expect(lock).toMatchObject({ state: "replaced", online: false, replacedBy: "4c4200000000b101" });
    expect(lock.alerts[0]).toBe("replaced: lock 4c4200000000b101 answers at its link");
    const diag = actionResponseSchema.parse(await (await h.post("/api/actions/diagnose", { doorId: "room-101" })).json());
    expect(diag.ok && JSON.stringify(diag.result)).toContain("lockbridge lock replace 4c4200000000a101 4c4200000000b101");
    const res = await h.post("/api/actions/replace", { oldLockId: "4c4200000000a101", newLockId: "4c4200000000b101", setupKey: setupKeyOf("4c4200000000b101") }, { headers: { accept: "application/x-ndjson" } });
    const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l) as { step?: string; response?: unknown });
    expect(lines.filter((l) => l.step).map((l) => l.step!.slice(0, 3))).toEqual(["1/3", "2/3", "3/3"]);
    expect(actionResponseSchema.parse(lines.at(-1)!.response)).toMatchObject({ ok: true, result: { oldLockId: "4c4200000000a101", newLockId: "4c4200000000b101", doorIds: ["room-101"] } });
    expect((await h.get("/api/locks/4c4200000000a101")).status).toBe(404);
    const replacement = lockViewSchema.parse(await (await h.get("/api/locks/4c4200000000b101")).json());
    expect(replacement).toMatchObject({ state: "commissioned", online: true, doorIds: ["room-101"], address: 1 });
  }, 30_000);

  it("flips /health to unavailable with the cause when the store file is deleted", async () => {
    const before = healthSchema.parse(await (await h.get("/health")).json());
    expect(before.ready).toBe(true);
    rmSync(h.hub.store.path);
    const res = await h.get("/health");
    expect(res.status).toBe(503);
    const after = healthSchema.parse(await res.json());
    expect(after).toMatchObject({ status: "unavailable", ready: false });
    expect(after.problems.join()).toMatch(/store gone: .*lockbridge\.db was deleted/);
  });
});
