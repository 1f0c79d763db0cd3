// The hub's lock layer over BLE: the real BleTransport (scan, connect, MTU-sized writes,
// reassembly, idle disconnect, connection cap) above the simulator's in-process stand-in
// central, and the real ProxyCentral over TCP to the simulator's BLE proxy server.
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { CredentialKind, tableDigest } from "../../src/protocol/llp/index.js";
import { MemoryLinkStateStore } from "../../src/lock/link-state.js";
import { LockLinks } from "../../src/lock/links.js";
import { bleSurvey } from "../../src/scan/ble-scan.js";
import { isLockBridgeError } from "../../src/shared/errors.js";
import type { BleCentral } from "../../src/transport/ble/central.js";
import { createNobleCentral } from "../../src/transport/ble/noble-central.js";
import { ProxyCentral } from "../../src/transport/ble/proxy-central.js";
import { SimLock, StandInCentral, startBleProxy, startTcpBus } from "../../sim/index.js";
import { FAST_BACKOFF, quietLogger, testProfiles, until } from "../helpers/lock-link.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const lockIdOf = (i: number) => `4c42b1e000000${(i + 1).toString(16).padStart(3, "0")}`;
const bleLocks = (n: number) => Array.from({ length: n }, (_, i) => new SimLock({ address: 1, lockId: lockIdOf(i) }));

function links(central: Promise<BleCentral>, maxConnections = 3, logger = quietLogger, profiles = testProfiles()) {
  const l = new LockLinks({ profiles, linkState: new MemoryLinkStateStore(), logger, bleCentral: central, bleMaxConnections: maxConnections, backoff: FAST_BACKOFF });
  cleanup.push(() => l.close());
  return l;
}

const bleClient = (l: LockLinks, lock: SimLock) => l.client({ lockId: lock.lockId, profileId: "sim-ble", link: { type: "ble", lockId: lock.lockId } });

async function provisionAndVerify(l: LockLinks, lock: SimLock) {
  const c = bleClient(l, lock);
  const { differences } = await c.checkIdentity();
  expect(differences).toEqual([]);
  await c.pair();
  for (let slot = 0; slot < 6; slot++) {
    await c.putCredential({ kind: CredentialKind.DOOR_CODE, slot, validFrom: 1767279600, validUntil: 1767538800, secret: `${482916 + slot}` });
  }
  // READ_SLOTS answers (6 x 15 bytes + sealing) span many notifications: reassembled by the decoder.
  const slots = await c.readSlots(CredentialKind.DOOR_CODE, 0, 32);
  expect(slots.map((s) => s.slot)).toEqual([0, 1, 2, 3, 4, 5]);
  const { digest } = await c.tableDigest(CredentialKind.DOOR_CODE);
  expect(Buffer.from(digest).equals(tableDigest(lock.slots(CredentialKind.DOOR_CODE)))).toBe(true);
  expect(lock.executionCount("PUT_CREDENTIAL")).toBe(6);
  return c;
}

