import { describe, expect, it } from "vitest";
import { advertisedName, lockIdFromAdvertisement, statusFlagsFromAdvertisement } from "../../../src/transport/ble/central.js";
import { BleConnectionLimiter, type BleLeaseHolder } from "../../../src/transport/ble/radio.js";

describe("BLE advertisement (spec §6)", () => {
  it("finds the lockId in the local name or in the manufacturer data", () => {
    expect(advertisedName("4c42000000000abc")).toBe("LB-4C42000000000ABC");
    expect(lockIdFromAdvertisement({ localName: "LB-4C42000000000ABC" })).toBe("4c42000000000abc");
    const md = Buffer.from("ffff4c42000000000abc21", "hex");
    expect(lockIdFromAdvertisement({ manufacturerData: md })).toBe("4c42000000000abc");
    expect(statusFlagsFromAdvertisement({ manufacturerData: md })).toBe(0x21);
    expect(lockIdFromAdvertisement({ localName: "Headphones", manufacturerData: Buffer.from("4c000215", "hex") })).toBeUndefined();
  });
});

describe("BleConnectionLimiter", () => {
  const holder = (evictable: boolean, lastActivity = 0): BleLeaseHolder & { evicted: number } => ({
    lastActivity, evictable, evicted: 0, evict() { this.evicted++; },
  });

  it("grants up to max, queues the rest FIFO, hands a released connection to the first waiter", async () => {
    const lim = new BleConnectionLimiter(2);
    const [a, b, c, d] = [holder(false), holder(false), holder(false), holder(false)];
    await lim.acquire(a);
    await lim.acquire(b);
    const order: string[] = [];
    const pc = lim.acquire(c).then(() => order.push("c"));
    const pd = lim.acquire(d).then(() => order.push("d"));
    expect(lim.inUse).toBe(2);
    expect(lim.waiting).toBe(2);
    lim.release(a);
    await pc;
    lim.release(b);
    await pd;
    expect(order).toEqual(["c", "d"]);
    expect(lim.inUse).toBe(2);
  });

  it("asks the least recently active evictable holder to let go when someone waits", async () => {
    const lim = new BleConnectionLimiter(2);
    const busy = holder(false, 1);
    const quietOld = holder(true, 5);
    await lim.acquire(busy);
    await lim.acquire(quietOld);
    void lim.acquire(holder(false));
    expect(busy.evicted).toBe(0);
    expect(quietOld.evicted).toBe(1);
  });
});
