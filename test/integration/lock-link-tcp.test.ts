// The hub's lock layer over TCP on loopback: one connection to a simulated serial server
// with several locks behind it (the RS-485 bus of a floor), faults injected by the simulator.
import { afterEach, describe, expect, it } from "vitest";
import { CredentialKind, tableDigest } from "../../src/protocol/llp/index.js";
import { MemoryLinkStateStore } from "../../src/lock/link-state.js";
import { LockLinks } from "../../src/lock/links.js";
import { SimLock, startTcpBus, type TcpBus } from "../../sim/index.js";
import { FAST_BACKOFF, quietLogger, testProfiles, until } from "../helpers/lock-link.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const lockIdOf = (i: number) => `4c4200000000${(i + 1).toString(16).padStart(4, "0")}`;
const fleet = (n: number) => Array.from({ length: n }, (_, i) => new SimLock({ address: i + 1, lockId: lockIdOf(i), seed: 17 + i }));
const code = (n: number) => String(100000 + ((n * 7919) % 900000));

async function rig(n: number, opts: { eventNotify?: boolean; retries?: number } = {}) {
  const locks = fleet(n);
  const tcp: TcpBus = await startTcpBus(locks, { eventNotify: opts.eventNotify ?? false });
  cleanup.push(() => tcp.close());
  const links = new LockLinks({
    profiles: testProfiles({ retries: opts.retries ?? 3 }),
    linkState: new MemoryLinkStateStore(),
    logger: quietLogger,
    backoff: FAST_BACKOFF,
  });
  cleanup.push(() => links.close());
  const clients = locks.map((lock) => links.client({ lockId: lock.lockId, profileId: "sim-tcp", link: { type: "tcp", host: tcp.host, port: tcp.port, address: lock.address } }));
  return { locks, tcp, links, clients };
}

describe("lock link over TCP (loopback)", () => {
  it("shares one connection between the locks of a bus; sealed provisioning verified by table digest", async () => {
    const { locks, links, clients, tcp } = await rig(3);
    expect(links.transports()).toHaveLength(1);
    await Promise.all(clients.map(async (c) => {
      await c.pair();
      for (let slot = 0; slot < 5; slot++) await c.putCredential({ kind: CredentialKind.DOOR_CODE, slot, validFrom: 0, validUntil: 0, secret: code(slot) });
    }));
    expect(tcp.connections).toBe(1);
    for (const [i, c] of clients.entries()) {
      const { digest, used } = await c.tableDigest(CredentialKind.DOOR_CODE);
      expect(used).toBe(5);
      expect(Buffer.from(digest).equals(tableDigest(locks[i]!.slots(CredentialKind.DOOR_CODE)))).toBe(true);
    }
  });

  it("converges without duplicate effects through dropped and corrupted frames", async () => {
    const { locks, clients, links } = await rig(1, { retries: 6 });
    const lock = locks[0]!;
    const c = clients[0]!;
    await c.pair();
    lock.setFlaky({ drop: 0.2, corrupt: 0.15, seed: 7 });
    for (let slot = 0; slot < 20; slot++) {
      await c.putCredential({ kind: CredentialKind.DOOR_CODE, slot, validFrom: 0, validUntil: 0, secret: code(slot) });
    }
    lock.setFlaky({ drop: 0, corrupt: 0 });
    // Every PUT ran exactly once on the lock, though many attempts were lost or garbled.
    expect(lock.executionCount("PUT_CREDENTIAL")).toBe(20);
    expect(lock.slots(CredentialKind.DOOR_CODE)).toHaveLength(20);
    expect(c.session.stats.retries).toBeGreaterThan(0);
    expect(lock.cachedResends).toBeGreaterThan(0);
    expect(links.transports()[0]!.state).toBe("open");
  });

  it("accepts a lock that answers late (slower than the response timeout), executing once", async () => {
    const { locks, clients } = await rig(1);
    const lock = locks[0]!;
    await clients[0]!.status();
    lock.setSlow(200); // timeout 150 ms: the first attempt times out, the answer arrives while the retry is queued
    await clients[0]!.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 1, validFrom: 0, validUntil: 0, secret: "918273" });
    lock.setSlow(0);
    expect(lock.executionCount("PUT_CREDENTIAL")).toBe(1);
    expect(clients[0]!.session.stats.timeouts).toBeGreaterThanOrEqual(1);
  });

  it("reconnects when the serial server drops the connection, and carries on", async () => {
    const { tcp, links, clients } = await rig(2);
    await Promise.all(clients.map((c) => c.status()));
    tcp.dropConnections();
    await until(() => links.transports()[0]!.reconnects === 1 && links.transports()[0]!.state === "open", 5000, "reconnect");
    await Promise.all(clients.map((c) => c.status()));
    expect(clients.every((c) => c.online === true)).toBe(true);
  });

  it("raises EVENT_NOTIFY sent unasked by a lock (TCP) and reads the events", async () => {
    const { locks, clients } = await rig(1, { eventNotify: true });
    const c = clients[0]!;
    await c.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 0, validFrom: 0, validUntil: 0, secret: "482916" });
    const heads: number[] = [];
    c.session.on("eventNotify", (h) => heads.push(h));
    locks[0]!.enterCode("482916");
    await until(() => heads.length > 0, 3000, "EVENT_NOTIFY");
    const events = await c.readEvents(1, 32);
    expect(events.at(-1)!.seq).toBe(heads.at(-1));
    expect(events.some((e) => e.type === 0x01 && e.slot === 0)).toBe(true);
  });

  it("shared-bus fairness: with one dead lock among four, the others all progress", async () => {
    const { locks, clients } = await rig(4);
    locks[2]!.setOffline(true);
    const results = await Promise.all(clients.map(async (c) => {
      let ok = 0;
      for (let slot = 0; slot < 6; slot++) {
        try {
          await c.putCredential({ kind: CredentialKind.DOOR_CODE, slot, validFrom: 0, validUntil: 0, secret: code(slot) });
          ok++;
        } catch {
          // the dead lock: lock_timeout
        }
      }
      return ok;
    }));
    expect(results).toEqual([6, 6, 0, 6]);
    expect(clients[2]!.online).toBe(false);
    // The dead lock cost its timeouts only: its first request until offlineAfterTimeouts (3), then 1 per request.
    expect(clients[2]!.session.stats.attempts).toBe(3 + 5);
  });
});
