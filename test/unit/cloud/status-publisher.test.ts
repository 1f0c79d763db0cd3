/**
 * The retained status publisher on a manual clock: a burst of changes to one key costs one
 * publish, a gone key gets an empty retained payload, nothing is published while offline,
 * failures are kept for later, identical payloads are skipped, a lost session republishes all.
 */
import { describe, expect, it } from "vitest";
import type { KeyStatus } from "../../../src/access/model.js";
import type { PublishOptions } from "../../../src/cloud/connection.js";
import { StatusPublisher, type LockStatus, type StatusSource } from "../../../src/cloud/status-publisher.js";
import { topicsFor } from "../../../src/cloud/topics.js";
import { ManualClock } from "../../../src/shared/clock.js";
import { silentLog } from "../../helpers/cloud.js";

const topics = topicsFor("lockbridge", "hub-1");

function setup() {
  const clock = new ManualClock();
  const keys = new Map<string, KeyStatus | null>();
  const source: StatusSource = {
    keyStatus: (id) => keys.get(id) ?? null,
    lockStatus: (id): LockStatus | null => (id === "4c42000000000001" ? { lockId: id, online: true } as LockStatus : null),
    keyIds: () => [...keys.keys()],
    lockIds: () => ["4c42000000000001"],
  };
  const published: { topic: string; payload: string; retain: boolean | undefined }[] = [];
  let failNext = false;
  const connection = {
    publish: (topic: string, payload: string | Buffer, options: PublishOptions = {}) => {
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error("not connected"));
      }
      published.push({ topic, payload: String(payload), retain: options.retain });
      return Promise.resolve();
    },
  };
  const publisher = new StatusPublisher(source, connection, topics, clock, silentLog, { debounceMs: 250, maxWaitMs: 2000, concurrency: 4 });
  const status = (keyId: string, version: number): KeyStatus => ({
    keyId, version, state: "pending", doors: [], doorCode: { state: "disabled" }, keycard: { state: "disabled" }, smartKey: { state: "disabled" }, updatedAt: "2026-12-01T12:00:00Z",
  });
  const settle = async (ms: number) => {
    clock.advance(ms);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  };
  return { clock, keys, publisher, published, status, settle, fail: () => (failNext = true) };
}

