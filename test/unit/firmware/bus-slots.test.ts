// One transfer per serial/TCP bus, a configurable number per BLE adapter, first come first served.
import { describe, expect, it } from "vitest";
import { BusSlots, busKeyOf } from "../../../src/firmware/bus-slots.js";

const flush = () => new Promise((r) => setImmediate(r));

describe("BusSlots", () => {
  it("names the shared medium of a link", () => {
    expect(busKeyOf({ type: "serial", path: "/dev/ttyUSB0", address: 3 })).toBe("serial:/dev/ttyUSB0");
    expect(busKeyOf({ type: "tcp", host: "10.0.0.5", port: 4001, address: 1 })).toBe("tcp:10.0.0.5:4001");
    expect(busKeyOf({ type: "ble", lockId: "4c42000000000001" })).toBe("ble");
  });

  it("one transfer per bus; other buses in parallel; waiters in order", async () => {
    const slots = new BusSlots();
    const order: string[] = [];
    const a = await slots.acquire("serial:/dev/a");
    const b = await slots.acquire("serial:/dev/b"); // another bus: at once
    const waiting = [slots.acquire("serial:/dev/a").then((r) => (order.push("a2"), r)), slots.acquire("serial:/dev/a").then((r) => (order.push("a3"), r))];
    await flush();
    expect(order).toEqual([]);
    expect(slots.inUse("serial:/dev/a")).toBe(1);
    a();
    a(); // idempotent
    const a2 = await waiting[0]!;
    expect(order).toEqual(["a2"]);
    a2();
    (await waiting[1]!)();
    b();
    expect(order).toEqual(["a2", "a3"]);
    expect(slots.inUse("serial:/dev/a")).toBe(0);
  });

  it("a BLE adapter takes the configured number at once", async () => {
    const slots = new BusSlots({ blePerAdapter: 2 });
    const r1 = await slots.acquire("ble");
    await slots.acquire("ble");
    let third = false;
    const p = slots.acquire("ble").then(() => (third = true));
    await flush();
    expect(third).toBe(false);
    r1();
    await p;
    expect(slots.inUse("ble")).toBe(2);
  });

  it("an abandoned wait leaves the queue", async () => {
    const slots = new BusSlots();
    const r = await slots.acquire("tcp:x:1");
    const ac = new AbortController();
    const p = slots.acquire("tcp:x:1", ac.signal);
    ac.abort(new Error("stopping"));
    await expect(p).rejects.toThrow("stopping");
    r();
    expect(slots.inUse("tcp:x:1")).toBe(0);
  });
});
