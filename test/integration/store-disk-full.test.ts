/**
 * The store on a full disk (a 4 MiB tmpfs filled to the last byte; root only, skipped
 * otherwise). Found by the chaos run's "data disk full" fault: locks refused the hub
 * (NOT_AUTHENTICATED, "lock refuses PAIR_KX: it holds a link key") after the disk was freed.
 * `UPDATE ... RETURNING` read with better-sqlite3's get() returns the new row even when the
 * autocommit fails (SQLITE_FULL) and is rolled back: the same block of hub send counters was
 * handed out again and again (counter reuse: the locks refuse them as replays, and a sealing
 * nonce repeats under one key), and so could an MQTT sessionId. Reading all() runs the
 * statement to its end, so the failed commit throws.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/store/index.js";

const dir = mkdtempSync(join(tmpdir(), "lb-diskfull-"));
const mounted = process.getuid?.() === 0 && (mkdirSync(dir, { recursive: true }), spawnSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", dir]).status === 0);
const ballast = join(dir, "ballast");
const LOCK = "4c42000000000001";

function fillDisk(): void {
  const fd = openSync(ballast, "w");
  for (const size of [1 << 16, 4096, 1]) {
    const chunk = Buffer.alloc(size);
    try {
      for (;;) writeSync(fd, chunk);
    } catch {
      // ENOSPC: next, smaller
    }
  }
  closeSync(fd);
}

let store: Store | undefined;
afterEach(() => {
  rmSync(ballast, { force: true });
  store?.close();
  store = undefined;
  if (mounted) spawnSync("umount", ["-l", dir]);
  else rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!mounted)("store on a full disk (root, tmpfs)", () => {
  it("a counter block or sessionId whose write failed is refused, never handed out; after the disk is freed the next block follows the last durable one", () => {
    store = openStore(join(dir, "lockbridge.db"));
    store.locks.upsert({ lockId: LOCK, profileId: "sim-room", link: { type: "tcp", host: "in-process", port: 1, address: 1 } });
    const first = store.linkState.reserveHubCounters(LOCK, 64);
    const session = store.meta.nextSessionId();
    fillDisk();
    // A write may still fit in the last, partly used page of the WAL file (1 KiB frames in
    // 4 KiB pages of the disk): such a block is durable and may be handed out. What must never
    // be handed out is a block whose write failed: every block handed out follows the last.
    let last = first;
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      try {
        const block = store.linkState.reserveHubCounters(LOCK, 64);
        expect(block).toBe(last + 64);
        last = block;
      } catch (e) {
        expect(String(e)).toMatch(/disk is full/);
        refused++;
      }
    }
    expect(refused).toBeGreaterThanOrEqual(16);
    let lastSession = session;
    let sessionsRefused = 0;
    for (let i = 0; i < 10; i++) {
      try {
        const next = store.meta.nextSessionId();
        expect(next).toBe(lastSession + 1);
        lastSession = next;
      } catch (e) {
        expect(String(e)).toMatch(/disk is full/);
        sessionsRefused++;
      }
    }
    expect(sessionsRefused).toBeGreaterThanOrEqual(6);
    rmSync(ballast, { force: true });
    expect(store.linkState.reserveHubCounters(LOCK, 64)).toBe(last + 64);
    expect(store.meta.nextSessionId()).toBe(lastSession + 1);
  });
});
