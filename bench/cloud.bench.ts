/**
 * Cloud sync benchmarks, against a real Mosquitto started here (loopback, MQTT 5).
 *
 * 1. Command round trip: the cloud publishes a command and waits for its response, one at
 *    a time (door.upsert: a store write, the stored response, fsync with synchronous=FULL,
 *    PUBACK after commit). p50 and p99, next to a *durable* bare responder through the same
 *    broker in the same run: an mqtt.js client that, per command, commits one row (id + response)
 *    to its own SQLite file with the hub's settings (WAL, synchronous=FULL: one fsync) and then
 *    answers. Ratio = hub / durable bare shows the hub's own cost, not the fsync the contract
 *    requires (lower is better; goal <= 1.5). A third line gives the hub over a durable bare
 *    responder that also checks each command's Ed25519 signature (the contract's other price:
 *    about 0.15-0.5 ms a verify on this machine), a fourth over one that stores nothing.
 *
 * 2. Backlog drain: 100,000 events stored while offline, then the hub connects and drains
 *    them (QoS 1, in order, each marked sent after its PUBACK) to a QoS 1 subscriber; events/s
 *    from connect until the last is acknowledged, next to raw mqtt.js QoS 1 publishing of the
 *    same payloads to the same subscriber (windowed, no store). Ratio = hub /
 *    raw (higher is better; <= 1 expected). Both sides may have the broker's Receive Maximum
 *    (1000 here) in flight; the hub's sender keeps at most 128.
 */
import { storeOnlyKeyCommands, storeStatusSource } from "../test/helpers/store-only-core.js";
import { systemClock } from "../src/shared/clock.js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import mqtt from "mqtt";
import { loadCommandKey, verifyCommandSignature } from "../src/cloud/canonical.js";
import { CloudSync } from "../src/cloud/cloud-sync.js";
import { CloudClient } from "../src/cloud/ctl-client.js";
import { createLogger } from "../src/shared/logger.js";
import { openStore, type Store } from "../src/store/index.js";
import { STORE_PAGE_SIZE } from "../src/store/page-size.js";
import { TEST_CLOUD_KEY } from "../test/helpers/cloud.js";
import { startMosquitto, type Mosquitto } from "../test/helpers/mosquitto.js";
import type { BenchResult } from "./run.js";

const ROUND_TRIPS = Number(process.env.BENCH_CLOUD_ROUND_TRIPS ?? 400);
const BACKLOG = Number(process.env.BENCH_CLOUD_BACKLOG ?? 100_000);
const log = createLogger({ level: "silent" });
/** The Receive Maximum the bench broker grants (max_inflight_messages). */
const RAW_WINDOW = 1000;
const noDelay = (c: mqtt.MqttClient) => (c.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);

