// Simulated locks over their links: an RS-485-style TCP bus, a socat pty, both driven by
// hub-like clients over real sockets and a real serialport.
import { afterEach, describe, expect, it } from "vitest";
import { Cmd, decodeEventNotify, encodeRequest, openFrame } from "../../src/protocol/llp/index.js";
import { HubPeer, SimLock, startPtyBus, startTcpBus } from "../../sim/index.js";
import { serialClient, tcpClient, type WireClient } from "../helpers/sim-wire.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function fleet(n: number): SimLock[] {
  return Array.from({ length: n }, (_, i) => new SimLock({ address: i + 1, lockId: `4c4200000000${(i + 1).toString(16).padStart(4, "0")}` }));
}

describe("TCP bus", () => {
  it("routes by ADDR: each lock answers its own address with its own lockId; unknown ADDRs stay silent", async () => {
    const locks = fleet(5);
    const bus = await startTcpBus(locks);
    cleanup.push(() => bus.close());
    const c = await tcpClient(bus.port);
    cleanup.push(() => c.close());
    for (const lock of locks) {
      const r = await c.peer.request(new HubPeer(lock.address), { cmd: "IDENT" });
      expect(r?.ok && r.body.lockId).toBe(lock.lockId);
      expect(r?.frame.addr).toBe(lock.address);
    }
    expect(await c.peer.exchange(encodeRequest(9, 1, { cmd: "IDENT" }), 200)).toBeNull();
  });

  it("is half duplex: a slow lock holds the bus, so another connection's request waits for it", async () => {
    const locks = fleet(2);
    locks[0]!.setSlow(150);
    const bus = await startTcpBus(locks);
    cleanup.push(() => bus.close());
    const a = await tcpClient(bus.port);
    const b = await tcpClient(bus.port);
    cleanup.push(() => a.close(), () => b.close());
    const t0 = performance.now();
    const done: string[] = [];
    const p1 = a.peer.request(new HubPeer(1), { cmd: "STATUS" }).then((r) => (done.push("lock1"), r));
    await new Promise((r) => setTimeout(r, 20));
    const p2 = b.peer.request(new HubPeer(2), { cmd: "STATUS" }).then((r) => (done.push("lock2"), r));
    const [r1, r2] = await Promise.all([p1, p2]);
    expect(r1?.ok && r2?.ok).toBe(true);
    expect(done).toEqual(["lock1", "lock2"]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(148);
  });

  it("honours wire time at wireBaud (10 bits per byte, both directions)", async () => {
    const bus = await startTcpBus(fleet(1), { wireBaud: 9600 });
    cleanup.push(() => bus.close());
    const c = await tcpClient(bus.port);
    cleanup.push(() => c.close());
    const req = encodeRequest(1, 1, { cmd: "IDENT" });
    const t0 = performance.now();
    const res = await c.peer.exchange(req, 2000);
    const elapsed = performance.now() - t0;
    const wire = ((req.length + res!.length) * 10 * 1000) / 9600;
    expect(elapsed).toBeGreaterThanOrEqual(wire - 2);
  });

  it("sends EVENT_NOTIFY unasked (SEQ 0, sealed once paired) when a lock logs an event, if asked to", async () => {
    const key = Buffer.alloc(16, 3);
    const [lock] = fleet(1);
    lock!.state.linkKey = key;
    const bus = await startTcpBus([lock!], { eventNotify: true });
    cleanup.push(() => bus.close());
    const c = await tcpClient(bus.port);
    cleanup.push(() => c.close());
    const got = new Promise<(typeof c.peer.notifies)[number]>((r) => c.peer.onNotify(r));
    lock!.openDoor();
    const f = await got;
    expect(f).toMatchObject({ addr: 1, seq: 0, sec: true, cmd: Cmd.EVENT_NOTIFY, fromLock: true });
    const opened = openFrame(f, { linkKey: key, lockId: lock!.state.lockId });
    expect(decodeEventNotify(opened!.plain).eventHead).toBe(1);
  });

  it("keeps the retry cache across the wire: a retried UNLOCK is answered without a second opening", async () => {
    const locks = fleet(1);
    const bus = await startTcpBus(locks);
    cleanup.push(() => bus.close());
    const c = await tcpClient(bus.port);
    cleanup.push(() => c.close());
    const req = encodeRequest(1, 4, { cmd: "UNLOCK", seconds: 3 });
    const first = await c.peer.exchange(req);
    const retry = await c.peer.exchange(req);
    expect(retry?.equals(first!)).toBe(true);
    expect(locks[0]!.executionCount("UNLOCK")).toBe(1);
  });

  it("an offline lock stays silent while its neighbours answer", async () => {
    const locks = fleet(3);
    locks[1]!.setOffline(true);
    const bus = await startTcpBus(locks);
    cleanup.push(() => bus.close());
    const c = await tcpClient(bus.port);
    cleanup.push(() => c.close());
    expect(await c.peer.request(new HubPeer(2), { cmd: "STATUS" }, { timeoutMs: 200 })).toBeNull();
    expect((await c.peer.request(new HubPeer(3), { cmd: "STATUS" }))?.ok).toBe(true);
  });
});

describe("pty bus (socat)", () => {
  let client: WireClient | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
  });

  it("answers over a real serialport on the hub end of the pty pair", async () => {
    const locks = fleet(3);
    const pty = await startPtyBus(locks);
    cleanup.push(() => pty.close());
    client = await serialClient(pty.hubPath);
    for (const lock of locks) {
      const r = await client.peer.request(new HubPeer(lock.address), { cmd: "IDENT" }, { timeoutMs: 2000 });
      expect(r?.ok && r.body.lockId).toBe(lock.lockId);
    }
    const put = await client.peer.request(new HubPeer(2), {
      cmd: "PUT_CREDENTIAL", kind: 1, slot: 0, validFrom: 0, validUntil: 0, flags: 0, secret: Buffer.from("2580"),
    });
    expect(put?.ok).toBe(true);
    expect(locks[1]!.enterCode("2580").granted).toBe(true);
  });

  it("kills socat on close (the pty disappears)", async () => {
    const pty = await startPtyBus(fleet(1));
    const { existsSync } = await import("node:fs");
    expect(existsSync(pty.hubPath)).toBe(true);
    await pty.close();
    expect(existsSync(pty.hubPath)).toBe(false);
  });
});
