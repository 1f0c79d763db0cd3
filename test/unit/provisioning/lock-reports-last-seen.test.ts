/**
 * A lock's lastSeen refresh alone waits LAST_SEEN_BATCH_MS for the other locks', all written
 * in one commit; a report that changes anything else is written at once, lastSeen with it.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SecurityAlerts } from "../../../src/provisioning/reconcile/security-alerts.js";
import { LAST_SEEN_BATCH_MS, LockReports } from "../../../src/provisioning/status/lock-reports.js";
import type { Store } from "../../../src/store/index.js";
import { silentLog } from "../../helpers/cloud.js";
import { tempStore } from "../../helpers/store.js";

const LOCKS = ["4c42000000000001", "4c42000000000002", "4c42000000000003"];

describe("lock reports: lastSeen batched", () => {
  let t: ReturnType<typeof tempStore>;
  let store: Store;
  let reports: LockReports;
  let commits = 0;
  const lockChanged: string[] = [];
  beforeEach(() => {
    t = tempStore();
    store = t.store;
    for (const lockId of LOCKS) store.locks.upsert({ lockId, profileId: "p", link: { type: "tcp", host: "h", port: 1, address: 1 } });
    const online = new Map<string, boolean>();
    reports = new LockReports({
      store,
      clock: t.clock,
      log: silentLog,
      status: { keyChanged: () => undefined, lockChanged: (id) => void lockChanged.push(id) },
      alerts: {} as SecurityAlerts,
      online: (id) => online.get(id),
      setOnline: (id, on) => void online.set(id, on),
      lockRecord: (id) => store.locks.get(id),
      forgetLock: () => undefined,
      emit: () => undefined,
      doorOf: () => ({}),
      resyncKeys: () => undefined,
      keysOnLock: () => new Set(),
      scheduleKey: () => undefined,
    });
    // Each lock came online (written at once), then polls go on.
    for (const lockId of LOCKS) reports.health(lockId, { online: true, lastSeen: t.clock.now() });
    commits = 0;
    store.beforeCommit(() => void commits++);
    lockChanged.length = 0;
  });
  afterEach(() => t.cleanup());

  it("writes every lock's refresh in one commit after the batch's wait", () => {
    t.clock.advance(30_000);
    const seen = t.clock.now();
    for (const lockId of LOCKS) reports.health(lockId, { online: true, lastSeen: seen });
    expect(commits).toBe(0);
    expect(store.locks.get(LOCKS[0]!)?.lastSeen).toBe(seen - 30_000);
    t.clock.advance(LAST_SEEN_BATCH_MS);
    expect(commits).toBe(1);
    for (const lockId of LOCKS) expect(store.locks.get(lockId)?.lastSeen).toBe(seen);
    // The locks' statuses are told once it is stored, so they publish the new lastSeen.
    expect([...lockChanged].sort()).toEqual(LOCKS);
  });

  it("a report with other news is written at once, with its lastSeen; a refresh waiting rides along", () => {
    t.clock.advance(30_000);
    const seen = t.clock.now();
    reports.health(LOCKS[0]!, { online: true, lastSeen: seen });
    expect(commits).toBe(0);
    reports.health(LOCKS[1]!, { online: true, lastSeen: seen, battery: 40 });
    expect(commits).toBe(1);
    expect(store.locks.get(LOCKS[1]!)).toMatchObject({ lastSeen: seen, battery: 40 });
    expect(store.locks.get(LOCKS[0]!)?.lastSeen).toBe(seen); // carried by that commit
    reports.health(LOCKS[2]!, { online: false });
    expect(commits).toBe(2);
    expect(store.locks.get(LOCKS[2]!)?.online).toBe(false);
    // Nothing waits any more: the batch's timer writes nothing.
    t.clock.advance(LAST_SEEN_BATCH_MS);
    expect(commits).toBe(2);
  });

  it("a refresh carried by a commit that rolls back waits again and is written by the batch", () => {
    t.clock.advance(30_000);
    const seen = t.clock.now();
    reports.health(LOCKS[0]!, { online: true, lastSeen: seen });
    expect(() => store.transaction(() => { throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" }); })).toThrow("disk is full");
    expect(store.locks.get(LOCKS[0]!)?.lastSeen).toBe(seen - 30_000);
    // A later commit that succeeds does not write it twice nor take it back.
    t.clock.advance(LAST_SEEN_BATCH_MS);
    expect(store.locks.get(LOCKS[0]!)?.lastSeen).toBe(seen);
    const after = commits;
    expect(() => store.transaction(() => { throw new Error("an unrelated effect failed"); })).toThrow("unrelated");
    t.clock.advance(LAST_SEEN_BATCH_MS);
    expect(commits).toBe(after + 1); // only the failed one's hook ran; nothing was re-queued
  });
});
