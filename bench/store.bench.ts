/**
 * Store benchmark (issue 2): upsert 10,000 keys with 2 doors and 3 credentials each (6 rows
 * per key) through the repository layer, next to raw better-sqlite3 inserts of the same rows
 * into the same schema, measured in the same run. WAL + synchronous=FULL on both sides.
 *  - one transaction per key: what the hub does per key.upsert command (one durable commit each);
 *  - one transaction for all: what a sync.snapshot does.
 *  - what synchronous=FULL costs against NORMAL for per-key commits (raw, same rows).
 * Contenders run interleaved in blocks (per-key) or alternately with the best of 3 (batched),
 * so a busy machine disturbs both sides alike. Higher rows/s is better; ratio = figure / baseline.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import type { Key } from "../src/access/model.js";
import { openStore, type Store } from "../src/store/index.js";
import type { BenchResult } from "./run.js";

const KEYS = 10_000;
const ROWS_PER_KEY = 6; // key + 2 door entries + 3 credentials
const BLOCK = 500;

interface Sample {
  key: Key;
  code: string;
  card: string;
  mobileKey: string;
}

function samples(n: number, prefix: string): Sample[] {
  return Array.from({ length: n }, (_, i) => ({
    key: {
      keyId: `${prefix}-${i}`,
      version: 1,
      source: i % 2 ? "pms" : "manual",
      ...(i % 2 ? { pms: { provider: "mews" as const, reservationId: `R-${i}` } } : {}),
      holder: { name: `Guest ${i}` },
      checkedIn: true,
      doors: [`room-${i % 300}`, "lobby"].map((doorId, d) => ({
        doorId,
        accessPeriod: { from: "2026-12-01", to: "2026-12-04" },
        arrivalTime: "15:00",
        departureTime: "10:00",
        allowProvisioning: true,
        allowLinkedDoorsAccess: d === 0,
      })),
      doorCode: { enabled: true, assignment: "random" },
      keycard: { enabled: true, cardId: `card-${prefix}-${i}` },
      smartKey: { enabled: true, publicKey: Buffer.alloc(32, i % 251).toString("base64") },
    },
    code: String(100000 + ((i * 7919) % 900000)),
    card: `card-${prefix}-${i}`,
    mobileKey: Buffer.alloc(32, i % 251).toString("base64"),
  }));
}

/** Something that writes samples: per key (one commit each) or all in one transaction. */
interface Contender {
  perKey(block: Sample[]): void;
  batched(all: Sample[]): void;
  count(): number;
  close(): void;
}

function repository(file: string): Contender {
  const store: Store = openStore(file);
  const one = (s: Sample): void => {
    store.keys.upsert(s.key);
    store.credentials.assign({ keyId: s.key.keyId, kind: "doorCode", value: s.code, assignment: "random" });
    store.credentials.assign({ keyId: s.key.keyId, kind: "keycard", value: s.card });
    store.credentials.assign({ keyId: s.key.keyId, kind: "smartKey", value: s.mobileKey });
  };
  return {
    perKey: (block) => block.forEach((s) => store.transaction(() => one(s))),
    batched: (all) => store.transaction(() => all.forEach(one)),
    count: () => store.keys.count(),
    close: () => store.close(),
  };
}

