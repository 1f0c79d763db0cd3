// The store as the lock layer's LinkStateStore: what a sealed link must not forget across restarts.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { LinkStateStore } from "../../../src/lock/index.js";
import { openStore, type Store } from "../../../src/store/index.js";

const LOCK = "4c42000000000001";
const key = (b: number) => Buffer.alloc(16, b);

function freshStore(): { path: string; store: Store } {
  const path = join(mkdtempSync(join(tmpdir(), "lb-linkstate-")), "lockbridge.db");
  const store = openStore(path);
  store.locks.upsert({ lockId: LOCK, profileId: "rs485-mortise", link: { type: "tcp", host: "127.0.0.1", port: 4001, address: 1 } });
  return { path, store };
}

describe("store.linkState (LinkStateStore over SQLite)", () => {
  it("satisfies the lock layer's interface", () => {
    const { store } = freshStore();
    const asPort: LinkStateStore = store.linkState;
    expect(asPort.linkKeys(LOCK)).toEqual({ active: null, pending: null });
    store.close();
  });

  it("never hands out a hub counter twice, across a reopen", () => {
    const { path, store } = freshStore();
    const a = store.linkState.reserveHubCounters(LOCK, 64);
    const b = store.linkState.reserveHubCounters(LOCK, 64);
    expect(b).toBe(a + 64);
    store.close();
    const again = openStore(path);
    expect(again.linkState.reserveHubCounters(LOCK, 64)).toBeGreaterThanOrEqual(b + 64);
    again.close();
  });

  it("keeps a pending key across a crash, confirms it into the active key; the hub counter never decreases (LLP §9.3)", () => {
    const { path, store } = freshStore();
    const before = store.linkState.reserveHubCounters(LOCK, 10);
    store.linkState.saveLastLockCounter(LOCK, 33);
    store.linkState.savePendingLinkKey(LOCK, key(7));
    store.close(); // the hub dies after sending PAIR

    const after = openStore(path);
    expect(after.linkState.linkKeys(LOCK)).toEqual({ active: null, pending: key(7) });
    after.linkState.confirmPendingLinkKey(LOCK);
    expect(after.linkState.linkKeys(LOCK)).toEqual({ active: key(7), pending: null });
    expect(after.linkState.lastLockCounter(LOCK)).toBe(0);
    // The recovered pairing may have used counters under the new key already: never reuse them.
    expect(after.linkState.reserveHubCounters(LOCK, 4)).toBeGreaterThan(before + 9);
    after.close();
  });

  it("the accepted lock counter never moves backwards; a discarded pending key leaves the active one", () => {
    const { store } = freshStore();
    store.linkState.savePendingLinkKey(LOCK, key(1));
    store.linkState.confirmPendingLinkKey(LOCK);
    store.linkState.saveLastLockCounter(LOCK, 10);
    store.linkState.saveLastLockCounter(LOCK, 4);
    expect(store.linkState.lastLockCounter(LOCK)).toBe(10);
    store.linkState.savePendingLinkKey(LOCK, key(2));
    store.linkState.discardPendingLinkKey(LOCK);
    expect(store.linkState.linkKeys(LOCK)).toEqual({ active: key(1), pending: null });
    store.close();
  });

  it("refuses a pending key for a lock it does not know", () => {
    const { store } = freshStore();
    expect(() => store.linkState.savePendingLinkKey("ffffffffffffffff", key(1))).toThrow(/no lock/);
    store.close();
  });
});
