import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isLockBridgeError } from "../../../src/shared/errors.js";
import { openStore } from "../../../src/store/index.js";
import { sampleKey, tempDir, tempStore } from "../../helpers/store.js";

describe("store handle", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it("a failing nested transaction rolls back alone; the outer one commits the rest", () => {
    const t = tempStore();
    cleanups.push(t.cleanup);
    t.store.transaction(() => {
      t.store.keys.upsert(sampleKey("k-1"));
      try {
        t.store.transaction(() => {
          t.store.keys.upsert(sampleKey("k-2"));
          throw new Error("inner");
        });
      } catch {
        // the inner part is gone; carry on
      }
      // A repository call that fails half-way (duplicate door entry) leaves nothing behind either.
      expect(() => t.store.keys.upsert(sampleKey("k-3", {}, ["room-1", "room-1"]))).toThrow();
      t.store.outbox.append({ type: "lock.online" });
    });
    expect(t.store.keys.ids()).toEqual(["k-1"]);
    expect(t.store.outbox.lastSeq()).toBe(1);
  });

  it("a relaxed commit is kept like any other, runs the commit hooks, rolls back on a throw and leaves the connection at synchronous=FULL", () => {
    const t = tempStore();
    cleanups.push(t.cleanup);
    // The connection's safety level is not on the Store interface: read it from the handle.
    const db = (t.store as unknown as { db: { pragma(s: string, o: { simple: true }): unknown } }).db;
    let hooked = 0;
    t.store.beforeCommit(() => void hooked++);
    t.store.relaxed(() => t.store.keys.upsert(sampleKey("k-1")));
    expect(hooked).toBe(1);
    expect(db.pragma("synchronous", { simple: true })).toBe(2); // FULL again
    expect(() =>
      t.store.relaxed(() => {
        t.store.keys.upsert(sampleKey("k-2"));
        throw new Error("no");
      }),
    ).toThrow("no");
    expect(db.pragma("synchronous", { simple: true })).toBe(2);
    // Inside a transaction it is part of it (the outer commit decides).
    t.store.transaction(() => t.store.relaxed(() => t.store.keys.upsert(sampleKey("k-3"))));
    const file = t.store.path;
    t.store.close();
    const again = openStore(file);
    expect(again.keys.ids()).toEqual(["k-1", "k-3"]);
    again.close();
  });

  it("refuses an async transaction function (a commit must not span an await)", () => {
    const t = tempStore();
    cleanups.push(t.cleanup);
    expect(() => t.store.transaction(async () => t.store.keys.upsert(sampleKey("k-1")))).toThrow(/promise/i);
    expect(t.store.keys.get("k-1")).toBeUndefined(); // what ran before the refusal was rolled back
  });

  it("reports its size and closes idempotently", () => {
    const t = tempStore();
    cleanups.push(t.cleanup);
    expect(t.store.sizeBytes()).toBeGreaterThan(4096);
    expect(t.store.closed).toBe(false);
    t.store.close();
    t.store.close();
    expect(t.store.closed).toBe(true);
    expect(() => t.store.keys.count()).toThrow();
  });

  it("a store in a missing directory is an error that names the path, not a corrupt file", () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = path.join(dir, "nope", "lockbridge.db");
    try {
      openStore(file);
      expect.unreachable();
    } catch (e) {
      expect(isLockBridgeError(e, "internal")).toBe(true);
      expect((e as Error).message).toContain(file);
    }
    expect(fs.existsSync(path.join(dir, "nope"))).toBe(false);
  });
});