describe("status publisher", () => {
  it("publishes a burst of changes to one key once, retained, with the latest status", async () => {
    const s = setup();
    s.publisher.setOnline(true);
    for (let v = 1; v <= 50; v++) {
      s.keys.set("k-1", s.status("k-1", v));
      s.publisher.keyChanged("k-1");
      await s.settle(10); // changes keep coming faster than the debounce
    }
    expect(s.published).toEqual([]);
    await s.settle(250);
    expect(s.published).toHaveLength(1);
    expect(s.published[0]).toMatchObject({ topic: "lockbridge/v1/hub-1/status/keys/k-1", retain: true });
    expect(JSON.parse(s.published[0]!.payload)).toMatchObject({ version: 50 });
  });

  it("does not hold a steady stream back longer than maxWait", async () => {
    const s = setup();
    s.publisher.setOnline(true);
    for (let i = 0; i < 30; i++) {
      s.keys.set("k-1", s.status("k-1", i));
      s.publisher.keyChanged("k-1");
      await s.settle(100);
    }
    // 3 s of changes every 100 ms: published at the 2 s bound, not only after the burst.
    expect(s.published.length).toBeGreaterThanOrEqual(1);
  });

  it("sends an empty retained payload once a key is gone, and skips identical payloads", async () => {
    const s = setup();
    s.publisher.setOnline(true);
    s.keys.set("k-1", s.status("k-1", 1));
    s.publisher.keyChanged("k-1");
    await s.settle(300);
    s.publisher.keyChanged("k-1"); // nothing changed in fact
    await s.settle(300);
    expect(s.published).toHaveLength(1);
    s.keys.delete("k-1");
    s.publisher.keyChanged("k-1");
    await s.settle(300);
    expect(s.published.at(-1)).toEqual({ topic: "lockbridge/v1/hub-1/status/keys/k-1", payload: "", retain: true });
  });

  it("waits while offline, retries a failed publish, and republishes everything after a lost session", async () => {
    const s = setup();
    s.keys.set("k-1", s.status("k-1", 1));
    s.keys.set("k-2", s.status("k-2", 1));
    s.publisher.keyChanged("k-1");
    await s.settle(1000);
    expect(s.published).toEqual([]);
    s.fail();
    s.publisher.setOnline(true);
    await s.settle(1);
    expect(s.published).toEqual([]); // the one publish failed: kept
    s.publisher.lockChanged("4c42000000000001");
    await s.settle(300);
    expect(s.published.map((p) => p.topic).sort()).toEqual(["lockbridge/v1/hub-1/status/keys/k-1", "lockbridge/v1/hub-1/status/locks/4c42000000000001"]);
    s.publisher.setOnline(false);
    s.publisher.setOnline(true, false); // the broker lost our session (and maybe its retained messages)
    await s.settle(1);
    expect(s.published.slice(2).map((p) => p.topic).sort()).toEqual([
      "lockbridge/v1/hub-1/status/keys/k-1",
      "lockbridge/v1/hub-1/status/keys/k-2",
      "lockbridge/v1/hub-1/status/locks/4c42000000000001",
    ]);
  });

  it("computes each dirty key once per flush, inside one batch of the source, from the state at the flush", async () => {
    const s = setup();
    const calls: string[] = [];
    let inBatch = false;
    let batches = 0;
    const source: StatusSource = {
      keyStatus: (id) => {
        calls.push(`${id}${inBatch ? "" : " (outside a batch)"}`);
        return s.keys.get(id) ?? null;
      },
      lockStatus: () => null,
      keyIds: () => [...s.keys.keys()],
      lockIds: () => [],
      batch: (fn) => {
        batches++;
        inBatch = true;
        try {
          return fn();
        } finally {
          inBatch = false;
        }
      },
    };
    const published: { topic: string; payload: string }[] = [];
    const publisher = new StatusPublisher(source, { publish: (topic, payload) => (published.push({ topic, payload: String(payload) }), Promise.resolve()) }, topics, s.clock, silentLog, { debounceMs: 250, maxWaitMs: 2000, concurrency: 4 });
    publisher.setOnline(true);
    for (let v = 1; v <= 20; v++) {
      for (const k of ["k-1", "k-2"]) {
        s.keys.set(k, s.status(k, v));
        publisher.keyChanged(k);
      }
    }
    await s.settle(250);
    expect(batches).toBe(1);
    expect(calls.sort()).toEqual(["k-1", "k-2"]);
    expect(published.map((p) => JSON.parse(p.payload).version)).toEqual([20, 20]);
  });

  it("publishes the final state of a key that changed while its earlier state was being published, never the stale one last", async () => {
    const s = setup();
    const pending: { topic: string; payload: string; done: () => void }[] = [];
    const connection = {
      publish: (topic: string, payload: string | Buffer) => new Promise<void>((done) => pending.push({ topic, payload: String(payload), done })),
    };
    const publisher = new StatusPublisher(
      { keyStatus: (id) => s.keys.get(id) ?? null, lockStatus: () => null, keyIds: () => [...s.keys.keys()], lockIds: () => [] },
      connection, topics, s.clock, silentLog, { debounceMs: 250, maxWaitMs: 2000, concurrency: 4 },
    );
    publisher.setOnline(true);
    s.keys.set("k-1", s.status("k-1", 1));
    publisher.keyChanged("k-1");
    await s.settle(250);
    expect(pending.map((p) => JSON.parse(p.payload).version)).toEqual([1]); // in flight
    // Changes while v1's publish is not acknowledged: v2, then v3 (v2 no longer exists by the next flush).
    s.keys.set("k-1", s.status("k-1", 2));
    publisher.keyChanged("k-1");
    await s.settle(100);
    s.keys.set("k-1", s.status("k-1", 3));
    publisher.keyChanged("k-1");
    await s.settle(250);
    expect(pending).toHaveLength(1); // the next flush waits for the one in flight
    pending[0]!.done();
    await s.settle(0);
    await s.settle(0);
    expect(pending.map((p) => JSON.parse(p.payload).version)).toEqual([1, 3]);
    pending[1]!.done();
    await s.settle(0);
    // Back to v1's content after v3 was published: published again (not skipped as "identical to v1").
    s.keys.set("k-1", s.status("k-1", 1));
    publisher.keyChanged("k-1");
    await s.settle(250);
    expect(pending.map((p) => JSON.parse(p.payload).version)).toEqual([1, 3, 1]);
  });
});
