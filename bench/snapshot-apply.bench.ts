/**
 * Snapshot application benchmark (issue 12, the Pi budget): the hub's CPU for the part of a
 * sync.snapshot that does not wait on a lock — storing the keys, allocating their door codes,
 * deriving every lock's desired slot rows — and for computing every key's retained status once.
 * In process, no lock and no broker: the Pi benchmark (pi.bench.ts) measures the whole; this
 * one isolates the two parts its profile showed as the largest, at sizes the Pi bench takes
 * minutes to reach.
 *
 * The property is the Pi bench's: rooms (32 code slots) each linked to a lobby and a gym
 * (5,000 code slots), one key per room guest, so each key is 3 credentials. The keys are
 * applied as the snapshot handler does (one transaction; snapshotApplying/snapshotApplied
 * around the keys, which batches their derivation).
 *
 * Baseline, same run: the same keys written into a store by `keys.upsert` alone, in one
 * transaction (what storing them costs without codes or slot rows). CPU is process
 * user + system time; lower is better.
 *
 *   npm run bench -- snapshot-apply [--keys 3334] [--rooms 498]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Door, Key } from "../src/access/model.js";
import type { KeyChangeContext } from "../src/cloud/handlers/key-commands.js";
import { desiredStateEffects } from "../src/provisioning/desired/desired-effects.js";
import { KeyService } from "../src/provisioning/desired/key-service.js";
import { ProvisioningEngine } from "../src/provisioning/engine.js";
import { ManualClock } from "../src/shared/clock.js";
import { createLogger } from "../src/shared/logger.js";
import { seededRandom } from "../src/shared/random.js";
import { openStore, type Store } from "../src/store/index.js";
import type { BenchOptions, BenchResult } from "./run.js";

const log = createLogger({ level: "silent" });

function cpuMs<T>(fn: () => T): { ms: number; out: T } {
  const start = process.cpuUsage();
  const out = fn();
  const used = process.cpuUsage(start);
  return { ms: (used.user + used.system) / 1000, out };
}

function door(doorId: string, lockId: string, linkedDoorIds: string[] = []): Door {
  return { doorId, name: doorId, lockId, kind: doorId.startsWith("room") ? "room" : "common", linkedDoorIds, protectConfiguration: false };
}

function guest(i: number, rooms: number): Key {
  return {
    keyId: `k-${String(i).padStart(5, "0")}`,
    version: 1,
    source: "manual",
    checkedIn: true,
    doors: [{ doorId: `room-${i % rooms}`, accessPeriod: { from: "2026-12-01", to: "2026-12-04" }, arrivalTime: "15:00", departureTime: "11:00", allowProvisioning: true, allowLinkedDoorsAccess: true }],
    doorCode: { enabled: true, assignment: "random" },
    keycard: { enabled: false },
    smartKey: { enabled: false },
  };
}

/** A store holding the site, the locks (commissioned, with IDENT) and the doors. */
function property(file: string, rooms: number): { store: Store; clock: ManualClock } {
  const clock = new ManualClock(Date.parse("2026-12-01T12:00:00Z"));
  const store = openStore(file, { clock });
  store.transaction(() => {
    store.site.put({ siteId: "site-1", timezone: "Europe/Prague", credentialTypes: { doorCode: true, keycard: true, smartKey: true }, doorCodeLength: 6, doorHeldOpenSeconds: 120, atRiskMinutes: 60 });
    const lock = (lockId: string, codeSlots: number): void => {
      store.locks.upsert({ lockId, profileId: "p", link: { type: "tcp", host: "h", port: 1, address: 1 } });
      store.locks.setIdent(lockId, { protocolVersion: 1, lockId, model: "m", firmware: "1", capabilities: 0x7f, codeMinLen: 4, codeMaxLen: 10, codeSlots, cardSlots: 32, mobileKeySlots: 16 });
      store.locks.setState(lockId, "commissioned");
    };
    lock("lock-lobby", 5000);
    lock("lock-gym", 5000);
    store.doors.upsert(door("lobby", "lock-lobby"));
    store.doors.upsert(door("gym", "lock-gym"));
    for (let r = 0; r < rooms; r++) {
      lock(`lock-room-${r}`, 32);
      store.doors.upsert(door(`room-${r}`, `lock-room-${r}`, ["lobby", "gym"]));
    }
  });
  return { store, clock };
}

