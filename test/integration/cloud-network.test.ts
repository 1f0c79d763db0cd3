/**
 * The hub's connection under real network conditions, against a real Mosquitto:
 * a broker restart and a network loss with events piling up (nothing lost, order kept,
 * commands queued at the broker answered afterwards), mutual TLS with a pinned CA, and
 * username/password.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ReceivedMessage } from "../../src/cloud/ctl-client.js";
import type { CommandResponse } from "../../src/cloud/responses.js";
import { connectCloud, eventually, site, startHubCloud, type HubCloud } from "../helpers/cloud.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cloud's event subscriber: persistent session, first occurrence of each seq in arrival order. */
async function eventSubscriber(url: string, clientId: string) {
  const cloud = await connectCloud({ url, hubId: "hub-1", protocolVersion: 5, persistent: true, clientId });
  const order: number[] = [];
  const seen = new Set<number>();
  const states: Record<string, unknown>[] = [];
  cloud.onMessage((m: ReceivedMessage) => {
    if (m.topic === cloud.topics.evt) {
      const seq = (m.payload as { seq: number }).seq;
      if (!seen.has(seq)) {
        seen.add(seq);
        order.push(seq);
      }
    } else if (m.topic === cloud.topics.state) states.push(m.payload as Record<string, unknown>);
  });
  await cloud.watch([cloud.topics.evt, cloud.topics.state]);
  cleanups.push(() => cloud.close());
  return { cloud, order, seen, states };
}

/** Emits an event every `everyMs` until stopped. */
function emitter(hub: HubCloud, everyMs: number) {
  let n = 0;
  const timer = setInterval(() => hub.cloud.events.emit({ type: "access.granted", doorId: "room-101", credential: "doorCode", n: n++ }), everyMs);
  return { stop: () => clearInterval(timer), count: () => n };
}

function expectAllInOrder(order: number[], lastSeq: number): void {
  expect(order.length).toBe(lastSeq);
  // First occurrences arrive in seq order: 1, 2, 3, ... with nothing missing.
  expect(order).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
}

describe("broker restart and network loss", () => {
  it("keeps events while Mosquitto is down and sends them in order once it is back", async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.close());
    const sub = await eventSubscriber(broker.url, "cloud-restart");
    const hub = await startHubCloud({ url: broker.url });
    cleanups.push(() => hub.stop());
    await eventually(() => hub.cloud.connected, 10_000, "hub online");
    const events = emitter(hub, 3);
    await sleep(500);
    await broker.stop();
    await sleep(1500);
    const piledUp = hub.store.outbox.depth().pending;
    expect(hub.cloud.connected).toBe(false);
    await broker.start();
    await sleep(500);
    events.stop();
    const lastSeq = hub.store.outbox.lastSeq();
    await eventually(() => sub.seen.size >= lastSeq, 30_000, `${lastSeq} events`);
    expectAllInOrder(sub.order, lastSeq);
    expect(piledUp).toBeGreaterThan(100);
    // A new connection, a new session: the retained state says online with a higher sessionId.
    await eventually(() => sub.states.at(-1)?.online === true && (sub.states.at(-1)?.sessionId as number) >= 2, 10_000, "online again with a new sessionId");
  });

  it("rides out a network loss: events in order, commands queued at the broker answered, the will superseded", async () => {
    const broker: Mosquitto = await startMosquitto();
    cleanups.push(() => broker.close());
    const proxy: TcpProxy = await startTcpProxy(broker.port);
    cleanups.push(() => proxy.close());
    const sub = await eventSubscriber(broker.url, "cloud-netloss");
    const hub = await startHubCloud({ url: proxy.url, connection: { backoff: { firstMs: 100, maxMs: 400, jitter: "full" }, publishTimeoutMs: 3000, keepaliveS: 5 } });
    cleanups.push(() => hub.stop());
    await eventually(() => hub.cloud.connected, 10_000, "hub online");
    const events = emitter(hub, 3);
    await sleep(400);
    proxy.cut();
    // The cloud keeps sending while the hub is unreachable: the broker queues for the hub's session.
    const answers = [sub.cloud.send(site()), sub.cloud.send({ cmd: "status.get" })];
    await sleep(1500);
    expect(hub.cloud.connected).toBe(false);
    const piledUp = hub.store.outbox.depth().pending;
    proxy.restore();
    await sleep(600);
    events.stop();
    const responses = (await Promise.all(answers)) as CommandResponse[];
    expect(responses.map((r) => r.ok)).toEqual([true, true]);
    const lastSeq = hub.store.outbox.lastSeq();
    await eventually(() => sub.seen.size >= lastSeq, 30_000, `${lastSeq} events`);
    expectAllInOrder(sub.order, lastSeq);
    expect(piledUp).toBeGreaterThan(100);
    // The broker published the lost connection's will; the hub's newer session wins.
    await eventually(() => sub.states.some((s) => s.online === false), 10_000, "the will");
    await eventually(() => sub.states.at(-1)?.online === true, 10_000, "online after the will");
    const will = sub.states.filter((s) => s.online === false).at(-1)!;
    expect(sub.states.at(-1)!.sessionId as number).toBeGreaterThan(will.sessionId as number);
  });
});