function tempStore(): { store: Store; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lockbridge-bench-cloud-"));
  const store = openStore(path.join(dir, "hub.db"));
  return {
    store,
    cleanup: () => {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function hubFor(broker: Mosquitto, store: Store, hubId: string): CloudSync {
  // Signed commands, as a production hub runs (the signature check is part of the round trip).
  // The command layer alone (store-only key semantics): what is measured is the MQTT round trip.
  const keys = storeOnlyKeyCommands(store, systemClock);
  return new CloudSync({
    hubId,
    url: broker.url,
    topicPrefix: "lockbridge",
    protocolVersion: 5,
    maxEvents: 1_000_000,
    version: "bench",
    store,
    log,
    commandPublicKey: TEST_CLOUD_KEY.publicPem,
    keys,
    statusSource: storeStatusSource(store, keys),
  });
}

const until = async (pred: () => boolean, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function roundTrips(send: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 20; i++) await send(-1 - i); // warm-up
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t0 = performance.now();
    await send(i);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

async function commandRoundTrip(broker: Mosquitto): Promise<BenchResult[]> {
  const { store, cleanup } = tempStore();
  const hub = hubFor(broker, store, "bench-rt");
  await hub.start();
  await until(() => hub.connected, 10_000, "hub online");
  const cloud = await CloudClient.connect({ url: broker.url, hubId: "bench-rt", protocolVersion: 5, signingKey: TEST_CLOUD_KEY.privateKey });
  const hubTimes = await roundTrips((i) => cloud.send({ cmd: "door.upsert", doorId: `room-${i}`, name: `Room ${i}`, kind: "room" }));

  // The bare responder: same broker, same topics shape, answers at once.
  const bare = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: "bench-bare" });
  noDelay(bare);
  const bareCloud = await CloudClient.connect({ url: broker.url, hubId: "bench-bare", protocolVersion: 5, signingKey: TEST_CLOUD_KEY.privateKey });
  await bare.subscribeAsync(bareCloud.topics.cmd, { qos: 1 });
  bare.on("message", (_topic, payload) => {
    const { id, cmd } = JSON.parse(payload.toString()) as { id: string; cmd: string };
    bare.publish(bareCloud.topics.res, JSON.stringify({ id, cmd, ok: true, result: {}, warnings: [] }), { qos: 1 });
  });
  const bareTimes = await roundTrips((i) => bareCloud.send({ cmd: "door.upsert", doorId: `room-${i}`, name: `Room ${i}`, kind: "room" }));
  const durableTimes = await durableBareRoundTrips(broker);
  const verifyingTimes = await durableBareRoundTrips(broker, true);

  await bareCloud.close();
  await bare.endAsync();
  await cloud.close();
  await hub.stop();
  cleanup();
  const line = (p: number): BenchResult => ({
    name: `cloud: command round trip p${p} (door.upsert, publish -> response) over a durable bare responder`,
    value: percentile(hubTimes, p),
    unit: "ms",
    baseline: { value: percentile(durableTimes, p), unit: "ms", name: "durable bare responder" },
    note: `lower is better, goal <= 1.5; ${ROUND_TRIPS} sequential commands; both commit (WAL, synchronous=FULL) before answering; the hub also checks the signature, validates and applies`,
  });
  return [
    line(50),
    line(99),
    {
      name: "cloud: command round trip p50 over a durable bare responder that also checks the signature",
      value: percentile(hubTimes, 50),
      unit: "ms",
      baseline: { value: percentile(verifyingTimes, 50), unit: "ms", name: "durable, verifying bare responder" },
      note: "lower is better; the baseline pays both prices the contract sets (one fsynced commit and one Ed25519 verify per command), so this ratio is the hub's own cost",
    },
    {
      name: "cloud: command round trip p50 over a bare responder that stores nothing",
      value: percentile(hubTimes, 50),
      unit: "ms",
      baseline: { value: percentile(bareTimes, 50), unit: "ms", name: "bare responder" },
      note: "lower is better; the two baselines differ by the fsync the contract requires",
    },
  ];
}

/**
 * The durable bare responder: one fsynced SQLite commit per command (the hub's settings), then
 * the answer. With `verifySignature`, it first checks the command's Ed25519 signature as the
 * contract (v1.1) asks of every hub, so the ratio over it is the hub's own cost beyond the two
 * prices the contract sets (the fsync and the signature check).
 */
async function durableBareRoundTrips(broker: Mosquitto, verifySignature = false): Promise<number[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lockbridge-bench-durable-"));
  const db = new Database(path.join(dir, "bare.db"));
  db.pragma(`page_size = ${STORE_PAGE_SIZE}`);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE inbox (command_id TEXT PRIMARY KEY, response TEXT NOT NULL) STRICT");
  const insert = db.prepare("INSERT OR REPLACE INTO inbox (command_id, response) VALUES (?, ?)");
  const responder = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: verifySignature ? "bench-durable-verifying" : "bench-durable" });
  const commandKey = loadCommandKey(TEST_CLOUD_KEY.publicPem);
  noDelay(responder);
  const cloud = await CloudClient.connect({ url: broker.url, hubId: verifySignature ? "bench-durable-verifying" : "bench-durable", protocolVersion: 5, signingKey: TEST_CLOUD_KEY.privateKey });
  await responder.subscribeAsync(cloud.topics.cmd, { qos: 1 });
  responder.on("message", (_topic, payload) => {
    const command = JSON.parse(payload.toString()) as { id: string; cmd: string; sig: string };
    const { id, cmd } = command;
    if (verifySignature && !verifyCommandSignature(command, command.sig, commandKey)) throw new Error(`bench: command ${id} has a bad signature`);
    const response = JSON.stringify({ id, cmd, ok: true, result: {}, warnings: [] });
    insert.run(id, response); // committed (fsync) before the answer, as the contract asks of the hub
    responder.publish(cloud.topics.res, response, { qos: 1 });
  });
  try {
    return await roundTrips((i) => cloud.send({ cmd: "door.upsert", doorId: `room-${i}`, name: `Room ${i}`, kind: "room" }));
  } finally {
    await cloud.close();
    await responder.endAsync();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A QoS 1 subscriber counting messages on a topic. */
async function subscriber(broker: Mosquitto, topic: string, clientId: string) {
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId });
  noDelay(client);
  let count = 0;
  client.on("message", () => void count++);
  await client.subscribeAsync(topic, { qos: 1 });
  return { count: () => count, close: () => client.endAsync() };
}

