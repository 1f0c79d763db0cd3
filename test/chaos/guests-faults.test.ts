/**
 * The guests' fault history (chaos/guests.ts FaultHistory): seconds since a door's lock was last
 * under a fault, 0 while the injector holds it, and 0 for 15 minutes after a silent memory loss
 * (no power loss after it: the hub cannot know until a guest is refused or its routine check).
 */
import { describe, expect, it } from "vitest";
import { FaultHistory } from "../../chaos/guests.js";

const T0 = 1_000_000;

describe("the guests' fault history", () => {
  it("never faulted: undefined; busy: 0; else seconds since the last fault call", () => {
    const busy = new Set<string>();
    const h = new FaultHistory(["room-1", "lobby"]);
    h.start((d) => busy.has(d), 60_000);
    h.stop();
    expect(h.sinceFaultS("room-1", T0)).toBeUndefined();
    h.faulted("lobby", T0);
    expect(h.sinceFaultS("lobby", T0 + 30_000)).toBe(30);
    busy.add("lobby");
    expect(h.sinceFaultS("lobby", T0 + 90_000)).toBe(0);
  });

  it("a memory loss followed by a power loss is an ordinary fault; a silent one holds the lock for 15 minutes", () => {
    const h = new FaultHistory(["room-1", "room-2"]);
    h.applied("room-1", "memory-loss", T0);
    h.applied("room-1", "clock-lost", T0 + 10);
    h.faulted("room-1", T0 + 10);
    expect(h.sinceFaultS("room-1", T0 + 61_000)).toBeCloseTo(60.99);
    h.applied("room-2", "memory-loss", T0);
    h.faulted("room-2", T0);
    expect(h.sinceFaultS("room-2", T0 + 14 * 60_000)).toBe(0);
    expect(h.sinceFaultS("room-2", T0 + 15 * 60_000)).toBe(900);
  });
});
