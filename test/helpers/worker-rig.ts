/**
 * One LockWorker on real parts, step by step on a ManualClock: a SimLock on an InProcessLink,
 * the hub's real LinkBus / LockSession / LockClient (hubRig) seen through the engine's port
 * (portOf/handleOf), and the real store adapter (StoreLockTables) over a temp SQLite file.
 * Only the engine is left out: its hooks are recorded.
 */
import { doorCodeSecret } from "../../src/access/desired.js";
import type { CredentialType } from "../../src/access/model.js";
import type { HubEventInput } from "../../src/cloud/events.js";
import { handleOf } from "../../src/provisioning/reconcile/lock-links.js";
import type { LockHealthFacts } from "../../src/provisioning/reconcile/worker/index.js";
import { LockWorker, type LockWorkerHooks } from "../../src/provisioning/reconcile/worker/index.js";
import { SlotIndex } from "../../src/provisioning/desired/slot-index.js";
import { StoreLockTables } from "../../src/provisioning/reconcile/store-adapter.js";
import { Capability, secretDigest } from "../../src/protocol/llp/index.js";
import { ManualClock } from "../../src/shared/clock.js";
import { SimLock } from "../../sim/index.js";
import { LockExpectations, driveUntil } from "./lock-expect.js";
import { drive, hubRig, InProcessLink, quietLogger, simRoomProfile } from "./lock-link.js";
import { tempStore } from "./store.js";

export const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
export const LOCK_ID = "4c42000000000001";
export const DOOR_ID = "room-101";
const SETUP_KEY = "000102030405060708090a0b0c0d0e0f";
const CODE_SLOTS = 32;
const KX_CAPS = ["doorCodes", "keycards", "mobileKeys", "remoteUnlock", "doorSensor", "firmwareUpdate", "sealing", "authenticatedPairing"] as const;

export type HookCall = { [K in keyof LockWorkerHooks]-?: { hook: K; args: Parameters<NonNullable<LockWorkerHooks[K]>> } }[keyof LockWorkerHooks];

export interface WorkerRigOptions {
  /** How the lock pairs: "kx" (PAIR_KX with the label's setup key) or "plain" (legacy PAIR). Default plain. */
  pairing?: "kx" | "plain";
  verifyIntervalMs?: number;
  /** STATUS poll interval; default the profile's. */
  pollIntervalMs?: number;
}

export async function workerRig(opts: WorkerRigOptions = {}) {
  const kx = opts.pairing === "kx";
  const clock = new ManualClock(T0);
  const db = tempStore({ clock });
  const store = db.store;
  store.locks.upsert({ lockId: LOCK_ID, profileId: "sim-room", link: { type: "tcp", host: "in-process", port: 1, address: 1 } });
  const lock = new SimLock({ clock, lockId: LOCK_ID, ...(kx ? { setupKey: SETUP_KEY, profile: { capabilities: 0x7f | Capability.PAIR_KX } } : {}) });
  const link = new InProcessLink([lock], clock);
  const expect = new LockExpectations(lock, link, clock);
  const profile = kx ? simRoomProfile({ capabilities: [...KX_CAPS], pairing: "kx", sealingRequired: true }) : simRoomProfile({ sealingRequired: true });
  const client = hubRig(link, clock, [lock], { profile }).clients[0]!;
  // Paired at commissioning, as the engine finds a lock in service.
  await drive(clock, kx ? client.pairKx(Buffer.from(SETUP_KEY, "hex")) : client.pair());
  const handle = handleOf(client, () => Promise.resolve());

  const outbox: HubEventInput[] = [];
  const tables = new StoreLockTables(store, { emit: (e) => outbox.push(e) }, new SlotIndex(store), clock);
  const calls: HookCall[] = [];
  const record = <K extends keyof LockWorkerHooks>(hook: K) =>
    ((...args: unknown[]) => void calls.push({ hook, args } as HookCall)) as NonNullable<LockWorkerHooks[K]>;
  const hooks: LockWorkerHooks = {
    slotsChanged: record("slotsChanged"),
    tableChanged: record("tableChanged"),
    health: record("health"),
    ident: record("ident"),
    replaced: record("replaced"),
    pairingLost: record("pairingLost"),
    pairingConfirmed: record("pairingConfirmed"),
    securityAlert: record("securityAlert"),
    emit: record("emit"),
    lockEvents: record("lockEvents"),
  };
  const worker = new LockWorker({
    lockId: LOCK_ID,
    link: handle.port,
    store: tables,
    clock,
    log: quietLogger,
    hooks,
    ident: null,
    doorId: () => DOOR_ID,
    pollIntervalMs: opts.pollIntervalMs ?? handle.pollIntervalMs,
    verifyIntervalMs: opts.verifyIntervalMs,
    doorHeldOpenSeconds: () => 120,
    // No jitter: backoff delays are exactly half their ceiling.
    random: () => 0,
    setupKey: () => (kx ? Buffer.from(SETUP_KEY, "hex") : null),
  });
  const unsubscribe = [handle.onOnlineChange((online) => worker.onlineChanged(online)), handle.onEventNotify(() => worker.eventNotify())];
  expect.clear();

  let keys = 0;
  const rig = {
    clock, store, lock, link, client, worker, tables, outbox, calls, expect, pollIntervalMs: opts.pollIntervalMs ?? handle.pollIntervalMs,
    /** Desires a door code on the lock (as the engine's desired side does); returns its credential and slot. */
    desireCode(code: string, validFrom = 0): { credentialId: number; slot: number } {
      const keyId = `key-${++keys}`;
      const cred = store.credentials.assign({ keyId, kind: "doorCode", value: code });
      const content = { credentialId: cred.credentialId, validFrom, validUntil: 0, flags: 0, secretDigest: secretDigest(doorCodeSecret(code)!) };
      const slot = store.slots.assign(LOCK_ID, "doorCode", content, CODE_SLOTS);
      if (slot === null) throw new Error("no free slot");
      return { credentialId: cred.credentialId, slot };
    },
    /** Revokes what a slot holds (the desired side clears it). */
    revoke(slot: number, kind: CredentialType = "doorCode"): void {
      store.slots.clearDesired(LOCK_ID, kind, slot);
    },
    row(slot: number, kind: CredentialType = "doorCode") {
      return tables.slot(LOCK_ID, kind, slot);
    },
    hookCalls<K extends keyof LockWorkerHooks>(hook: K): Parameters<NonNullable<LockWorkerHooks[K]>>[] {
      return calls.filter((c) => c.hook === hook).map((c) => c.args as Parameters<NonNullable<LockWorkerHooks[K]>>);
    },
    /** Health facts as the engine would merge them. */
    health(): Partial<LockHealthFacts> {
      return Object.assign({}, ...rig.hookCalls("health").map((a) => a[1])) as Partial<LockHealthFacts>;
    },
    /** Runs until the worker has nothing queued or due. */
    settle(maxMs = 30_000): Promise<void> {
      return driveUntil(clock, () => worker.idle, { maxMs, what: "worker idle" });
    },
    async cleanup(): Promise<void> {
      unsubscribe.forEach((u) => u());
      await drive(clock, worker.stop());
      lock.dispose();
      db.cleanup();
    },
  };
  return rig;
}

export type WorkerRig = Awaited<ReturnType<typeof workerRig>>;
