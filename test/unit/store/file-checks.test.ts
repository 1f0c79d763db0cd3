import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { isLockBridgeError, type ErrorCode } from "../../../src/shared/errors.js";
import { openStore } from "../../../src/store/index.js";
import { sampleKey } from "../../helpers/store.js";
import { tempStoreFiles } from "../../helpers/temp-store-file.js";

/** Everything in the dir with a digest of its bytes: proves nothing was written or created. */
function dirState(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir).sort()) out[f] = createHash("sha256").update(fs.readFileSync(path.join(dir, f))).digest("hex");
  return out;
}

function expectRefused(file: string, code: ErrorCode, message: RegExp): void {
  const dir = path.dirname(file);
  const before = dirState(dir);
  let caught: unknown;
  try {
    openStore(file).close();
  } catch (e) {
    caught = e;
  }
  expect(isLockBridgeError(caught, code), `expected ${code}, got ${String(caught)}`).toBe(true);
  expect((caught as Error).message).toMatch(message);
  expect((caught as Error).message).toContain(file);
  expect(dirState(dir)).toEqual(before);
}

describe("corrupt and foreign files are refused and left untouched", () => {
  const fileIn = tempStoreFiles();

  /** A LockBridge store with enough rows to span many pages. */
  function realStore(file: string): void {
    const store = openStore(file);
    store.transaction(() => {
      for (let i = 0; i < 400; i++) store.keys.upsert(sampleKey(`k-${i}`, { holder: { name: "x".repeat(200) } }));
    });
    store.close();
  }

  it("random bytes: store_corrupt", () => {
    const file = fileIn();
    fs.writeFileSync(file, randomBytes(8192));
    expectRefused(file, "store_corrupt", /not a SQLite database/);
  });

  it("a SQLite header followed by garbage: store_corrupt", () => {
    const file = fileIn();
    fs.writeFileSync(file, Buffer.concat([Buffer.from("SQLite format 3\0", "latin1"), randomBytes(8192)]));
    expectRefused(file, "store_corrupt", /damaged|cannot be opened/);
  });

  it("a SQLite database of another application: store_foreign", () => {
    const file = fileIn();
    const db = new Database(file);
    db.exec("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT); INSERT INTO moz_places (url) VALUES ('https://example.com')");
    db.close();
    expectRefused(file, "store_foreign", /another application/);
  });

  it("another application's WAL database with its own application_id: store_foreign", () => {
    const file = fileIn();
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    db.pragma("application_id = 1234567");
    db.exec("CREATE TABLE things (x)");
    db.close();
    expectRefused(file, "store_foreign", /application_id 0x12d687/);
  });

  it("a truncated LockBridge store: store_corrupt", () => {
    const file = fileIn();
    realStore(file);
    const full = fs.statSync(file).size;
    expect(full).toBeGreaterThan(100_000);
    fs.truncateSync(file, Math.floor(full / 2));
    expectRefused(file, "store_corrupt", /damaged|integrity/);
  });

  it("a LockBridge store with a damaged page: store_corrupt", () => {
    const file = fileIn();
    realStore(file);
    const bytes = fs.readFileSync(file);
    // Overwrite a page in the middle (not page 1) with noise.
    const pageSize = bytes.readUInt16BE(16);
    const page = Math.floor(bytes.length / pageSize / 2);
    randomBytes(pageSize).copy(bytes, page * pageSize);
    fs.writeFileSync(file, bytes);
    expectRefused(file, "store_corrupt", /damaged|integrity/);
  });

  it("a sound store opens after all these checks", () => {
    const file = fileIn();
    realStore(file);
    const store = openStore(file);
    expect(store.keys.count()).toBe(400);
    store.close();
  });
});