describe("lock link over BLE: stand-in central", () => {
  it("scans by advertisement, connects, fragments writes to MTU-3, reassembles notifications; sealed provisioning", async () => {
    const lock = bleLocks(1)[0]!;
    const central = new StandInCentral([lock], { mtu: 23 });
    const l = links(Promise.resolve(central));
    await provisionAndVerify(l, lock);
    const status = l.transports()[0]!;
    expect(status.kind).toBe("ble");
    expect(status.state).toBe("open");
    // A sealed PUT is ~45 bytes: it went out as several 20-byte writes.
    expect(status.bytesOut).toBeGreaterThan(200);
  });

  it("drops the link after the profile's idle time and reconnects on the next request", async () => {
    const lock = bleLocks(1)[0]!;
    const l = links(Promise.resolve(new StandInCentral([lock])));
    const c = bleClient(l, lock);
    await c.status();
    await until(() => l.transports()[0]!.state === "idle", 3000, "idle disconnect (1 s)");
    await c.status();
    expect(l.transports()[0]!.reconnects).toBe(1);
  });

  it("caps concurrent BLE connections; a request for another lock waits for a free connection", async () => {
    const locks = bleLocks(3);
    // A long idle time: were the hand-over to wait for it, three locks would take >= 2 x 20 s.
    const idleS = 20;
    const profiles = testProfiles({}, idleS);
    const l = links(Promise.resolve(new StandInCentral(locks)), 1, quietLogger, profiles);
    const clients = locks.map((lock) => bleClient(l, lock));
    let maxOpen = 0;
    const timer = setInterval(() => (maxOpen = Math.max(maxOpen, l.transports().filter((t) => t.state === "open").length)), 2);
    cleanup.push(async () => clearInterval(timer));
    const t0 = Date.now();
    const results = await Promise.all(clients.map((c) => c.status()));
    expect(results).toHaveLength(3);
    expect(maxOpen).toBe(1);
    // Handed over as soon as each link fell quiet, not after the idle timeout (a lower bound, not a speed test).
    expect(Date.now() - t0).toBeLessThan(idleS * 1000);
  });

  it("a lock that walks out of range mid-command (after taking the PUT) and returns: executed once", async () => {
    const lock = bleLocks(1)[0]!;
    const central = new StandInCentral([lock]);
    const l = links(Promise.resolve(central));
    const c = bleClient(l, lock);
    await c.status();
    const answer = lock.answer.bind(lock);
    const handle = lock.handleFrame.bind(lock);
    let gone = false;
    const vanish = () => {
      gone = true;
      lock.setOffline(true);
      setTimeout(() => lock.setOffline(false), 400);
    };
    lock.answer = (frame) => {
      const r = answer(frame);
      if (!gone && frame.cmd === 0x10) {
        vanish();
        return null;
      }
      return r;
    };
    lock.handleFrame = (frame) => {
      const r = handle(frame);
      if (!gone && frame.cmd === 0x10) {
        vanish();
        return null;
      }
      return r;
    };
    await c.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 2, validFrom: 0, validUntil: 0, secret: "5151" });
    expect(gone).toBe(true);
    expect(lock.executionCount("PUT_CREDENTIAL")).toBe(1);
    expect(lock.slots(CredentialKind.DOOR_CODE).map((s) => s.slot)).toEqual([2]);
  });
});

describe("lock link over BLE: proxy central (TCP)", () => {
  it("provisions through the BLE proxy with MTU fragmentation, and raises EVENT_NOTIFY", async () => {
    const locks = bleLocks(2);
    const proxy = await startBleProxy(locks, { mtu: 40 });
    cleanup.push(() => proxy.close());
    const central = new ProxyCentral({ host: proxy.host, port: proxy.port, logger: quietLogger });
    const l = links(Promise.resolve(central));
    const c = await provisionAndVerify(l, locks[0]!);
    const heads: number[] = [];
    c.session.on("eventNotify", (h) => heads.push(h));
    locks[0]!.enterCode("482916");
    await until(() => heads.length > 0, 3000, "EVENT_NOTIFY through the proxy");
    const events = await c.readEvents(1, 32);
    // The code's window is in the past: the lock logs a denial, and told the hub at once.
    expect(events.at(-1)!.type).toBe(0x02);
    expect(events.at(-1)!.seq).toBe(heads.at(-1));
    // The other lock through the same proxy.
    await bleClient(l, locks[1]!).status();
  });
});

describe("lock link over BLE: signal strength", () => {
  it("stand-in: each lock's RSSI from its advertisement and from the connection's read (noble's updateRssiAsync), in the link's status", async () => {
    const locks = bleLocks(2);
    const rssi = new Map([[locks[0]!, -67], [locks[1]!, -88]]);
    const central = new StandInCentral(locks, { rssi: (lock) => rssi.get(lock) });
    const l = links(Promise.resolve(central));
    const statusOf = (lock: SimLock) => l.linkStats().find((s) => s.bus === `ble:${lock.lockId}`)?.transport;
    await bleClient(l, locks[0]!).status();
    expect(statusOf(locks[0]!)).toMatchObject({ rssi: -67 });
    await bleClient(l, locks[1]!).status();
    expect(statusOf(locks[1]!)).toMatchObject({ rssi: -88 });
    // The lock moves closer: read again at the next connection (after the idle disconnect).
    central.setRssi(locks[1]!, -58);
    central.dropConnection(locks[1]!);
    await bleClient(l, locks[1]!).status();
    await until(() => statusOf(locks[1]!)?.rssi === -58, 3000, "RSSI read at the new connection");
    expect(statusOf(locks[1]!)!.rssiAt).toBeGreaterThan(Date.now() - 5000);
    // Wired links carry no RSSI.
    const wired = new SimLock({ address: 3, lockId: "4c42b1e000000fff" });
    const bus = await startTcpBus([wired]);
    cleanup.push(() => bus.close());
    await l.client({ lockId: wired.lockId, profileId: "sim-tcp", link: { type: "tcp", host: bus.host, port: bus.port, address: 3 } }).status();
    expect(l.linkStats().find((s) => s.bus.startsWith("tcp:"))!.transport.rssi).toBeUndefined();
  });

  it("proxy: the RSSI the proxy reports per lock (advertisement and connection) reaches the link's status; a scan survey lists every lock with it", async () => {
    const locks = bleLocks(2);
    const proxy = await startBleProxy(locks, { rssi: (lock) => (lock === locks[0] ? -71 : undefined) });
    cleanup.push(() => proxy.close());
    const l = links(Promise.resolve(new ProxyCentral({ host: proxy.host, port: proxy.port, logger: quietLogger })));
    const statusOf = (lock: SimLock) => l.linkStats().find((s) => s.bus === `ble:${lock.lockId}`)?.transport;
    await bleClient(l, locks[0]!).status();
    expect(statusOf(locks[0]!)).toMatchObject({ rssi: -71 });
    await bleClient(l, locks[1]!).status();
    expect(statusOf(locks[1]!)).toMatchObject({ rssi: -60 }); // the proxy's default
    proxy.setRssi(locks[0]!, -83);
    const seen = await bleSurvey(l.bleRadio(), 300);
    expect(seen.map((s) => [s.lockId, s.rssi])).toEqual([[locks[1]!.lockId, -60], [locks[0]!.lockId, -83]]);
    expect(statusOf(locks[0]!)).toMatchObject({ rssi: -83 }); // the survey's advertisements count too
    // A survey while the radio already scans (a lock out of reach being looked for) hears every lock too.
    const ghost = new SimLock({ address: 1, lockId: "4c42b1e000000eee" });
    const lookingFor = bleClient(l, ghost).status().catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    expect((await bleSurvey(l.bleRadio(), 300)).map((s) => s.lockId)).toEqual([locks[1]!.lockId, locks[0]!.lockId]);
    expect(isLockBridgeError(await lookingFor)).toBe(true);
  });
});

