/** The event outbox on a real store: hub-wide seq, the backlog bound with hub.events_dropped, resend, retention. */
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EVENT_RETENTION_MS, Outbox } from "../../../src/cloud/outbox.js";
import { openStore } from "../../../src/store/index.js";
import { silentLog } from "../../helpers/cloud.js";
import { tempStore } from "../../helpers/store.js";

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function outbox(maxEvents: number) {
  const t = tempStore();
  cleanups.push(t.cleanup);
  return { ...t, outbox: new Outbox(t.store, t.clock, silentLog, { maxEvents }) };
}

describe("outbox", () => {
  it("hands out seqs that grow by one and survive a reopen, even after rows are deleted", () => {
    const t = outbox(1000);
    expect([1, 2, 3].map(() => t.outbox.emit({ type: "door.opened", doorId: "d" }))).toEqual([1, 2, 3]);
    t.store.outbox.trim(0); // every row gone
    t.store.close();
    const reopened = openStore(path.join(t.dir, "lockbridge.db"), { clock: t.clock });
    const again = new Outbox(reopened, t.clock, silentLog, { maxEvents: 1000 });
    expect(again.emit({ type: "door.closed", doorId: "d" })).toBe(4);
    expect(reopened.outbox.get(4)?.event).toMatchObject({ seq: 4, type: "door.closed", at: "2026-12-01T12:00:00Z" });
    reopened.close();
  });

  it("keeps the caller's transaction: an event of a rolled-back change is not kept", () => {
    const t = outbox(1000);
    expect(() =>
      t.store.transaction(() => {
        t.outbox.emit({ type: "door.opened" });
        throw new Error("the change failed");
      }),
    ).toThrow("the change failed");
    expect(t.store.outbox.depth().total).toBe(0);
  });

  it("drops the oldest in chunks at the bound, sent history first, and says which unsent ones went", () => {
    const t = outbox(1000);
    for (let i = 0; i < 1000; i++) t.outbox.emit({ type: "access.granted", n: i });
    // 200 were delivered (PUBACK) before the broker went away.
    t.store.transaction(() => {
      for (let seq = 1; seq <= 200; seq++) t.store.outbox.markSent(seq);
    });
    expect(t.store.outbox.depth().total).toBe(1000);
    t.outbox.emit({ type: "access.granted", n: 1000 }); // 1001 held: over the bound
    // Down to 1000 - 1% - 1 = 989, then the notice: sent history went first, no loss yet.
    expect(t.store.outbox.depth()).toEqual({ total: 989, pending: 801 });
    expect(t.store.outbox.pending(1000).some((e) => e.event.type === "hub.events_dropped")).toBe(false);
    for (let i = 0; i < 200; i++) t.outbox.emit({ type: "access.granted", n: 1001 + i });
    const dropped = t.store.outbox.pending(100_000).filter((e) => e.event.type === "hub.events_dropped");
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.event).toMatchObject({ count: expect.any(Number), fromSeq: 201, maxEvents: 1000 });
    const { count, toSeq } = dropped[0]!.event as unknown as { count: number; toSeq: number };
    expect(toSeq).toBe(200 + count);
    // Nothing silent: every seq is either held or inside a reported range or was sent.
    const held = new Set(t.store.outbox.from(0, 100_000).map((e) => e.seq));
    const lost = Array.from({ length: t.store.outbox.lastSeq() }, (_, i) => i + 1).filter((s) => s > 200 && !held.has(s));
    expect(lost).toEqual(Array.from({ length: count }, (_, i) => 201 + i));
    expect(t.store.outbox.depth().total).toBeLessThanOrEqual(1000);
  });

  it("requeues held events for events.resend and purges sent events after 7 days only", () => {
    const t = outbox(1000);
    for (let i = 0; i < 10; i++) t.outbox.emit({ type: "door.opened" });
    t.store.transaction(() => {
      for (let seq = 1; seq <= 10; seq++) t.store.outbox.markSent(seq);
    });
    const rewound: number[] = [];
    t.outbox.onRequeue((from) => rewound.push(from));
    expect(t.outbox.requeueFrom(7)).toBe(4);
    expect(rewound).toEqual([7]);
    expect(t.store.outbox.pending(100).map((e) => e.seq)).toEqual([7, 8, 9, 10]);
    t.clock.advance(EVENT_RETENTION_MS - 1000);
    expect(t.outbox.purgeExpired()).toBe(0);
    t.clock.advance(2000);
    expect(t.outbox.purgeExpired()).toBe(6); // the unsent (requeued) ones stay
    expect(t.store.outbox.depth()).toEqual({ total: 4, pending: 4 });
  });
});
