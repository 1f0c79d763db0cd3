import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/shared/clock.js";
import { INBOX_RETENTION_MS, openStore } from "../../../src/store/index.js";
import { tempDir, tempStore } from "../../helpers/store.js";

describe("outbox", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it("hands out seqs 1, 2, 3... that keep growing across reopen, even after every row is deleted", () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = path.join(dir, "lockbridge.db");
    let store = openStore(file);
    expect(store.outbox.lastSeq()).toBe(0);
    const first = [1, 2, 3].map((n) => store.outbox.append({ type: "access.granted", n }));
    expect(first).toEqual([1, 2, 3]);
    first.forEach((s) => store.outbox.markSent(s));
    expect(store.outbox.trim(0)).toEqual({ dropped: 3, droppedUnsent: 0, lastUnsentDroppedSeq: null });
    store.close();

    store = openStore(file);
    expect(store.outbox.lastSeq()).toBe(3);
    expect(store.outbox.append({ type: "access.granted", n: 4 })).toBe(4);
    store.close();
    store = openStore(file);
    expect(store.outbox.append({ type: "access.granted", n: 5 })).toBe(5);
    expect(store.outbox.from(0).map((e) => [e.seq, e.event.n])).toEqual([
      [4, 4],
      [5, 5],
    ]);
    store.close();
  });

  it("pending lists unsent events in order; markSent removes them from pending but keeps them for resend", () => {
    const t = tempStore();
    cleanups.push(t.cleanup);
    const seqs = Array.from({ length: 5 }, (_, i) => t.store.outbox.append({ type: "door.opened", i, seq: 999 }));
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    expect(t.store.outbox.get(1)?.event).toEqual({ type: "door.opened", i: 0, seq: 1 });
    t.clock.advance(50);
    expect(t.store.outbox.markSent(1)).toBe(true);
    expect(t.store.outbox.markSent(2)).toBe(true);
    expect(t.store.outbox.markSent(2)).toBe(false);
    expect(t.store.outbox.pending(2).map((e) => e.seq)).toEqual([3, 4]);
    expect(t.store.outbox.from(2).map((e) => [e.seq, e.sentAt])).toEqual([
      [2, t.clock.now()],
      [3, null],
      [4, null],
      [5, null],
    ]);
    expect(t.store.outbox.depth()).toEqual({ total: 5, pending: 3 });
  });

  it("trim keeps the bound, dropping sent events first, then the oldest unsent, and says how many", () => {
    const t = tempStore();
    cleanups.push(t.cleanup);
    for (let i = 1; i <= 10; i++) t.store.outbox.append({ type: "access.granted", i });
    [1, 2, 3].forEach((s) => t.store.outbox.markSent(s));
    expect(t.store.outbox.trim(8)).toEqual({ dropped: 2, droppedUnsent: 0, lastUnsentDroppedSeq: null });
    expect(t.store.outbox.from(0).map((e) => e.seq)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(t.store.outbox.trim(4)).toEqual({ dropped: 4, droppedUnsent: 3, lastUnsentDroppedSeq: 6 });
    expect(t.store.outbox.from(0).map((e) => e.seq)).toEqual([7, 8, 9, 10]);
    expect(t.store.outbox.trim(4)).toEqual({ dropped: 0, droppedUnsent: 0, lastUnsentDroppedSeq: null });
    // The next event still continues the hub-wide sequence.
    expect(t.store.outbox.append({ type: "hub.events_dropped", count: 3 })).toBe(11);
  });

  it("purgeSentBefore drops only sent events older than the cutoff", () => {
    const t = tempStore();
    cleanups.push(t.cleanup);
    t.store.outbox.append({ type: "a" });
    t.store.outbox.append({ type: "b" });
    t.store.outbox.markSent(1);
    t.store.outbox.markSent(2);
    t.clock.advance(8 * 24 * 3600 * 1000);
    t.store.outbox.append({ type: "c" });
    t.store.outbox.markSent(3);
    t.store.outbox.append({ type: "d" });
    expect(t.store.outbox.purgeSentBefore(t.clock.now() - 7 * 24 * 3600 * 1000)).toBe(2);
    expect(t.store.outbox.from(0).map((e) => e.event.type)).toEqual(["c", "d"]);
  });
});

describe("inbox", () => {
  it("stores responses by command id and purges entries older than 7 days on the injected clock", () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    const t = tempStore({ clock });
    try {
      t.store.inbox.put("cmd-old", "key.upsert", { id: "cmd-old", ok: true, result: { stale: false } });
      clock.advance(2 * 24 * 3600 * 1000);
      t.store.inbox.put("cmd-new", "door.unlock", { id: "cmd-new", ok: false, error: { code: "lock_offline" } });
      expect(t.store.inbox.get("cmd-old")).toEqual({
        commandId: "cmd-old",
        cmd: "key.upsert",
        response: { id: "cmd-old", ok: true, result: { stale: false } },
        receivedAt: Date.UTC(2026, 11, 1),
      });

      // Exactly 7 days after the first: still kept (not older than 7 days).
      clock.set(Date.UTC(2026, 11, 1) + INBOX_RETENTION_MS);
      expect(t.store.inbox.purgeExpired()).toBe(0);
      clock.advance(1);
      expect(t.store.inbox.purgeExpired()).toBe(1);
      expect(t.store.inbox.get("cmd-old")).toBeUndefined();
      expect(t.store.inbox.get("cmd-new")?.cmd).toBe("door.unlock");
      clock.advance(2 * 24 * 3600 * 1000);
      expect(t.store.inbox.purgeExpired()).toBe(1);
      expect(t.store.inbox.count()).toBe(0);
    } finally {
      t.cleanup();
    }
  });
});
