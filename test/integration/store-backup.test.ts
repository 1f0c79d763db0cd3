/**
 * Online backups stay consistent while writes go on: from the hub's own connection during a
 * stream of its writes, and from another process (`lockbridge store backup`) while a real
 * writer process commits as fast as it can.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { backupStore, backupStoreFile, openStore, type Store } from "../../src/store/index.js";
import { collectLines, sampleKey, spawnHelper, tempDir, waitForLine } from "../helpers/store.js";

/** Opens a backup file on its own and checks it is sound and transaction-consistent. */
function checkBackup(file: string): { keys: number } {
  const db = new Database(file, { readonly: true });
  try {
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(db.pragma("journal_mode", { simple: true })).toBe("delete"); // one self-contained file
    const c = db.prepare("SELECT (SELECT count(*) FROM keys) AS keys, (SELECT count(*) FROM outbox) AS events, (SELECT max(seq) FROM outbox) AS maxSeq").get() as {
      keys: number;
      events: number;
      maxSeq: number;
    };
    // Each write transaction added one key and one event: a torn copy would break the pairing.
    expect(c.events).toBe(c.keys);
    expect(c.maxSeq).toBe(c.events);
    return { keys: c.keys };
  } finally {
    db.close();
  }
}

function writeOne(store: Store, n: number): void {
  store.transaction(() => {
    store.outbox.append({ type: "credential.provisioned", keyId: `k-${n}` });
    store.keys.upsert(sampleKey(`k-${n}`, { holder: { name: "x".repeat(300) } }));
  });
}

describe("store backup", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it("backs up the open store while its own writes keep streaming", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = openStore(path.join(dir, "lockbridge.db"));
    cleanups.push(() => store.close());
    let n = 0;
    store.transaction(() => {
      while (n < 3000) writeOne(store, n++); // ~2 MB: the copy takes many 100-page steps
    });

    let writing = true;
    const writer = (async () => {
      while (writing) {
        for (let i = 0; i < 20; i++) writeOne(store, n++);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const startN = n;
    const result = await backupStore(store, path.join(dir, "backup.db"));
    writing = false;
    await writer;
    expect(n - startN, "writes happened during the backup").toBeGreaterThan(0);

    expect(result.file).toBe(path.join(dir, "backup.db"));
    expect(result.bytes).toBe(fs.statSync(result.file).size);
    const { keys } = checkBackup(result.file);
    expect(keys).toBeGreaterThanOrEqual(startN);
    expect(keys).toBeLessThanOrEqual(n);
    const reopened = openStore(result.file);
    expect(reopened.keys.get("k-0")?.holder?.name).toBe("x".repeat(300));
    reopened.close();
    expect(fs.readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("backs up a store by path from another process while a writer process commits", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const child = spawnHelper("store-crash-writer.ts", [dir, "w"]);
    cleanups.push(() => child.kill("SIGKILL"));
    let reported = 0;
    const exit = collectLines(child, (l) => {
      if (l.startsWith("committed ")) reported++;
    });
    await waitForLine(child, (l) => l.startsWith("ready "));
    await new Promise((r) => setTimeout(r, 300));

    const storePath = path.join(dir, "lockbridge.db");
    let last = 0;
    for (let i = 0; i < 3; i++) {
      const before = reported;
      const file = path.join(dir, `backup-${i}.db`);
      await backupStoreFile(storePath, file);
      const db = new Database(file, { readonly: true });
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      const c = db.prepare("SELECT (SELECT count(*) FROM keys) AS keys, (SELECT count(*) FROM outbox) AS events, (SELECT count(*) FROM credentials) AS creds").get() as {
        keys: number;
        events: number;
        creds: number;
      };
      db.close();
      expect(c.events).toBe(c.keys);
      expect(c.creds).toBe(3 * c.keys);
      expect(c.keys).toBeGreaterThanOrEqual(before);
      expect(c.keys).toBeGreaterThan(last);
      last = c.keys;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGKILL");
    await exit;
  });

  it("refuses to back up something that is not a LockBridge store", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const foreign = path.join(dir, "other.db");
    const db = new Database(foreign);
    db.exec("CREATE TABLE t (x)");
    db.close();
    await expect(backupStoreFile(foreign, path.join(dir, "b.db"))).rejects.toMatchObject({ code: "store_foreign" });
    await expect(backupStoreFile(path.join(dir, "missing.db"), path.join(dir, "b.db"))).rejects.toThrow(/no LockBridge store/);
    expect(fs.existsSync(path.join(dir, "b.db"))).toBe(false);
  });
});
