// The in-process BleCentral: advertising per §6, connect, MTU, write/notify with MTU-3 fragmentation.
import { describe, expect, it } from "vitest";
import { Cmd, FrameDecoder, encodeRequest, type Frame } from "../../../src/protocol/llp/index.js";
import type { BleCharacteristic, BlePeripheral } from "../../../src/transport/ble/central.js";
import { HubPeer, LLP_RX_UUID, LLP_SERVICE_UUID, LLP_TX_UUID, SimLock, StandInCentral } from "../../../sim/index.js";

async function discoverAll(central: StandInCentral, n: number): Promise<BlePeripheral[]> {
  const found: BlePeripheral[] = [];
  return new Promise((resolve) => {
    central.on("discover", (p) => {
      found.push(p);
      if (found.length === n) resolve(found);
    });
    void central.startScanningAsync([LLP_SERVICE_UUID], false);
  });
}

async function open(p: BlePeripheral) {
  await p.connectAsync();
  const { characteristics } = await p.discoverSomeServicesAndCharacteristicsAsync([LLP_SERVICE_UUID], [LLP_RX_UUID, LLP_TX_UUID]);
  const rx = characteristics.find((c) => c.uuid === LLP_RX_UUID)!;
  const tx = characteristics.find((c) => c.uuid === LLP_TX_UUID)!;
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  const chunks: Buffer[] = [];
  tx.on("data", (d) => {
    chunks.push(d);
    frames.push(...decoder.push(d));
  });
  await tx.subscribeAsync();
  return { rx, tx, frames, chunks };
}

async function writeFragmented(rx: BleCharacteristic, bytes: Buffer, max: number) {
  for (let i = 0; i < bytes.length; i += max) await rx.writeAsync(bytes.subarray(i, i + max), false);
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setImmediate(r));
  if (!cond()) throw new Error("condition not reached");
};

describe("StandInCentral", () => {
  it("advertises LB-<16 upper hex> and 0xFFFF || lockId || flags", async () => {
    const lock = new SimLock({ lockId: "4c42000000abcdef" });
    lock.tamper();
    const central = new StandInCentral([lock]);
    const [p] = await discoverAll(central, 1);
    expect(p!.advertisement.localName).toBe("LB-4C42000000ABCDEF");
    expect(p!.advertisement.manufacturerData?.toString("hex")).toBe("ffff4c42000000abcdef04");
    expect(p!.id).not.toBe(lock.lockId);
    await central.close();
  });

  it("carries an IDENT over 20-byte writes and notifications at the default MTU 23", async () => {
    const lock = new SimLock({ lockId: "4c42000000000042" });
    const central = new StandInCentral([lock]);
    const [p] = await discoverAll(central, 1);
    const { rx, frames, chunks } = await open(p!);
    expect(p!.mtu).toBe(23);
    await writeFragmented(rx, encodeRequest(1, 1, { cmd: "IDENT" }), 20);
    await until(() => frames.length === 1);
    expect(chunks.length).toBeGreaterThan(1);
    expect(Math.max(...chunks.map((c) => c.length))).toBe(20);
    const r = new HubPeer(1).decode("IDENT", Buffer.concat(chunks));
    expect(r.ok && r.body.lockId).toBe("4c42000000000042");
    await central.close();
  });

  it("rejects a write larger than MTU-3 (the hub must fragment)", async () => {
    const central = new StandInCentral([new SimLock()], { mtu: 23 });
    const [p] = await discoverAll(central, 1);
    const { rx } = await open(p!);
    await expect(rx.writeAsync(Buffer.alloc(21), false)).rejects.toThrow(/exceeds MTU-3/);
    await central.close();
  });

  it("notifies EVENT_NOTIFY when the lock logs an event, and drops the link when the lock goes offline", async () => {
    const lock = new SimLock();
    const central = new StandInCentral([lock], { mtu: 185 });
    const [p] = await discoverAll(central, 1);
    const { frames } = await open(p!);
    lock.openDoor();
    await until(() => frames.length === 1);
    expect(frames[0]).toMatchObject({ cmd: Cmd.EVENT_NOTIFY, seq: 0, addr: 1 });
    let dropped = false;
    p!.on("disconnect", () => (dropped = true));
    lock.setOffline(true);
    expect(dropped).toBe(true);
    await expect(p!.connectAsync()).rejects.toThrow();
    await central.close();
  });

  it("a powered-off radio is ble_unavailable", async () => {
    const central = new StandInCentral([], { poweredOn: false });
    await expect(central.waitForPoweredOnAsync()).rejects.toMatchObject({ code: "ble_unavailable" });
  });
});
