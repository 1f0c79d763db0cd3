import { describe, expect, it } from "vitest";
import { Agenda } from "../../../src/provisioning/status/agenda.js";
import { ManualClock } from "../../../src/shared/clock.js";

describe("Agenda", () => {
  it("fires each id once at its latest deadline, in due order", () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    const a = new Agenda(clock, (id) => fired.push(`${id}@${clock.now()}`));
    a.set("k1", 5000);
    a.set("k2", 1000);
    a.set("k3", 3000);
    a.set("k1", 2000); // replaced
    a.set("k3", undefined); // cancelled
    clock.advance(10_000);
    expect(fired).toEqual(["k2@1000", "k1@2000"]);
    expect(a.size).toBe(0);
  });

  it("an id set again from its callback is scheduled anew", () => {
    const clock = new ManualClock(0);
    let n = 0;
    const a: Agenda = new Agenda(clock, (id) => {
      n++;
      if (n < 3) a.set(id, clock.now() + 100);
    });
    a.set("x", 100);
    clock.advance(1000);
    expect(n).toBe(3);
  });
});
