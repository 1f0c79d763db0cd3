/**
 * The MQTT contract end to end: the hub's cloud sync against a real Mosquitto (MQTT 5 and
 * 3.1.1) and against the embedded aedes broker (3.1.1), with a cloud client on the other
 * side. Every command of the contract, dedup, ordering, stale versions, statuses, events,
 * hub state and the late-will rule; the MQTT 5 response path.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CloudClient, ReceivedMessage } from "../../src/cloud/ctl-client.js";
import { startEmbeddedBroker } from "../../src/cloud/embedded-broker.js";
import type { CommandResponse } from "../../src/cloud/responses.js";
import { connectCloud, door, eventually, keyUpsert, silentLog, site, startHubCloud, type HubCloud } from "../helpers/cloud.js";
import { startMosquitto } from "../helpers/mosquitto.js";

interface Broker {
  url: string;
  close(): Promise<void>;
}

const BROKERS: { name: string; protocolVersion: 4 | 5; start(): Promise<Broker> }[] = [
  { name: "Mosquitto, MQTT 5", protocolVersion: 5, start: () => startMosquitto() },
  { name: "Mosquitto, MQTT 3.1.1", protocolVersion: 4, start: () => startMosquitto() },
  { name: "embedded aedes, MQTT 3.1.1", protocolVersion: 4, start: () => startEmbeddedBroker(0, silentLog) },
];

const LOCK = "4c42000000000001";

describe.each(BROKERS)("cloud contract over $name", ({ protocolVersion, start }) => {
  let broker: Broker;
  let hub: HubCloud;
  let cloud: CloudClient;
  const seen: ReceivedMessage[] = [];
  const last = (topic: string) => seen.filter((m) => m.topic === topic).at(-1);

  beforeAll(async () => {
    broker = await start();
    hub = await startHubCloud({ url: broker.url, protocolVersion });
    cloud = await connectCloud({ url: broker.url, hubId: "hub-1", protocolVersion });
    cloud.onMessage((m) => seen.push(m));
    await cloud.watch([cloud.topics.state, cloud.topics.evt, cloud.topics.keyStatusAll, cloud.topics.lockStatusAll]);
    await eventually(() => last(cloud.topics.state), 10_000, "hub state");
  });

  afterAll(async () => {
    await cloud?.close();
    await hub?.stop();
    await broker?.close();
  });

  const send = async (cmd: Record<string, unknown>): Promise<CommandResponse> => (await cloud.send(cmd))!;

  it("publishes its retained state with sessionId and needsSnapshot, and updates it when desired state arrives", async () => {
    expect(last(cloud.topics.state)).toMatchObject({ retained: expect.any(Boolean), payload: { online: true, hubId: "hub-1", sessionId: 1, needsSnapshot: true, siteId: null, lastEventSeq: 0 } });
    expect(await send(site())).toMatchObject({ ok: true, result: {}, warnings: [] });
    await eventually(() => (last(cloud.topics.state)?.payload as { needsSnapshot?: boolean }).needsSnapshot === false, 5000, "needsSnapshot false");
    expect(last(cloud.topics.state)?.payload).toMatchObject({ online: true, siteId: "site-1", sessionId: 1 });
  });

  it("answers every desired-state command and publishes retained key statuses", async () => {
    expect(await send(door("lobby", { kind: "common" }))).toMatchObject({ ok: true });
    expect(await send(door("room-101", { lockId: LOCK.toUpperCase(), linkedDoorIds: ["lobby"] }))).toMatchObject({ ok: true, warnings: [] });
    expect(await send({ cmd: "keycards.upsert", cards: [{ cardId: "card-1", uid: "04A1B2C3", label: "Card 1" }, { cardId: "card-2", uid: "04A1B2C4", label: "Card 2" }] })).toMatchObject({ ok: true });
    const upsert = await send(keyUpsert("k-1", 1, { keycard: { enabled: true, cardId: "card-1" } }));
    expect(upsert).toMatchObject({ ok: true, result: { keyId: "k-1", version: 1, keycard: { state: "assigned", cardId: "card-1" } } });
    const status = await eventually(() => last(cloud.topics.keyStatus("k-1")), 5000, "key status");
    expect(status).toMatchObject({ payload: { keyId: "k-1", version: 1, doors: [{ doorId: "room-101" }] } });

    expect(await send({ cmd: "keycards.list", forKeyId: "k-1" })).toMatchObject({
      ok: true,
      result: { cards: [{ cardId: "card-1", label: "Card 1", assignedKeyId: "k-1" }, { cardId: "card-2", assignedKeyId: null }] },
    });
    expect(await send({ cmd: "keycards.remove", cardIds: ["card-1"] })).toMatchObject({ ok: false, error: { code: "keycard_in_use", path: "cardIds[0]" } });
    expect(await send({ cmd: "key.checkin", keyId: "k-1", checkedIn: false })).toMatchObject({ ok: true, result: { state: "inactive", doors: [{ reasons: ["not_checked_in"] }] } });
    expect(await send({ cmd: "key.checkin", keyId: "k-404", checkedIn: true })).toMatchObject({ ok: false, error: { code: "unknown_key", path: "keyId" } });

    expect(await send(keyUpsert("k-1", 0))).toMatchObject({ ok: true, result: { keyId: "k-1", version: 1, stale: true } });
    expect(await send({ cmd: "key.remove", keyId: "k-1", version: 2 })).toMatchObject({ ok: true, result: { keyId: "k-1", state: "revoked" } });
    await eventually(() => last(cloud.topics.keyStatus("k-1"))?.payload === null, 5000, "empty retained key status");
    expect(await send({ cmd: "keycards.remove", cardIds: ["card-1", "card-2"] })).toMatchObject({ ok: true });
    expect(await send({ cmd: "keycards.list" })).toMatchObject({ ok: true, result: { cards: [] } });
    expect(await send({ cmd: "door.remove", doorId: "lobby" })).toMatchObject({ ok: true });
    expect(await send({ cmd: "door.remove", doorId: "lobby" })).toMatchObject({ ok: false, error: { code: "unknown_door", path: "doorId" } });
  });

  it("applies a paged sync.snapshot in one step with counts", async () => {
    const snapshotId = `snap-${protocolVersion}`;
    const { cmd: _s, ...siteParams } = site({ siteId: "site-2" });
    const doors = [door("gym", { kind: "common" }), door("room-201", { linkedDoorIds: ["gym"] })].map(({ cmd: _d, ...d }) => d);
    const page1 = await send({ cmd: "sync.snapshot", snapshotId, page: 1, pages: 2, site: siteParams, doors });
    expect(page1).toMatchObject({ ok: true, result: { received: 1 } });
    const page2 = await send({ cmd: "sync.snapshot", snapshotId, page: 2, pages: 2, keys: [keyUpsert("k-2", 1, { doors: [{ doorId: "room-201", accessPeriod: { from: "2026-12-01", to: "2026-12-02" }, arrivalTime: "14:00", departureTime: "11:00" }] })].map(({ cmd: _c, ...k }) => k) });
    expect(page2).toMatchObject({ ok: true, result: { added: 3, removed: 1, doors: { added: 2, removed: 1 }, keys: { added: 1 }, site: "replaced" } });
    expect(hub.store.doors.ids()).toEqual(["gym", "room-201"]);
    await eventually(() => last(cloud.topics.keyStatus("k-2")), 5000, "snapshot key status");
  });

  it("passes the lock-fleet commands to their handlers, and refuses bad payloads precisely", async () => {
    const commands = [
      { cmd: "lock.commission", lockId: LOCK, profile: "acme-rs485", link: { type: "tcp", host: "10.0.0.5", port: 4001, address: 3 } },
      { cmd: "lock.decommission", lockId: LOCK, wipe: true },
      { cmd: "door.unlock", doorId: "room-201", seconds: 5 },
      { cmd: "doorcode.regenerate", keyId: "k-2" },
      { cmd: "keycard.replace", keyId: "k-2", cardId: "card-9" },
      { cmd: "diagnose", keyId: "k-2" },
      { cmd: "firmware.update", jobId: "fw-1", lockIds: [LOCK], version: "2.1.0", url: "https://fw.example.com/acme-2.1.0.bin", sha256: "ab".repeat(32), size: 4096 },
    ];
    for (const c of commands) expect(await send(c)).toMatchObject({ ok: true, cmd: c.cmd, result: { reached: c.cmd } });
    expect(await send({ cmd: "lock.commission", lockId: "nope", profile: "x", link: { type: "ble", lockId: LOCK } })).toMatchObject({ ok: false, error: { code: "invalid_payload", path: "lockId" } });
    expect(await send({ cmd: "door.unlock", doorId: "room-201", seconds: 31 })).toMatchObject({ ok: false, error: { code: "invalid_payload", path: "seconds" } });
    expect(await send({ cmd: "self.destruct" })).toMatchObject({ ok: false, error: { code: "unknown_command" } });
    const raw = new Promise<ReceivedMessage>((resolve) => {
      const off = cloud.onMessage((m) => {
        if (m.topic === cloud.topics.res && (m.payload as { id?: unknown }).id === null) {
          off();
          resolve(m);
        }
      });
    });
    await cloud.sendRaw("this is not json", undefined, { wait: false });
    expect((await raw).payload).toMatchObject({ id: null, ok: false, error: { code: "invalid_payload" } });
  });

  it("answers a repeated command id with the stored response without applying it again", async () => {
    const id = `dup-${protocolVersion}`;
    const first = await cloud.send({ id, ...keyUpsert("k-2", 5, { doors: [] }) });
    expect(first).toMatchObject({ ok: true, result: { version: 5 } });
    const second = await cloud.send({ id, ...keyUpsert("k-2", 9, { doors: [] }) });
    expect(second).toEqual(first);
    expect(hub.store.keys.get("k-2")?.version).toBe(5);
  });

  it("handles commands strictly in publish order", async () => {
    const responses: string[] = [];
    const off = cloud.onMessage((m) => {
      if (m.topic === cloud.topics.res) responses.push(String((m.payload as { id: string }).id));
    });
    const ids = Array.from({ length: 60 }, (_, i) => `order-${protocolVersion}-${i}`);
    // Versions go up: applied in order, each one is news; out of order, some would be stale.
    await Promise.all(ids.map((id, i) => cloud.send({ id, ...keyUpsert("k-order", i + 1, { doors: [] }) }, { wait: false })));
    await eventually(() => ids.every((id) => responses.includes(id)), 20_000, "all responses");
    off();
    expect(responses.filter((id) => ids.includes(id))).toEqual(ids);
    expect(hub.store.keys.get("k-order")?.version).toBe(60);
    const stale = ids.map((id) => hub.store.inbox.get<CommandResponse>(id)?.response).filter((r) => r?.ok && "stale" in r.result);
    expect(stale).toEqual([]);
  });

  it("publishes events in seq order", async () => {
    const before = hub.store.outbox.lastSeq();
    for (let i = 0; i < 300; i++) hub.cloud.events.emit({ type: "access.granted", doorId: "room-201", keyId: "k-2", credential: "doorCode", n: i });
    const events = () => seen.filter((m) => m.topic === cloud.topics.evt).map((m) => m.payload as { seq: number; n?: number });
    await eventually(() => events().filter((e) => e.seq > before).length >= 300, 15_000, "300 events");
    const mine = events().filter((e) => e.seq > before);
    expect(mine.map((e) => e.seq)).toEqual(Array.from({ length: 300 }, (_, i) => before + 1 + i));
    expect(mine.map((e) => e.n)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await eventually(() => hub.store.outbox.depth().pending === 0, 5000, "events marked sent");
    // events.resend: everything held from a seq on goes again.
    const resend = await send({ cmd: "events.resend", fromSeq: before + 291 });
    expect(resend).toMatchObject({ ok: true, result: { resent: 10 } });
    await eventually(() => events().filter((e) => e.seq === before + 300).length === 2, 5000, "resent events");
  });

  it("republishes its online state over a late will of its current session", async () => {
    const sessionId = (last(cloud.topics.state)!.payload as { sessionId: number }).sessionId;
    const onlineBefore = seen.filter((m) => m.topic === cloud.topics.state && (m.payload as { online: boolean }).online).length;
    await cloud.client.publishAsync(cloud.topics.state, JSON.stringify({ online: false, hubId: "hub-1", bootId: "old", sessionId }), { qos: 1, retain: true });
    await eventually(() => seen.filter((m) => m.topic === cloud.topics.state && (m.payload as { online: boolean }).online).length > onlineBefore, 5000, "online again");
    expect(last(cloud.topics.state)?.payload).toMatchObject({ online: true, sessionId });
  });

  it("reports the hub in status.get", async () => {
    expect(await send({ cmd: "status.get" })).toMatchObject({
      ok: true,
      result: { hubId: "hub-1", connected: true, siteId: "site-2", needsSnapshot: false, outbox: { depth: expect.any(Number), lastSeq: expect.any(Number) }, store: { bytes: expect.any(Number) } },
    });
  });

  it.runIf(protocolVersion === 5)("answers on the MQTT 5 response topic with the correlation data", async () => {
    const reply = `lockbridge/reply/${Date.now()}`;
    await cloud.client.subscribeAsync(reply, { qos: 1 });
    const got = new Promise<ReceivedMessage>((resolve) => {
      const off = cloud.onMessage((m) => {
        if (m.topic === reply) {
          off();
          resolve(m);
        }
      });
    });
    const response = await cloud.send({ cmd: "status.get" }, { responseTopic: reply, correlationData: Buffer.from("corr-42") });
    const m = await got;
    expect(m.payload).toEqual(response);
    expect(Buffer.from(m.packet.properties?.correlationData ?? []).toString()).toBe("corr-42");
    // A wildcard response topic is not published to (it would get the hub disconnected); /res still answers.
    expect(await cloud.send({ cmd: "status.get" }, { responseTopic: "lockbridge/reply/+/x" })).toMatchObject({ ok: true });
  });

  it.runIf(protocolVersion === 5)("never publishes to a response topic outside its prefix (issue 9): answered on {base}/res only", async () => {
    // A broker client aims the hub's answer at another application's topic.
    const foreign = `other-app/${Date.now()}/control`;
    const seen: ReceivedMessage[] = [];
    await cloud.client.subscribeAsync(foreign, { qos: 1 });
    const off = cloud.onMessage((m) => {
      if (m.topic === foreign) seen.push(m);
    });
    const response = await cloud.send({ cmd: "status.get" }, { responseTopic: foreign, correlationData: Buffer.from("x") });
    expect(response).toMatchObject({ ok: true });
    // A response to a later command arrives on its reply topic: by then the foreign one would have too.
    const reply = `lockbridge/reply/${Date.now()}`;
    await cloud.client.subscribeAsync(reply, { qos: 1 });
    const got = new Promise<void>((resolve) => cloud.onMessage((m) => m.topic === reply && resolve()));
    await cloud.send({ cmd: "status.get" }, { responseTopic: reply });
    await got;
    off();
    expect(seen).toEqual([]);
  });
});
