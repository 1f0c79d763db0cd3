/**
 * Commands that talk to locks can take longer than the MQTT keepalive. While one holds the
 * PUBACK, the connection must stay up, and if the link dies anyway the redelivered command
 * must wait for the first delivery instead of running a second time.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ReceivedMessage } from "../../src/cloud/ctl-client.js";
import { defineHandler } from "../../src/cloud/registry.js";
import { connectCloud, eventually, startHubCloud } from "../helpers/cloud.js";
import { startMosquitto } from "../helpers/mosquitto.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("long-running commands", () => {
  it("keep the connection up past several keepalive intervals", async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.close());
    const hub = await startHubCloud({ url: broker.url, connection: { keepaliveS: 1, publishTimeoutMs: 1500, backoff: { firstMs: 50, maxMs: 200, jitter: "full" } } });
    cleanups.push(() => hub.stop());
    let runs = 0;
    hub.cloud.registry.register("status.get", defineHandler("status.get", async (_cmd, ctx) => {
      runs++;
      await sleep(4000);
      return ctx.commit(() => ({ result: { slow: true } }));
    }));
    const cloud = await connectCloud({ url: broker.url, hubId: "hub-1", protocolVersion: 5 });
    cleanups.push(() => cloud.close());
    const states: ReceivedMessage[] = [];
    cloud.onMessage((m) => m.topic === cloud.topics.state && states.push(m));
    await cloud.watch([cloud.topics.state]);
    await eventually(() => hub.cloud.connected, 10_000, "online");
    const sessionId = hub.store.meta.currentSessionId();
    // Events emitted meanwhile wait for their PUBACKs; that is no reason to drop the link either.
    for (let i = 0; i < 20; i++) hub.cloud.events.emit({ type: "door.opened", doorId: "room-101" });
    expect(await cloud.send({ cmd: "status.get" }, { timeoutMs: 20_000 })).toMatchObject({ ok: true, result: { slow: true } });
    expect(runs).toBe(1);
    expect(hub.store.meta.currentSessionId()).toBe(sessionId);
    expect(states.filter((s) => (s.payload as { online: boolean }).online === false)).toEqual([]);
    await eventually(() => hub.store.outbox.depth().pending === 0, 10_000, "events sent");
  });

  it("run once when the link dies during the command and the broker delivers it again", async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.close());
    const proxy = await startTcpProxy(broker.port);
    cleanups.push(() => proxy.close());
    const hub = await startHubCloud({ url: proxy.url, connection: { backoff: { firstMs: 50, maxMs: 200, jitter: "full" } } });
    cleanups.push(() => hub.stop());
    let runs = 0;
    hub.cloud.registry.register("door.remove", defineHandler("door.remove", async (cmd, ctx) => {
      runs++;
      await sleep(2500);
      return ctx.commit(() => {
        hub.store.doors.remove(cmd.doorId);
        ctx.emit({ type: "door.closed", doorId: cmd.doorId, note: "applied" });
        return { result: { runs } };
      });
    }));
    hub.store.doors.upsert({ doorId: "room-101", name: "101", lockId: null, kind: "room", linkedDoorIds: [], protectConfiguration: false });
    const cloud = await connectCloud({ url: broker.url, hubId: "hub-1", protocolVersion: 5 });
    cleanups.push(() => cloud.close());
    await eventually(() => hub.cloud.connected, 10_000, "online");
    const firstSession = hub.store.meta.currentSessionId();
    const answer = cloud.send({ cmd: "door.remove", doorId: "room-101" }, { timeoutMs: 20_000 });
    await eventually(() => runs === 1, 5000, "handler started");
    proxy.cut();
    await sleep(300);
    proxy.restore();
    await eventually(() => hub.store.meta.currentSessionId() > firstSession && hub.cloud.connected, 10_000, "reconnected");
    expect(await answer).toMatchObject({ ok: true, result: { runs: 1 } });
    await sleep(500); // the redelivered copy has been handled (from the inbox) by now
    expect(runs).toBe(1);
    expect(hub.store.outbox.lastSeq()).toBe(1);
  });
});
