/**
 * The store's 1 KiB pages (src/store/page-size.ts): a new store gets them, a store made with
 * SQLite's 4 KiB pages is rebuilt once at open with everything in it kept, and a rebuild that
 * cannot run leaves the store as it was and usable.
 */
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { openStore } from "../../../src/store/index.js";
import { STORE_PAGE_SIZE, setWalCheckpoint } from "../../../src/store/page-size.js";
import { tempStoreFiles } from "../../helpers/temp-store-file.js";

const NOW = 1_767_000_000_000;
const LINK = '{"type":"tcp","host":"10.0.0.5","port":4001,"address":1}';

function pragmas(file: string): { pageSize: number; journal: string } {
  const db = new Database(file, { readonly: true });
  try {
    return {
      pageSize: db.pragma("page_size", { simple: true }) as number,
      journal: db.pragma("journal_mode", { simple: true }) as string,
    };
  } finally {
    db.close();
  }
}

/** A current store with 300 commissioned locks, rebuilt with 4 KiB pages as releases before made it. */
function storeWith4KiBPages(file: string): void {
  openStore(file).close();
  const db = new Database(file);
  const lock = db.prepare(
    `INSERT INTO locks (lock_id, profile_id, link, link_key, state, updated_at) VALUES (?, 'rs485-mortise', '${LINK}', zeroblob(16), 'commissioned', ${NOW})`,
  );
  db.transaction(() => {
    for (let i = 0; i < 300; i++) lock.run(`4c42${String(i).padStart(12, "0")}`);
  })();
  db.pragma("journal_mode = DELETE");
  db.pragma("page_size = 4096");
  db.exec("VACUUM");
  db.pragma("journal_mode = WAL");
  expect(db.pragma("page_size", { simple: true })).toBe(4096);
  db.close();
}

describe("store page size", () => {
  const fileIn = tempStoreFiles();

  it("a new store has 1 KiB pages and WAL", () => {
    const file = fileIn();
    openStore(file).close();
    expect(pragmas(file)).toEqual({ pageSize: STORE_PAGE_SIZE, journal: "wal" });
  });

  it("rebuilds a store with 4 KiB pages once, keeping every row", () => {
    const file = fileIn();
    storeWith4KiBPages(file);
    const store = openStore(file);
    try {
      expect(store.locks.list()).toHaveLength(300);
      expect(store.locks.get("4c42000000000299")?.state).toBe("commissioned");
      expect(store.integrityCheck()).toEqual(["ok"]);
    } finally {
      store.close();
    }
    expect(pragmas(file)).toEqual({ pageSize: STORE_PAGE_SIZE, journal: "wal" });
  });

  it("leaves a store it cannot rebuild as it was, open and writable, and rebuilds it at the next start", () => {
    const file = fileIn();
    storeWith4KiBPages(file);
    // Another connection reading: leaving WAL mode needs the file to itself.
    const reader = new Database(file, { readonly: true });
    reader.exec("BEGIN");
    reader.prepare("SELECT count(*) FROM locks").get();
    let store = openStore(file);
    try {
      expect(store.locks.list()).toHaveLength(300);
      store.locks.setState("4c42000000000001", "replaced");
    } finally {
      store.close();
      reader.exec("COMMIT");
      reader.close();
    }
    expect(pragmas(file).pageSize).toBe(4096);
    store = openStore(file);
    try {
      expect(store.locks.get("4c42000000000001")?.state).toBe("replaced");
    } finally {
      store.close();
    }
    expect(pragmas(file).pageSize).toBe(STORE_PAGE_SIZE);
  });

  it("checkpoints the WAL every 16 MiB whatever the page size (wal_autocheckpoint counts pages)", () => {
    for (const [pageSize, pages] of [[1024, 16384], [4096, 4096]] as const) {
      const db = new Database(":memory:");
      db.pragma(`page_size = ${pageSize}`);
      db.exec("CREATE TABLE t (x)");
      setWalCheckpoint(db);
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(pages);
      db.close();
    }
  });
});
