/**
 * The chaos run's event invariant (chaos/events-check.ts) against a real Mosquitto and the
 * hub's cloud sync: it must not count the redeliveries it asked for (events.resend) or the
 * QoS 1 redeliveries of a new hub session as duplicates (it did: every chaos run reported
 * about as many duplicates as events, because the first events of the run came before the
 * checker subscribed and its resend from seq 1 sent everything again), and it must still
 * catch an unasked duplicate within one session.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ChaosCloud } from "../../chaos/cloud.js";
import { checkEvents } from "../../chaos/events-check.js";
import { eventually, startHubCloud, TEST_CLOUD_KEY, type HubCloud } from "../helpers/cloud.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";

describe("chaos event invariant", () => {
  let broker: Mosquitto | undefined;
  let hub: HubCloud | undefined;
  let cloud: ChaosCloud | undefined;

  afterEach(async () => {
    await cloud?.close();
    await hub?.stop();
    await broker?.close();
    cloud = hub = broker = undefined;
  });

  const emit = (h: HubCloud, n: number) => {
    for (let i = 0; i < n; i++) h.cloud.events.emit({ type: "access.granted", doorId: "room-1", n: i });
  };

  it("events the hub sent before the checker subscribed: fetched with events.resend, the resent ones are not duplicates", async () => {
    broker = await startMosquitto();
    hub = await startHubCloud({ url: broker.url });
    emit(hub, 5);
    await eventually(() => hub!.store.outbox.depth().pending === 0, 10_000, "early events sent");
    cloud = await ChaosCloud.connect(broker.url, "hub-1", TEST_CLOUD_KEY.privateKey);
    emit(hub, 40);
    await eventually(() => cloud!.events.counts.received >= 40, 10_000, "40 events");
    const violations: string[] = [];
    const events = await checkEvents(cloud, violations, 500);
    expect(violations).toEqual([]);
    expect(events).toMatchObject({ received: 45, duplicates: 0, duplicatesAfterReconnect: 0, missing: 0 });
    expect(events.duplicatesOnResendRequest).toBe(40);
  }, 60_000);

  it("events sent again by a new hub session (PUBACKs lost in a crash) are legitimate redeliveries", async () => {
    broker = await startMosquitto();
    hub = await startHubCloud({ url: broker.url, keepFile: true });
    cloud = await ChaosCloud.connect(broker.url, "hub-1", TEST_CLOUD_KEY.privateKey);
    emit(hub, 20);
    await eventually(() => cloud!.events.counts.received >= 20 && hub!.store.outbox.depth().pending === 0, 10_000, "20 events");
    const file = hub.file;
    await hub.stop();
    // What a SIGKILL before the sent marks were flushed leaves: delivered events still unsent.
    const { openStore } = await import("../../src/store/index.js");
    const s = openStore(file);
    s.outbox.requeueFrom(11);
    s.close();
    hub = await startHubCloud({ url: broker.url, file });
    await eventually(() => cloud!.events.counts.duplicatesAfterReconnect >= 10, 10_000, "10 redeliveries");
    const violations: string[] = [];
    const events = await checkEvents(cloud, violations, 500);
    expect(violations).toEqual([]);
    expect(events).toMatchObject({ received: 20, duplicates: 0, duplicatesAfterReconnect: 10, duplicatesOnResendRequest: 0, missing: 0 });
  }, 60_000);

  it("an unasked duplicate within one hub session and cloud connection is a violation", async () => {
    broker = await startMosquitto();
    hub = await startHubCloud({ url: broker.url });
    cloud = await ChaosCloud.connect(broker.url, "hub-1", TEST_CLOUD_KEY.privateKey);
    emit(hub, 10);
    await eventually(() => cloud!.events.counts.received >= 10 && hub!.store.outbox.depth().pending === 0, 10_000, "10 events");
    hub.cloud.events.requeueFrom(8); // the hub sends 8..10 again, nobody asked
    await eventually(() => cloud!.events.counts.duplicates >= 3, 10_000, "3 duplicates");
    const violations: string[] = [];
    const events = await checkEvents(cloud, violations, 500);
    expect(events).toMatchObject({ received: 10, duplicates: 3, missing: 0 });
    // Since de0ecd0 each duplicate is named after the message (seq, type, when each copy came, in which session).
    expect(violations).toEqual([expect.stringMatching(/^3 events delivered twice within one hub session and cloud connection, unasked \(seq 8 \(/)]);
  }, 60_000);
});