function applyAndDerive(file: string, keys: readonly Key[], rooms: number): { applyMs: number; statusMs: number } {
  const { store, clock } = property(file, rooms);
  try {
    const engine = new ProvisioningEngine({
      store,
      clock,
      log,
      events: { emit: () => 0 },
      status: { keyChanged: () => undefined, lockChanged: () => undefined },
      links: { open: () => Promise.reject(new Error("no locks in this benchmark")) },
    });
    const rnd = seededRandom(7);
    const service = new KeyService(store, { desired: engine.desired, statuses: engine.statuses, clock }, { random: { int: (n) => Math.floor(rnd() * n) } });
    const effects = desiredStateEffects(store, engine.desired);
    const ctx: KeyChangeContext = { clock, log, origin: "snapshot", emit: () => undefined, keyChanged: () => undefined, lockChanged: () => undefined };
    const apply = cpuMs(() =>
      store.transaction(() => {
        effects.snapshotApplying();
        for (const k of keys) service.upsert(k, ctx);
        effects.snapshotApplied();
      }),
    );
    // As the status publisher computes a flush: one batch (the source's reads shared).
    // As the status publisher computes a flush: one batch (the source's reads shared). The
    // best of 5 passes: one pass over a few hundred keys is too short to read under load.
    const status = { ms: Infinity };
    for (let pass = 0; pass < 5; pass++) {
      const { ms } = cpuMs(() =>
        engine.statuses.batch(() => {
          for (const k of keys) JSON.stringify(engine.statuses.keyStatus(k.keyId));
        }),
      );
      status.ms = Math.min(status.ms, ms);
    }
    return { applyMs: apply.ms, statusMs: status.ms };
  } finally {
    store.close();
  }
}

function storeOnly(file: string, keys: readonly Key[], rooms: number): number {
  const { store } = property(file, rooms);
  try {
    return cpuMs(() => store.transaction(() => keys.forEach((k) => store.keys.upsert(k)))).ms;
  } finally {
    store.close();
  }
}

export async function run(options: BenchOptions = {}): Promise<BenchResult[]> {
  const keysN = Number(options.keys ?? 3334);
  const rooms = Number(options.rooms ?? Math.max(1, Math.round(keysN / 6.7)));
  const credentials = keysN * 3;
  const keys = Array.from({ length: keysN }, (_, i) => guest(i, rooms));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lockbridge-bench-apply-"));
  let files = 0;
  const fresh = (): string => path.join(dir, `s${files++}.db`);
  try {
    // Warm-up (JIT) on a small property, thrown away.
    applyAndDerive(fresh(), keys.slice(0, 200).map((k) => ({ ...k, doors: [{ ...k.doors[0]!, doorId: "room-0" }] })), 1);
    // Best of 3 on each side, alternating, so a busy machine disturbs both alike.
    let best = { applyMs: Infinity, statusMs: Infinity };
    let base = Infinity;
    for (let i = 0; i < 3; i++) {
      const r = applyAndDerive(fresh(), keys, rooms);
      best = { applyMs: Math.min(best.applyMs, r.applyMs), statusMs: Math.min(best.statusMs, r.statusMs) };
      base = Math.min(base, storeOnly(fresh(), keys, rooms));
    }
    const size = `${rooms + 2} locks, ${keysN} keys = ${credentials} credentials; best of 3`;
    return [
      {
        name: "snapshot-apply: keys stored, codes allocated, slot rows derived (CPU per credential)",
        value: best.applyMs / credentials,
        unit: "ms",
        baseline: { value: base / credentials, unit: "ms", name: "keys.upsert alone, one transaction" },
        note: `lower is better; ${size}; ${Math.round(best.applyMs)} ms in all`,
      },
      {
        name: "snapshot-apply: every key's status computed once (CPU per key)",
        value: best.statusMs / keysN,
        unit: "ms",
        note: `lower is better; ${size}; ${Math.round(best.statusMs)} ms in all`,
      },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