describe("clean shutdown", () => {
  it("publishes the offline state of its session itself, and the next start comes back with a higher sessionId", async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.close());
    const sub = await eventSubscriber(broker.url, "cloud-shutdown");
    const file = (await startHubCloud({ url: broker.url, keepFile: true }).then(async (hub) => {
      await eventually(() => sub.states.at(-1)?.online === true, 10_000, "online");
      await hub.stop();
      return hub.file;
    }));
    await eventually(() => sub.states.at(-1)?.online === false, 5000, "offline state");
    expect(sub.states.at(-1)).toMatchObject({ online: false, hubId: "hub-1", sessionId: 1 });
    const again = await startHubCloud({ url: broker.url, file });
    cleanups.push(async () => {
      await again.stop();
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    });
    await eventually(() => sub.states.at(-1)?.online === true, 10_000, "online again");
    expect(sub.states.at(-1)).toMatchObject({ online: true, sessionId: 2 });
  });
});

describe("broker authentication", () => {
  it("connects with mutual TLS to a pinned CA, and not without a client certificate or to another CA", async () => {
    const broker = await startMosquitto({ tls: true });
    cleanups.push(() => broker.close());
    const tls = broker.tls!;
    const good = await startHubCloud({ url: broker.tlsUrl!, tls: { ca: tls.ca, cert: tls.clientCert, key: tls.clientKey } });
    cleanups.push(() => good.stop());
    await eventually(() => good.cloud.connected, 10_000, "hub online over mutual TLS");
    const cloud = await connectCloud({ url: broker.tlsUrl!, hubId: "hub-1", protocolVersion: 5, tls: { ca: tls.ca, cert: tls.clientCert, key: tls.clientKey } });
    cleanups.push(() => cloud.close());
    expect(await cloud.send({ cmd: "status.get" })).toMatchObject({ ok: true, result: { connected: true } });

    const noCert = await startHubCloud({ hubId: "hub-nocert", url: broker.tlsUrl!, tls: { ca: tls.ca } });
    cleanups.push(() => noCert.stop());
    const wrongCa = await startHubCloud({ hubId: "hub-wrongca", url: broker.tlsUrl!, tls: { ca: tls.strangerCa, cert: tls.clientCert, key: tls.clientKey } });
    cleanups.push(() => wrongCa.stop());
    const strangerCert = await startHubCloud({ hubId: "hub-stranger", url: broker.tlsUrl!, tls: { ca: tls.ca, cert: tls.strangerCert, key: tls.strangerKey } });
    cleanups.push(() => strangerCert.stop());
    await sleep(2500);
    expect([noCert.cloud.connected, wrongCa.cloud.connected, strangerCert.cloud.connected]).toEqual([false, false, false]);
    // They kept trying (with backoff), each attempt a new sessionId.
    expect(noCert.store.meta.currentSessionId()).toBeGreaterThan(1);
  });

  it("connects with username and password, and not with a wrong password", async () => {
    const broker = await startMosquitto({ users: { hub: "s3cret-hub", cloud: "s3cret-cloud" } });
    cleanups.push(() => broker.close());
    const good = await startHubCloud({ url: broker.url, username: "hub", password: "s3cret-hub" });
    cleanups.push(() => good.stop());
    const bad = await startHubCloud({ hubId: "hub-bad", url: broker.url, username: "hub", password: "wrong" });
    cleanups.push(() => bad.stop());
    await eventually(() => good.cloud.connected, 10_000, "hub online");
    const cloud = await connectCloud({ url: broker.url, hubId: "hub-1", username: "cloud", password: "s3cret-cloud" });
    cleanups.push(() => cloud.close());
    expect(await cloud.send({ cmd: "status.get" })).toMatchObject({ ok: true });
    await sleep(1000);
    expect(bad.cloud.connected).toBe(false);
  });
});