async function backlogDrain(broker: Mosquitto): Promise<BenchResult[]> {
  const { store, cleanup } = tempStore();
  const hub = hubFor(broker, store, "bench-drain");
  // The backlog piles up while the hub is offline (as during a broker outage).
  const body = { type: "access.granted", doorId: "room-101", lockId: "4c42000000000001", keyId: "k-1042", credential: "doorCode" } as const;
  for (let done = 0; done < BACKLOG; ) {
    const n = Math.min(5000, BACKLOG - done);
    store.transaction(() => {
      for (let i = 0; i < n; i++) hub.events.emit(body);
    });
    done += n;
  }
  const sample = JSON.stringify({ seq: 100_000, ...body, at: "2026-12-01T15:04:11.123Z" });
  const sub = await subscriber(broker, hub.topics.evt, "bench-drain-sub");
  const t0 = performance.now();
  await hub.start();
  await until(() => hub.eventsSent >= BACKLOG, 300_000, "backlog drained");
  const hubSeconds = (performance.now() - t0) / 1000;
  await until(() => store.outbox.depth().pending === 0, 10_000, "events marked sent");
  await until(() => sub.count() >= BACKLOG, 60_000, "subscriber got all events");
  await hub.stop();
  await sub.close();

  // Raw mqtt.js QoS 1 publishing of the same payloads to the same kind of subscriber.
  const rawTopic = "bench/raw/evt";
  const rawSub = await subscriber(broker, rawTopic, "bench-raw-sub");
  const raw = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: "bench-raw-pub" });
  noDelay(raw);
  // As many in flight as the broker's Receive Maximum allows (mqtt.js does not enforce it).
  const window = RAW_WINDOW;
  const t1 = performance.now();
  let acked = 0;
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    const next = (): void => {
      if (sent >= BACKLOG) return;
      sent++;
      raw.publish(rawTopic, sample, { qos: 1 }, (err) => {
        if (err) return reject(err);
        if (++acked === BACKLOG) resolve();
        else next();
      });
    };
    for (let i = 0; i < window; i++) next();
  });
  const rawSeconds = (performance.now() - t1) / 1000;
  await until(() => rawSub.count() >= BACKLOG, 60_000, "raw subscriber got all");
  await raw.endAsync();
  await rawSub.close();
  cleanup();
  return [
    {
      name: `cloud: backlog drain of ${BACKLOG.toLocaleString("en")} events (connect -> last PUBACK, marked sent)`,
      value: BACKLOG / hubSeconds,
      unit: "events/s",
      baseline: { value: BACKLOG / rawSeconds, unit: "events/s", name: "raw mqtt.js QoS 1" },
      note: "higher is better; hub: in seq order from SQLite, up to 128 in flight, sent marks batched; raw: up to the broker's Receive Maximum in flight, nothing stored",
    },
  ];
}

export async function run(): Promise<BenchResult[]> {
  const broker = await startMosquitto({ maxInflightMessages: RAW_WINDOW });
  try {
    return [...(await commandRoundTrip(broker)), ...(await backlogDrain(broker))];
  } finally {
    await broker.close();
  }
}
