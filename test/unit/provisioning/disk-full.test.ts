/**
 * The engine's writes from timers on a full data disk (found by the chaos run's "data disk
 * full" fault: the hub exited with an uncaught SqliteError from the applied-slots flush timer
 * and from events emitted by timers). Whatever could not be written is kept and written
 * once space returns; nothing is thrown into a timer.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { HubEventInput } from "../../../src/cloud/events.js";
import { HeldEvents, HELD_EVENTS_RETRY_MS } from "../../../src/provisioning/reconcile/held-events.js";
import { COUNTER_FLUSH_MS, StoreLinkState } from "../../../src/provisioning/reconcile/link-state.js";
import { SlotIndex } from "../../../src/provisioning/desired/slot-index.js";
import { StoreLockTables } from "../../../src/provisioning/reconcile/store-adapter.js";
import { createLogger } from "../../../src/shared/logger.js";
import { ManualClock } from "../../../src/shared/clock.js";
import type { Store } from "../../../src/store/index.js";
import { tempStore } from "../../helpers/store.js";
import { drive } from "../../helpers/lock-link.js";
import { workerRig } from "../../helpers/worker-rig.js";

const diskFull = () => Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
/** What SQLite answered some writes on a disk that had just filled up (the chaos run's hub exits). */
const diskIoError = () => Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR_WRITE" });
const log = createLogger({ level: "silent" });

/** The store, but every outermost transaction fails like a full disk while `full.on`. */
function fillable(store: Store, failure: () => Error = diskFull): { store: Store; full: { on: boolean } } {
  const full = { on: false };
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "transaction") {
        return <T>(fn: () => T): T => {
          if (full.on) throw failure();
          return target.transaction(fn);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  }) as Store;
  return { store: proxy, full };
}

describe("StoreLockTables on a full disk", () => {
  let t: ReturnType<typeof tempStore>;
  beforeEach(() => (t = tempStore()));
  afterEach(() => t.cleanup());

  it("a batch of confirmed writes that cannot be recorded stays visible and is recorded once space returns; the timer does not throw", () => {
    const { store, full } = fillable(t.store);
    const tables = new StoreLockTables(store, { emit: () => 0 }, new SlotIndex(t.store), t.clock);
    const lockId = "4c42000000000001";
    t.store.locks.upsert({ lockId, profileId: "sim-room", link: { type: "tcp", host: "in-process", port: 1, address: 1 } });
    t.store.credentials.assign({ keyId: "k-1", kind: "doorCode", value: "482916" });
    const cred = t.store.credentials.currentOf("k-1", "doorCode")!;
    const content = { credentialId: cred.credentialId, validFrom: 1, validUntil: 2, flags: 0, secretDigest: Buffer.from("1a0774b3", "hex") };
    t.store.slots.assign(lockId, "doorCode", content, 32);
    full.on = true;
    tables.markApplied(lockId, "doorCode", 0, content);
    expect(() => t.clock.advance(30)).not.toThrow(); // the batch is due, and fails
    expect(tables.slot(lockId, "doorCode", 0)?.inSync).toBe(true);
    expect(t.store.slots.get(lockId, "doorCode", 0)?.inSync).toBe(false);
    expect(() => t.clock.advance(5_000)).not.toThrow();
    full.on = false;
    t.clock.advance(1_000);
    expect(t.store.slots.get(lockId, "doorCode", 0)?.inSync).toBe(true);
  });
});

describe("StoreLinkState on a full disk", () => {
  let t: ReturnType<typeof tempStore>;
  beforeEach(() => (t = tempStore()));
  afterEach(() => {
    vi.useRealTimers();
    t.cleanup();
  });

  it.each([
    ["SQLITE_FULL", diskFull],
    ["a disk I/O error", diskIoError],
  ])("the counter flush timer keeps the counters and tries again instead of throwing (%s)", (_name, failure) => {
    vi.useFakeTimers();
    const lockId = "4c42000000000001";
    t.store.locks.upsert({ lockId, profileId: "sim-room", link: { type: "tcp", host: "in-process", port: 1, address: 1 } });
    const { store, full } = fillable(t.store, failure);
    const ls = new StoreLinkState(store);
    full.on = true;
    ls.saveLastLockCounter(lockId, 40);
    expect(() => vi.advanceTimersByTime(COUNTER_FLUSH_MS)).not.toThrow();
    expect(ls.lastLockCounter(lockId)).toBe(40); // still held in memory
    expect(t.store.linkState.lastLockCounter(lockId)).toBe(0);
    full.on = false;
    vi.advanceTimersByTime(COUNTER_FLUSH_MS);
    expect(t.store.linkState.lastLockCounter(lockId)).toBe(40);
    ls.close();
  });
});

describe("HeldEvents", () => {
  it("holds events in order with the instant they happened, writes them when space returns, and says how many it had to drop", () => {
    const clock = new ManualClock(Date.parse("2026-11-29T07:00:00Z"));
    const written: HubEventInput[] = [];
    let full = false;
    const held = new HeldEvents(
      (events) => {
        if (full) throw diskFull();
        written.push(...events);
      },
      clock,
      log,
      3,
    );
    held.emit([{ type: "lock.offline", lockId: "a" }]);
    full = true;
    held.emit([{ type: "door.held_open", lockId: "a" }]);
    clock.advance(10_000);
    held.emit([{ type: "lock.online", lockId: "b" }, { type: "lock.offline", lockId: "c" }, { type: "lock.online", lockId: "c" }]);
    expect(held.size).toBe(3);
    expect(written).toHaveLength(1);
    full = false;
    // A new event queues behind the held ones, not before them.
    held.emit([{ type: "lock.offline", lockId: "d" }]);
    expect(written).toHaveLength(1);
    clock.advance(HELD_EVENTS_RETRY_MS);
    expect(written.map((e) => `${e.type}:${e.lockId ?? ""}`)).toEqual(["lock.offline:a", "hub.events_dropped:", "lock.offline:c", "lock.online:c", "lock.offline:d"]);
    expect(written[1]).toMatchObject({ count: 2, reason: "data_disk_full" });
    expect(written[2]?.at).toBe("2026-11-29T07:00:10Z"); // when it happened, not when written
    expect(held.size).toBe(0);
    held.emit([{ type: "lock.online", lockId: "d" }]);
    expect(written).toHaveLength(6);
  });

  it("passes on an error that is not a full disk", () => {
    const held = new HeldEvents(() => {
      throw new Error("constraint failed");
    }, new ManualClock(), log);
    expect(() => held.emit([{ type: "lock.offline", lockId: "a" }])).toThrow(/constraint/);
    expect(held.size).toBe(0);
  });
});

describe("remote unlock on a full disk", () => {
  it("is refused with the disk-full error (answered 'data disk is full ... send it again'), not lock_rejected", async () => {
    const r = await workerRig();
    try {
      r.worker.start();
      await r.settle();
      // The lock client cannot store the hub counters it needs to seal the UNLOCK.
      r.client.unlock = () => Promise.reject(diskFull());
      await expect(drive(r.clock, r.worker.unlock(5, r.clock.now() + 30_000))).rejects.toMatchObject({ code: "SQLITE_FULL" });
      expect(r.lock.unlocked).toBe(false);
    } finally {
      await r.cleanup();
    }
  });
});
