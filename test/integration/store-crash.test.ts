/**
 * Durability under SIGKILL: a real child process streams committed writes and is killed at
 * random points, many times. Every write it reported committed must be there afterwards,
 * no transaction may be half there, the event seq must never repeat, and the file must pass
 * PRAGMA integrity_check. Also: a migration killed half-way leaves the old schema usable.
 */
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { MIGRATIONS, SCHEMA_VERSION, acquireDataDir, openStore } from "../../src/store/index.js";
import { collectLines, sampleKey, spawnHelper, tempDir, waitForLine } from "../helpers/store.js";

const ITERATIONS = 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("store crash safety", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it(`keeps every reported commit across ${ITERATIONS} SIGKILLs at random points`, async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    let maxReportedSeq = 0;
    let totalReported = 0;

    for (let run = 0; run < ITERATIONS; run++) {
      const child = spawnHelper("store-crash-writer.ts", [dir, `r${run}`]);
      cleanups.push(() => child.kill("SIGKILL"));
      const reported: { keyId: string; seq: number }[] = [];
      const exit = collectLines(child, (line) => {
        const [word, keyId, seq] = line.split(" ");
        if (word === "committed" && keyId && seq) reported.push({ keyId, seq: Number(seq) });
      });
      const ready = await waitForLine(child, (l) => l.startsWith("ready "));
      // The child starts from the seq the last run left: never below what was reported.
      expect(Number(ready.split(" ")[1])).toBeGreaterThanOrEqual(maxReportedSeq);
      // Killed at a random point once it is writing (a loaded machine may take a while to fsync
      // its first commit; a kill before any commit would test nothing).
      for (const until = Date.now() + 20_000; reported.length === 0 && Date.now() < until; ) await sleep(5);
      await sleep(Math.floor(Math.random() * 350));
      child.kill("SIGKILL");
      const { signal, stderr } = await exit;
      expect(signal, stderr).toBe("SIGKILL");
      expect(reported.length, `run ${run} reported nothing`).toBeGreaterThan(0);

      // Reopen as the next hub would (the kernel released the data dir lock with the process).
      const lease = acquireDataDir(dir);
      const store = openStore(lease.storePath);
      try {
        for (const { keyId, seq } of reported) {
          expect(seq, "seq never repeats or goes back").toBeGreaterThan(maxReportedSeq);
          maxReportedSeq = seq;
          expect(store.outbox.get(seq)?.event.keyId).toBe(keyId);
          const key = store.keys.get(keyId);
          expect(key?.doors.map((d) => d.doorId)).toEqual(["room-101", "lobby"]);
          expect(store.credentials.current(keyId).map((c) => c.kind)).toEqual(["doorCode", "keycard", "smartKey"]);
        }
        totalReported += reported.length;
        expect(store.integrityCheck()).toEqual(["ok"]);
        expect(store.outbox.lastSeq()).toBeGreaterThanOrEqual(maxReportedSeq);
      } finally {
        store.close();
        lease.release();
      }

      // No transaction is half there: every key has its event, its 2 doors and 3 credentials.
      const db = new Database(lease.storePath, { readonly: true });
      try {
        const counts = db
          .prepare(
            `SELECT (SELECT count(*) FROM keys) AS keys, (SELECT count(*) FROM outbox) AS events,
               (SELECT count(*) FROM key_doors) AS doors, (SELECT count(*) FROM credentials WHERE revoked_at IS NULL) AS creds,
               (SELECT max(seq) FROM outbox) AS maxSeq`,
          )
          .get() as { keys: number; events: number; doors: number; creds: number; maxSeq: number };
        expect(counts.keys).toBeGreaterThanOrEqual(totalReported);
        expect(counts.events).toBe(counts.keys);
        expect(counts.maxSeq).toBe(counts.events); // seqs 1..n, no gap, no reuse
        expect(counts.doors).toBe(2 * counts.keys);
        expect(counts.creds).toBe(3 * counts.keys);
      } finally {
        db.close();
      }
    }
    expect(totalReported).toBeGreaterThan(ITERATIONS);
  });

  it("a migration killed half-way leaves the previous schema and its data usable", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = path.join(dir, "lockbridge.db");
    const previous = MIGRATIONS.slice(0, -1);
    const old = openStore(file, { migrations: previous });
    old.keys.upsert(sampleKey("k-1"));
    old.outbox.append({ type: "lock.online" });
    old.close();

    const child = spawnHelper("store-migrate-hang.ts", [file]);
    cleanups.push(() => child.kill("SIGKILL"));
    const exit = collectLines(child, () => undefined);
    await waitForLine(child, (l) => l === "migrating");
    child.kill("SIGKILL");
    expect((await exit).signal).toBe("SIGKILL");

    const before = openStore(file, { migrations: previous });
    expect(before.schemaVersion()).toBe(SCHEMA_VERSION - 1);
    expect(before.keys.ids()).toEqual(["k-1"]);
    expect(before.outbox.lastSeq()).toBe(1);
    expect(before.integrityCheck()).toEqual(["ok"]);
    before.close();

    const after = openStore(file);
    expect(after.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(after.keys.ids()).toEqual(["k-1"]);
    after.close();
  });
});
