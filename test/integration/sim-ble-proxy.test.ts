// The BLE proxy server over real TCP, speaking the newline-JSON protocol of the brief.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { encodeRequest, FrameDecoder } from "../../src/protocol/llp/index.js";
import { applyAction } from "../../sim/control/actions.js";
import { Fleet } from "../../sim/fleet/fleet.js";
import { parseProperty } from "../../sim/fleet/property.js";
import { HubPeer, SimLock, startBleProxy } from "../../sim/index.js";

type Ev = { ev: string; id?: string | null; [k: string]: unknown };

class ProxyClient {
  readonly events: Ev[] = [];
  private buf = "";
  private waiters: { pred: (e: Ev) => boolean; resolve: (e: Ev) => void }[] = [];
  constructor(readonly sock: Socket) {
    sock.on("data", (d) => {
      this.buf += d.toString();
      let nl: number;
      while ((nl = this.buf.indexOf("\n")) >= 0) {
        const e = JSON.parse(this.buf.slice(0, nl)) as Ev;
        this.buf = this.buf.slice(nl + 1);
        this.events.push(e);
        this.waiters = this.waiters.filter((w) => (w.pred(e) ? (w.resolve(e), false) : true));
      }
    });
  }
  static async connect(port: number) {
    const sock = connect({ port, host: "127.0.0.1" });
    await new Promise((r) => sock.once("connect", r));
    return new ProxyClient(sock);
  }
  send(op: Record<string, unknown>) {
    this.sock.write(`${JSON.stringify(op)}\n`);
  }
  next(pred: (e: Ev) => boolean): Promise<Ev> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe("BLE proxy server", () => {
  it("scans, connects, carries a sealed PUT in MTU-3 fragments and answers with notifications", async () => {
    const key = Buffer.alloc(16, 9);
    const lock = new SimLock({ lockId: "4c42000000000b1e", linkKey: key });
    const other = new SimLock({ lockId: "4c42000000000b1f" });
    const proxy = await startBleProxy([lock, other]);
    cleanup.push(() => proxy.close());
    const c = await ProxyClient.connect(proxy.port);
    cleanup.push(() => void c.sock.destroy());

    c.send({ op: "scan" });
    const adv = await c.next((e) => e.ev === "adv" && e.name === "LB-4C42000000000B1E");
    expect(adv.manufacturerData).toBe("ffff4c42000000000b1e00");
    const id = adv.id as string;
    c.send({ op: "connect", id });
    expect(await c.next((e) => e.ev === "connected")).toMatchObject({ id, mtu: 23 });

    const peer = new HubPeer(1, { linkKey: key, lockId: lock.lockId });
    const req = peer.encode({ cmd: "PUT_CREDENTIAL", kind: 1, slot: 0, validFrom: 0, validUntil: 0, flags: 0, secret: Buffer.from("97531") });
    for (let i = 0; i < req.length; i += 20) c.send({ op: "write", id, data: req.subarray(i, i + 20).toString("hex") });
    const decoder = new FrameDecoder();
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve) => {
      const poll = () => {
        for (const e of c.events.splice(0)) {
          if (e.ev === "notify") {
            const b = Buffer.from(e.data as string, "hex");
            expect(b.length).toBeLessThanOrEqual(20);
            chunks.push(b);
            if (decoder.push(b).length) return resolve();
          }
        }
        setTimeout(poll, 5);
      };
      poll();
    });
    const r = peer.decode("PUT_CREDENTIAL", Buffer.concat(chunks));
    expect(r.ok && r.frame.sec).toBe(true);
    expect(lock.enterCode("97531").granted).toBe(true);
  });

  it("refuses a write over MTU-3, an unknown peripheral, and bad JSON with error events", async () => {
    const lock = new SimLock();
    const proxy = await startBleProxy([lock], { mtu: 30 });
    cleanup.push(() => proxy.close());
    const c = await ProxyClient.connect(proxy.port);
    cleanup.push(() => void c.sock.destroy());
    const id = proxy.peripheralId(lock);
    c.send({ op: "connect", id });
    expect(await c.next((e) => e.ev === "connected")).toMatchObject({ mtu: 30 });
    c.send({ op: "write", id, data: Buffer.from(encodeRequest(1, 1, { cmd: "IDENT" })).toString("hex") + "00".repeat(20) });
    expect((await c.next((e) => e.ev === "error" && e.id === id)).message).toMatch(/exceeds MTU-3 \(27\)/);
    c.send({ op: "connect", id: "nope" });
    expect(await c.next((e) => e.ev === "error" && e.id === "nope")).toBeTruthy();
    c.sock.write("{not json\n");
    expect(await c.next((e) => e.ev === "error" && e.id === null)).toBeTruthy();
    c.send({ op: "disconnect", id });
    expect(await c.next((e) => e.ev === "disconnected" && e.id === id)).toBeTruthy();
  });

