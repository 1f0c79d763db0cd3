/**
 * The chaos cloud's event ledger against a real hub process (the cloud part on a SQLite file,
 * streaming access events) and a real Mosquitto. Regression for the chaos report's
 * "duplicates about equal to received": the cloud subscribed after commissioning, missed the
 * first seqs, and its end-of-run events.resend from seq 1 brought every event a second time.
 * Those were asked for, not a hub fault. The ledger says which duplicates were asked for
 * (duplicatesOnResendRequest), which came unasked after a new hub session or reconnect
 * (duplicatesAfterReconnect: QoS 1 after a SIGKILL) and which broke the contract (a seq
 * carrying another event: seqReused). Ported from the chaos2 branch.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { ChaosCloud } from "../../chaos/cloud.js";
import { topicsFor } from "../../src/cloud/topics.js";
import { checkEvents } from "../../chaos/events-check.js";
import { REPO } from "../../chaos/procs.js";
import { eventually, TEST_CLOUD_KEY } from "../helpers/cloud.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";

const HUB_ID = "hub-crash"; // test/helpers/cloud-hub-child.ts
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function startHub(url: string, storeFile: string): { proc: ChildProcess; online: Promise<void>; kill: () => Promise<void> } {
  const proc = spawn(process.execPath, ["--import", "tsx", join(REPO, "test/helpers/cloud-hub-child.ts")], {
    cwd: REPO,
    env: { ...process.env, HUB_URL: url, HUB_STORE: storeFile, HUB_PROTOCOL: "4", HUB_EVENT_EVERY_MS: "10" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const online = new Promise<void>((resolve) => proc.stdout!.on("data", (d: Buffer) => d.toString().includes('"online":true') && resolve()));
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await exited;
  };
  cleanups.push(kill);
  return { proc, online, kill };
}

async function setUp(): Promise<{ broker: Mosquitto; cloud: ChaosCloud; storeFile: string }> {
  const broker = await startMosquitto();
  cleanups.push(() => broker.close());
  const dir = mkdtempSync(join(tmpdir(), "lockbridge-ledger-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  // As the chaos run does it: the cloud is subscribed before the hub first runs.
  const cloud = await ChaosCloud.connect(broker.url, HUB_ID, TEST_CLOUD_KEY.privateKey);
  cleanups.push(() => cloud.close());
  return { broker, cloud, storeFile: join(dir, "hub.db") };
}

describe("chaos event ledger (real hub process, real Mosquitto)", () => {
  it("sees every event from seq 1; what an events.resend brings again is counted as asked for, not as a fault", async () => {
    const { broker, cloud, storeFile } = await setUp();
    const hub = startHub(broker.url, storeFile);
    await hub.online;
    await eventually(() => cloud.events.counts.received >= 100 || undefined, 30_000, "100 events");
    await hub.kill(); // the stream stops; what was published is at the broker
    await new Promise((r) => setTimeout(r, 500));
    const { received } = cloud.events.counts;
    expect(cloud.events.missingSeqs()).toEqual([]);
    expect(cloud.events.counts).toMatchObject({ duplicatesOnResendRequest: 0, duplicatesAfterReconnect: 0, duplicates: 0, seqReused: 0 });

    const again = startHub(broker.url, storeFile);
    await again.online;
    // Acknowledged events whose sent marks the SIGKILL lost go again unasked: at-least-once.
    await new Promise((r) => setTimeout(r, 1_000));
    const redelivered = cloud.events.counts.duplicatesAfterReconnect;
    cloud.events.resendRequested(1);
    const r = await cloud.send({ cmd: "events.resend", fromSeq: 1 });
    expect(r?.ok).toBe(true);
    await eventually(() => cloud.events.counts.duplicatesOnResendRequest >= received || undefined, 30_000, "every event resent");
    expect(cloud.events.counts.duplicatesAfterReconnect).toBe(redelivered);
    expect(cloud.events.counts.seqReused).toBe(0);
    expect(cloud.events.missingSeqs()).toEqual([]);
  }, 120_000);

  it("a hub that lost its store starts its seqs again at 1: the ledger reports the reused seqs", async () => {
    const { broker, cloud, storeFile } = await setUp();
    const hub = startHub(broker.url, storeFile);
    await hub.online;
    await eventually(() => cloud.events.counts.received >= 20 || undefined, 30_000, "20 events");
    await hub.kill();
    for (const f of [storeFile, `${storeFile}-wal`, `${storeFile}-shm`]) rmSync(f, { force: true });
    const fresh = startHub(broker.url, storeFile);
    await fresh.online;
    await eventually(() => cloud.events.counts.seqReused >= 5 || undefined, 30_000, "reused seqs seen");
    expect(cloud.events.reusedSeqs[0]).toBe(1);
    // The end-of-run check reports it as a violation.
    const violations: string[] = [];
    await checkEvents(cloud, violations, 100);
    expect(violations.some((v) => v.includes("seqs arrived again carrying another event"))).toBe(true);
  }, 120_000);

  it("the broker's redelivery to the cloud right after a broker restart is counted as after a reconnect, not as a duplicate within one connection (the 30-minute run's 22)", async () => {
    const { broker, cloud } = await setUp();
    const topics = topicsFor("lockbridge", HUB_ID);
    const event = JSON.stringify({ seq: 1, type: "door.remote_unlock", at: "2026-11-29T09:58:27.613Z" });
    const publish = async () => {
      const hub = await mqtt.connectAsync(broker.url, { clientId: "ledger-test-hub", reconnectPeriod: 0 });
      await hub.publishAsync(topics.evt, event, { qos: 1 });
      await hub.endAsync();
    };
    await publish();
    await eventually(() => cloud.events.has(1) || undefined, 10_000, "seq 1");
    // The broker goes away and comes back (persistence kept), while the cloud has a command to
    // send (as the chaos cloud always has): mqtt.js emits 'connect' only once its stored
    // publishes are acknowledged again, and the copy queued for the cloud's persistent session
    // comes right after the CONNACK, so its 'message' is emitted before that 'connect'.
    await broker.stop();
    void cloud.send({ cmd: "status.get" }, { retryMs: 1_000, giveUpMs: 2_000 });
    await broker.start();
    await publish();
    await eventually(() => cloud.events.counts.duplicatesAfterReconnect + cloud.events.counts.duplicates > 0 || undefined, 15_000, "the copy");
    expect(cloud.events.counts).toMatchObject({ duplicates: 0, duplicatesAfterReconnect: 1 });
  }, 60_000);
});