describe("lock link over BLE: proxy restarts", () => {
  it("the proxy goes away and comes back on the same port: the central reconnects and requests succeed again", async () => {
    const lock = bleLocks(1)[0]!;
    let proxy = await startBleProxy([lock]);
    const port = proxy.port;
    cleanup.push(() => proxy.close());
    const central = new ProxyCentral({ host: proxy.host, port, logger: quietLogger });
    const l = links(Promise.resolve(central));
    const c = bleClient(l, lock);
    await c.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 0, validFrom: 0, validUntil: 0, secret: "1357" });
    await proxy.close();
    await until(() => l.transports()[0]!.state === "idle", 3000, "link dropped with the proxy");
    proxy = await startBleProxy([lock], { port });
    // The engine retries until the link is back (the proxy client reconnects with backoff).
    let done = false;
    for (let i = 0; i < 20 && !done; i++) {
      done = await c.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 1, validFrom: 0, validUntil: 0, secret: "2468" }).then(() => true, () => false);
      if (!done) await new Promise((r) => setTimeout(r, 200));
    }
    expect(done).toBe(true);
    expect(lock.slots(CredentialKind.DOOR_CODE).map((s) => s.slot)).toEqual([0, 1]);
  });
});

describe("BLE unavailable", () => {
  it("noble failing to load (EAFNOSUPPORT) is contained: typed ble_unavailable, a clear log, other links unaffected", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    const failing = () => Promise.reject(Object.assign(new Error("EAFNOSUPPORT, Address family not supported by protocol"), { code: "EAFNOSUPPORT" }));
    const central = createNobleCentral({ logger, load: failing });
    await expect(central).rejects.toMatchObject({ code: "ble_unavailable" });
    expect(lines.some((s) => s.includes("BLE unavailable") && s.includes("EAFNOSUPPORT"))).toBe(true);

    const tcpLock = new SimLock({ address: 1, lockId: "4c42000000000001" });
    const tcp = await startTcpBus([tcpLock]);
    cleanup.push(() => tcp.close());
    const l = links(central);
    const ble = bleClient(l, bleLocks(1)[0]!);
    const err = await ble.status().catch((e: unknown) => e);
    expect(isLockBridgeError(err, "ble_unavailable")).toBe(true);
    const wired = l.client({ lockId: tcpLock.lockId, profileId: "sim-tcp", link: { type: "tcp", host: tcp.host, port: tcp.port, address: 1 } });
    expect((await wired.ident()).lockId).toBe(tcpLock.lockId);
  });

  it("loading the real noble here never throws anything but ble_unavailable", async () => {
    const r = await createNobleCentral({ logger: quietLogger }).then(
      async (c) => {
        await c.close();
        return "loaded";
      },
      (e: unknown) => (isLockBridgeError(e, "ble_unavailable") ? "ble_unavailable" : e),
    );
    expect(["loaded", "ble_unavailable"]).toContain(r);
  });
});