  it("an offline lock stops advertising and refuses connections; a live link is dropped", async () => {
    const lock = new SimLock();
    const proxy = await startBleProxy([lock]);
    cleanup.push(() => proxy.close());
    const c = await ProxyClient.connect(proxy.port);
    cleanup.push(() => void c.sock.destroy());
    const id = proxy.peripheralId(lock);
    c.send({ op: "connect", id });
    await c.next((e) => e.ev === "connected");
    lock.setOffline(true);
    await c.next((e) => e.ev === "disconnected" && e.id === id);
    c.send({ op: "connect", id });
    expect((await c.next((e) => e.ev === "error" && e.id === id)).message).toMatch(/not responding/);
    c.events.length = 0;
    c.send({ op: "scan" });
    c.send({ op: "stopScan" });
    await new Promise((r) => setTimeout(r, 50));
    expect(c.events.filter((e) => e.ev === "adv")).toEqual([]);
  });

  it("a replaced lock's connection goes with the old body: the new lock can be connected, and dropped (found by the chaos lock-replaced fault)", async () => {
    // Before the fix the old link stayed live under the old peripheral id: the new lockId's
    // peripheral was "busy: connected to another central" forever, and dropConnections (fault
    // ble-drop) looked the link up by the new id and dropped nothing.
    const lock = new SimLock({ lockId: "4c42000000000c01" });
    const proxy = await startBleProxy([lock]);
    cleanup.push(() => proxy.close());
    const c = await ProxyClient.connect(proxy.port);
    cleanup.push(() => void c.sock.destroy());
    const oldId = proxy.peripheralId(lock);
    c.send({ op: "connect", id: oldId });
    await c.next((e) => e.ev === "connected" && e.id === oldId);
    lock.replace("4c42000000000c02");
    await c.next((e) => e.ev === "disconnected" && e.id === oldId);
    const newId = proxy.peripheralId(lock);
    expect(newId).not.toBe(oldId);
    c.send({ op: "connect", id: newId });
    expect(await c.next((e) => (e.ev === "connected" || e.ev === "error") && e.id === newId)).toMatchObject({ ev: "connected" });
    proxy.dropConnections(lock);
    await c.next((e) => e.ev === "disconnected" && e.id === newId);
  });

  it("reports each lock's RSSI as a real proxy's radio would: per lock from the property, at connection too, re-advertised when it changes (fault rssi)", async () => {
    const property = (rssi?: number) => ({ ble: true as const, ...(rssi !== undefined && { rssi }) });
    expect(() => parseProperty({ name: "x", ble: {}, rooms: [{ doorId: "a", name: "A", link: property(-200) }] })).toThrow(/rooms\[0\]\.link\.rssi: must be at least -127/);
    const fleet = await Fleet.start(parseProperty({
      name: "Garden", ble: {},
      rooms: [{ doorId: "near", name: "Near", lockId: "4c42000000000c01", link: property(-55) }, { doorId: "far", name: "Far", lockId: "4c42000000000c02", link: property() }],
    }), { ephemeralPorts: true });
    cleanup.push(() => fleet.close());
    const c = await ProxyClient.connect(fleet.bleProxy!.port);
    cleanup.push(() => void c.sock.destroy());
    c.send({ op: "scan" });
    const near = await c.next((e) => e.ev === "adv" && e.name === "LB-4C42000000000C01");
    expect(near.rssi).toBe(-55);
    expect((await c.next((e) => e.ev === "adv" && e.name === "LB-4C42000000000C02")).rssi).toBe(-60); // the default
    c.send({ op: "connect", id: near.id });
    expect(await c.next((e) => e.ev === "connected")).toMatchObject({ id: near.id, rssi: -55 });
    applyAction(fleet, "far", "fault", { fault: "rssi", args: ["-91"] });
    expect((await c.next((e) => e.ev === "adv" && e.name === "LB-4C42000000000C02" && e.rssi === -91)).rssi).toBe(-91);
    expect(() => applyAction(fleet, "far", "fault", { fault: "rssi", args: ["-300"] })).toThrow(/-127 to 20 dBm/);
  });
});
