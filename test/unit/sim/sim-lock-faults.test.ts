// Faults on demand and the state file round trip.
import { describe, expect, it } from "vitest";
import { decodeFrame, EventType, FrameDecoder, StatusFlag } from "../../../src/protocol/llp/index.js";
import { SimLock, simLockStateSchema } from "../../../sim/index.js";
import { code, KEY, lockHarness } from "../../helpers/sim-harness.js";

describe("link faults", () => {
  it("offline: no answer at all", () => {
    const h = lockHarness();
    h.lock.setOffline(true);
    expect(h.lock.answer(decodeFrame(h.peer.encode({ cmd: "IDENT" })))).toBeNull();
    h.lock.setOffline(false);
    expect(h.lock.answer(decodeFrame(h.peer.encode({ cmd: "IDENT" })))).not.toBeNull();
  });

  it("flaky: drops and corrupts about the share asked, reproducibly from the seed", () => {
    const run = (seed: number) => {
      const h = lockHarness({ seed });
      h.lock.setFlaky({ drop: 0.3, corrupt: 0.2 });
      const outcomes: string[] = [];
      for (let i = 0; i < 400; i++) {
        const r = h.lock.answer(decodeFrame(h.peer.encode({ cmd: "STATUS" })));
        if (!r) outcomes.push("lost");
        else {
          try {
            decodeFrame(r.bytes);
            outcomes.push("ok");
          } catch {
            outcomes.push("bad");
          }
        }
      }
      return outcomes;
    };
    const a = run(42);
    expect(run(42)).toEqual(a);
    const lost = a.filter((x) => x === "lost").length / a.length;
    const bad = a.filter((x) => x === "bad").length / a.length;
    expect(lost).toBeGreaterThan(0.2);
    expect(lost).toBeLessThan(0.4);
    expect(bad).toBeGreaterThan(0.08); // 0.2 of the 0.7 answered
    expect(bad).toBeLessThan(0.22);
  });

  it("slow: the reply carries the delay the link must wait", () => {
    const h = lockHarness();
    h.lock.setSlow(750);
    expect(h.lock.answer(decodeFrame(h.peer.encode({ cmd: "IDENT" })))?.delayMs).toBe(750);
  });
});

describe("lock faults", () => {
  it("power loss: CLOCK_LOST event, clock-not-set flag, RTC restarted", () => {
    const h = lockHarness();
    h.lock.powerLoss();
    const st = h.ok({ cmd: "STATUS" });
    expect(st.flags & StatusFlag.CLOCK_NOT_SET).toBe(StatusFlag.CLOCK_NOT_SET);
    expect(st.lockTime).toBe(Date.UTC(2000, 0, 1) / 1000);
    expect(h.lock.events.all().at(-1)?.type).toBe(EventType.CLOCK_LOST);
  });

  it("noise: that share of answers comes after garbage bytes; a decoder that resyncs still gets every answer", () => {
    const h = lockHarness({ seed: 3 });
    h.lock.setNoise(0.5, 9);
    const decoder = new FrameDecoder();
    let noisy = 0;
    let frames = 0;
    for (let i = 0; i < 200; i++) {
      const r = h.lock.answer(decodeFrame(h.peer.encode({ cmd: "STATUS" })))!;
      try {
        decodeFrame(r.bytes);
      } catch {
        noisy++;
      }
      frames += decoder.push(r.bytes).length;
    }
    expect(noisy).toBeGreaterThan(60);
    expect(noisy).toBeLessThan(140);
    // Garbage may swallow a frame's start now and then; nearly all come through.
    expect(frames).toBeGreaterThan(190);
    h.lock.setNoise(0);
    expect(() => decodeFrame(h.lock.answer(decodeFrame(h.peer.encode({ cmd: "STATUS" })))!.bytes)).not.toThrow();
  });

  it("drift: a lock running 100 ppm fast is 8.64 s ahead after a day", () => {
    const h = lockHarness({ driftPpm: 100 });
    const t = h.ok({ cmd: "STATUS" }).lockTime;
    h.clock.advance(86_400_000);
    expect(h.ok({ cmd: "STATUS" }).lockTime - t).toBe(86_408);
  });

  it("factory reset forgets link key and slots but keeps lockId; sealed requests then fail", () => {
    const h = lockHarness({ paired: true });
    h.ok(code(1, "1234"));
    h.lock.factoryReset();
    expect(h.lock.lockId).toBe("4c42000000000001");
    expect(h.nakName({ cmd: "STATUS" })).toBe("NOT_AUTHENTICATED");
    expect(h.nakName({ cmd: "PAIR", linkKey: Buffer.from(KEY, "hex") })).toBe("ACK");
    h.peer.counter = 0;
    expect(h.ok({ cmd: "TABLE_DIGEST", kind: 1 }).used).toBe(0);
  });

  it("memory loss: every slot gone, still paired (sealed requests work), the log kept", () => {
    const h = lockHarness({ paired: true });
    h.ok(code(1, "1234"));
    const events = h.lock.events.all().length;
    expect(h.ok({ cmd: "TABLE_DIGEST", kind: 1 }).used).toBe(1);
    h.lock.memoryLoss();
    expect(h.ok({ cmd: "TABLE_DIGEST", kind: 1 }).used).toBe(0);
    expect(h.lock.enterCode("1234").granted).toBe(false);
    expect(h.lock.events.all().length).toBeGreaterThanOrEqual(events);
  });

  it("clock jump: the RTC moves by the jump and stays set", () => {
    const h = lockHarness();
    h.ok({ cmd: "SET_TIME", time: 1_800_000_000 });
    h.lock.clock.jump(-86_400_000);
    const st = h.ok({ cmd: "STATUS" });
    expect(st.lockTime).toBe(1_800_000_000 - 86_400);
    expect(st.flags & StatusFlag.CLOCK_NOT_SET).toBe(0);
  });

  it("replaced: IDENT shows a new lockId, nothing paired, clock unset", () => {
    const h = lockHarness();
    h.lock.replace("4c420000000000ff");
    expect(h.ok({ cmd: "IDENT" }).lockId).toBe("4c420000000000ff");
    expect(h.ok({ cmd: "STATUS" }).flags & StatusFlag.CLOCK_NOT_SET).toBe(StatusFlag.CLOCK_NOT_SET);
  });
});

describe("state file", () => {
  it("round-trips slots, key, counters, events and clock through a JSON snapshot", () => {
    const h = lockHarness({ paired: true, eventCapacity: 8 });
    h.ok(code(2, "482916", { validFrom: 1, validUntil: 4_000_000_000 }));
    h.ok({ cmd: "SET_TIME", time: 1_800_000_000 });
    h.lock.openDoor();
    const json = JSON.parse(JSON.stringify(h.lock.snapshot())) as unknown;
    const restored = SimLock.fromState(simLockStateSchema.parse(json), { clock: h.clock });
    expect(restored.lockId).toBe(h.lock.lockId);
    expect(restored.slots(1)).toEqual(h.lock.slots(1));
    expect(restored.state.hubCounter).toBe(h.lock.state.hubCounter);
    expect(restored.time).toBe(h.lock.time);
    expect(restored.events.all()).toEqual(h.lock.events.all());
    expect(restored.statusFlags).toBe(StatusFlag.DOOR_OPEN);
    // The hub goes on with its counter; the restored lock accepts it and refuses a replay.
    const req = h.peer.encode({ cmd: "STATUS" });
    expect(h.peer.decode("STATUS", restored.handleRequest(req)!).ok).toBe(true);
    expect(restored.enterCode("482916").granted).toBe(true);
  });
});
