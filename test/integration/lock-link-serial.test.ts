// The hub's lock layer over a real serial stack: serialport on the hub end of a socat pty
// pair, simulated locks on the other end (RS-485 style: several ADDRs on one line).
import { afterEach, describe, expect, it } from "vitest";
import { CredentialKind, tableDigest } from "../../src/protocol/llp/index.js";
import { MemoryLinkStateStore } from "../../src/lock/link-state.js";
import { LockLinks } from "../../src/lock/links.js";
import { isLockBridgeError } from "../../src/shared/errors.js";
import { LockBus, SimLock, startPtyBus } from "../../sim/index.js";
import { FAST_BACKOFF, quietLogger, testProfiles, until } from "../helpers/lock-link.js";
import { attachBusToPty, startSocatPair } from "../helpers/socat.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const lockIdOf = (i: number) => `4c4200000000${(i + 1).toString(16).padStart(4, "0")}`;
const fleet = (n: number) => Array.from({ length: n }, (_, i) => new SimLock({ address: i + 1, lockId: lockIdOf(i) }));
const code = (i: number) => `${493817 + i * 7919}`.slice(0, 6);

function links() {
  const l = new LockLinks({ profiles: testProfiles(), linkState: new MemoryLinkStateStore(), logger: quietLogger, backoff: FAST_BACKOFF });
  cleanup.push(() => l.close());
  return l;
}

describe("lock link over serialport + socat pty", () => {
  it("drives three locks on one RS-485 line at 19200 baud (wire time honoured): ident, pair, provision, verify by digest", async () => {
    const locks = fleet(3);
    const pty = await startPtyBus(locks, { wireBaud: 19200 });
    cleanup.push(() => pty.close());
    const l = links();
    const clients = locks.map((lock) => l.client({ lockId: lock.lockId, profileId: "sim-rs485", link: { type: "serial", path: pty.hubPath, address: lock.address } }));
    expect(l.transports()).toHaveLength(1);
    await Promise.all(
      clients.map(async (c, i) => {
        const { ident, differences } = await c.checkIdentity();
        expect(ident.lockId).toBe(locks[i]!.lockId);
        expect(differences).toEqual([]);
        await c.pair();
        for (let slot = 0; slot < 4; slot++) {
          await c.putCredential({ kind: CredentialKind.DOOR_CODE, slot, validFrom: 0, validUntil: 0, secret: code(slot + i * 10) });
        }
      }),
    );
    for (const [i, c] of clients.entries()) {
      const lockTable = locks[i]!.slots(CredentialKind.DOOR_CODE);
      expect(lockTable).toHaveLength(4);
      const { digest } = await c.tableDigest(CredentialKind.DOOR_CODE);
      expect(Buffer.from(digest).equals(tableDigest(lockTable))).toBe(true);
      expect(locks[i]!.executionCount("PUT_CREDENTIAL")).toBe(4);
    }
  });

  it("the serial port vanishes (socat killed) and comes back on the same path: the transport reopens and the client converges", async () => {
    const locks = fleet(2);
    const pair = await startSocatPair();
    cleanup.push(() => pair.close());
    const bus = new LockBus(locks);
    let lockSide = await attachBusToPty(bus, pair.lockPath);
    cleanup.push(() => lockSide.detach());
    const l = links();
    const clients = locks.map((lock) => l.client({ lockId: lock.lockId, profileId: "sim-uart", link: { type: "serial", path: pair.hubPath, address: lock.address } }));
    await until(() => l.transports()[0]!.state === "open", 5000, "port open");
    await clients[0]!.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 0, validFrom: 0, validUntil: 0, secret: "482916" });

    await lockSide.detach();
    await pair.kill();
    await until(() => l.transports()[0]!.state === "reconnecting", 20_000, "transport notices the port is gone"); // generous: a loaded machine
    // While the port is gone: requests fail as timeouts, never hang, and the locks go offline.
    const during = await clients[1]!.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 1, validFrom: 0, validUntil: 0, secret: "735102" }).catch((e: unknown) => e);
    expect(isLockBridgeError(during, "lock_timeout")).toBe(true);
    expect(clients[1]!.online).toBe(false);

    await pair.start();
    lockSide = await attachBusToPty(bus, pair.lockPath);
    await until(() => l.transports()[0]!.state === "open", 5000, "transport reopens");
    expect(l.transports()[0]!.reconnects).toBe(1);
    // Converge: the engine retries what failed; each lock ends with exactly the desired table.
    await clients[1]!.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 1, validFrom: 0, validUntil: 0, secret: "735102" });
    await clients[0]!.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 2, validFrom: 0, validUntil: 0, secret: "918273" });
    expect(clients[1]!.online).toBe(true);
    expect(locks[0]!.slots(CredentialKind.DOOR_CODE).map((s) => s.slot)).toEqual([0, 2]);
    expect(locks[1]!.slots(CredentialKind.DOOR_CODE).map((s) => s.slot)).toEqual([1]);
    expect(locks[1]!.executionCount("PUT_CREDENTIAL")).toBe(1);
  });

  it("a lock that disappears mid-command (took the PUT, answer lost) and returns: the retry gets the cached answer, executed once", async () => {
    const locks = fleet(1);
    const pty = await startPtyBus(locks);
    cleanup.push(() => pty.close());
    const lock = locks[0]!;
    const l = links();
    const c = l.client({ lockId: lock.lockId, profileId: "sim-uart", link: { type: "serial", path: pty.hubPath, address: 1 } });
    await c.status();
    const answer = lock.answer.bind(lock);
    let vanished = false;
    lock.answer = (frame) => {
      const reply = answer(frame);
      if (!vanished && frame.cmd === 0x10) {
        vanished = true;
        lock.setOffline(true);
        setTimeout(() => lock.setOffline(false), 250);
        return null;
      }
      return reply;
    };
    await c.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 3, validFrom: 0, validUntil: 0, secret: "246810" });
    expect(vanished).toBe(true);
    expect(lock.executionCount("PUT_CREDENTIAL")).toBe(1);
    expect(lock.cachedResends).toBe(1);
    expect(c.session.stats.timeouts).toBeGreaterThanOrEqual(2);
  });
});