/** Plain prepared INSERTs of the same rows into the same schema. */
function raw(file: string, synchronous: "FULL" | "NORMAL"): Contender {
  openStore(file).close(); // the same schema, then raw access
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma("foreign_keys = ON");
  const insKey = db.prepare(
    `INSERT INTO keys (key_id, version, source, pms, holder, checked_in, door_code_request, keycard_request, smart_key_request, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insDoor = db.prepare("INSERT INTO key_doors VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  const insCred = db.prepare("INSERT INTO credentials (key_id, kind, value, assignment, created_at) VALUES (?, ?, ?, ?, ?)");
  const one = (s: Sample): void => {
    const k = s.key;
    const now = Date.now();
    insKey.run(k.keyId, k.version, k.source, k.pms ? JSON.stringify(k.pms) : null, JSON.stringify(k.holder), 1, JSON.stringify(k.doorCode), JSON.stringify(k.keycard), JSON.stringify(k.smartKey), now);
    k.doors.forEach((d, i) =>
      insDoor.run(k.keyId, d.doorId, i, d.accessPeriod.from, d.accessPeriod.to, d.arrivalTime, d.departureTime, d.allowProvisioning ? 1 : 0, d.allowLinkedDoorsAccess ? 1 : 0),
    );
    insCred.run(k.keyId, "doorCode", s.code, "random", now);
    insCred.run(k.keyId, "keycard", s.card, null, now);
    insCred.run(k.keyId, "smartKey", s.mobileKey, null, now);
  };
  const perKeyTx = db.transaction(one);
  const allTx = db.transaction((rows: Sample[]) => rows.forEach(one));
  return {
    perKey: (block) => block.forEach((s) => perKeyTx(s)),
    batched: (all) => allTx(all),
    count: () => (db.prepare("SELECT count(*) AS n FROM keys").get() as { n: number }).n,
    close: () => db.close(),
  };
}

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

/** Per-key commits, contenders taking turns block by block. @returns seconds per contender. */
function perKeyRace(contenders: Contender[], data: Sample[]): number[] {
  const seconds = contenders.map(() => 0);
  for (let start = 0; start < data.length; start += BLOCK) {
    const block = data.slice(start, start + BLOCK);
    contenders.forEach((c, i) => (seconds[i] = (seconds[i] ?? 0) + timed(() => c.perKey(block))));
  }
  return seconds;
}

export async function run(): Promise<BenchResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lockbridge-bench-store-"));
  let files = 0;
  const fresh = (): string => path.join(dir, `s${files++}.db`);
  const data = samples(KEYS, "k");
  const rows = KEYS * ROWS_PER_KEY;
  const rps = (s: number): number => rows / s;
  try {
    // Warm-up (JIT, page cache) on a small set, thrown away.
    const warm = [repository(fresh()), raw(fresh(), "FULL")];
    perKeyRace(warm, samples(300, "w"));
    warm.forEach((c) => c.close());

    const perKey = [repository(fresh()), raw(fresh(), "FULL"), raw(fresh(), "NORMAL")];
    const [repoPerKey = NaN, rawPerKey = NaN, rawPerKeyNormal = NaN] = perKeyRace(perKey, data);
    for (const c of perKey) {
      if (c.count() !== KEYS) throw new Error("a per-key contender lost keys");
      c.close();
    }

    let repoBatched = Infinity;
    let rawBatched = Infinity;
    for (let rep = 0; rep < 3; rep++) {
      for (const [make, isRepo] of [
        [() => repository(fresh()), true],
        [() => raw(fresh(), "FULL"), false],
      ] as const) {
        const c = make();
        const s = timed(() => c.batched(data));
        if (c.count() !== KEYS) throw new Error("a batched contender lost keys");
        c.close();
        if (isRepo) repoBatched = Math.min(repoBatched, s);
        else rawBatched = Math.min(rawBatched, s);
      }
      await new Promise((r) => setImmediate(r));
    }

    return [
      {
        name: "store: upsert 10,000 keys (2 doors, 3 credentials each), one transaction per key",
        value: rps(repoPerKey),
        unit: "rows/s",
        baseline: { value: rps(rawPerKey), unit: "rows/s", name: "raw better-sqlite3 inserts" },
        note: `repository vs raw inserts, both synchronous=FULL; ${((repoPerKey * 1e6) / KEYS).toFixed(0)} us per key commit`,
      },
      {
        name: "store: upsert 10,000 keys (2 doors, 3 credentials each), one transaction for all (snapshot)",
        value: rps(repoBatched),
        unit: "rows/s",
        baseline: { value: rps(rawBatched), unit: "rows/s", name: "raw better-sqlite3 inserts" },
        note: "repository vs raw inserts, best of 3",
      },
      {
        name: "store: per-key commits, synchronous=FULL vs NORMAL (raw)",
        value: rps(rawPerKey),
        unit: "rows/s",
        baseline: { value: rps(rawPerKeyNormal), unit: "rows/s", name: "synchronous=NORMAL" },
        note: "the price of durability before acknowledging",
      },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
