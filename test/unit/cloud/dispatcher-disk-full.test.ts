/**
 * A command whose COMMIT fails for lack of space (SQLITE_FULL once the handler's writes and
 * its response are in the transaction). Found by the chaos run's "data disk full" fault: the
 * dispatcher took the response from inside the transaction, so a rolled-back command was
 * answered ok ("handler failed after its commit"), and the cloud's snapshot later found keys
 * the hub did not hold. It must be answered `internal` with a message naming the full disk,
 * left unstored, and applied exactly once when the cloud sends the same id again.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataDisk } from "../../../chaos/disk.js";
import { Dispatcher } from "../../../src/cloud/dispatcher.js";
import type { Store } from "../../../src/store/index.js";
import { commandHarness, door, keyUpsert, silentLog, site, type CommandHarness } from "../../helpers/cloud.js";

/**
 * The store as the hub has it, but while `failure` gives an error every transaction's commit
 * fails with it after its body ran (thrown from inside, so SQLite rolls the body back, as a
 * failed COMMIT does), and so does a response stored on its own (`inbox.put`).
 */
function failingCommits(store: Store, failure: () => Error | undefined): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "transaction") {
        return <T>(fn: () => T): T =>
          target.transaction(() => {
            const out = fn();
            const e = failure();
            if (e) throw e;
            return out;
          });
      }
      if (prop === "inbox" && failure()) {
        return { ...target.inbox, get: (id: string) => target.inbox.get(id), put: () => { throw failure(); } };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  }) as Store;
}

const dispatcherOn = (h: CommandHarness, store: Store) => new Dispatcher({ store, registry: h.registry, clock: h.clock, log: silentLog, emit: (e) => h.outbox.emit(e) });

/** SQLite's error for a full disk, as better-sqlite3 throws it. */
const diskFull = () => Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });

describe("dispatcher on a full data disk", () => {
  let h: CommandHarness;
  let full = false;
  let dispatcher: Dispatcher;
  beforeEach(() => {
    h = commandHarness();
    full = false;
    dispatcher = dispatcherOn(h, failingCommits(h.store, () => (full ? diskFull() : undefined)));
  });
  afterEach(() => h.cleanup());

  const send = async (cmd: Record<string, unknown>) => (await dispatcher.dispatch(JSON.stringify({ ts: new Date(h.clock.now()).toISOString(), ...cmd }))).response;

  it("answers internal naming the full disk, stores nothing, and applies the resent id once after space returns", async () => {
    await send({ id: "c-site", ...site() });
    await send({ id: "c-door", ...door("room-101") });
    full = true;
    const refused = await send({ id: "c-key", ...keyUpsert("k-1", 1) });
    expect(refused).toMatchObject({ id: "c-key", ok: false, error: { code: "internal" } });
    expect(refused.ok ? "" : refused.error.message).toMatch(/data disk is full.*send it again with the same id/);
    expect(h.store.keys.get("k-1")).toBeUndefined();
    expect(h.store.inbox.get("c-key")).toBeUndefined();
    // A read answers while the disk is full (its response cannot be stored; it needs not be).
    expect(await send({ id: "c-status", cmd: "status.get" })).toMatchObject({ ok: true });

    full = false;
    const applied = await send({ id: "c-key", ...keyUpsert("k-1", 1) });
    expect(applied).toMatchObject({ id: "c-key", ok: true, result: { keyId: "k-1", version: 1 } });
    const again = await dispatcher.dispatch(JSON.stringify({ id: "c-key", ts: new Date(h.clock.now()).toISOString(), ...keyUpsert("k-1", 1) }));
    expect(again).toMatchObject({ duplicate: true, response: { ok: true } });
    expect(h.store.keys.ids()).toEqual(["k-1"]);
  });
});

/** SQLite's "disk I/O error", as better-sqlite3 throws it when the WAL or its index cannot grow. */
const diskIoError = () => Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR_WRITE" });

/**
 * Found by the 30-minute chaos run at 2a5a6b3: on a full disk SQLite failed a snapshot page's
 * writes with "disk I/O error", not SQLITE_FULL, and the page was answered "internal error: the
 * hub could not store the command", which tells the cloud nothing; it did not resend, and the
 * page was never applied. An I/O error while the store's disk has no room is the full disk.
 */
const root = mkdtempSync(join(tmpdir(), "lb-dispatch-ioerr-"));
const disk = DataDisk.mount(join(root, "data"), 8);
if (!disk) rmSync(root, { recursive: true, force: true });

describe.skipIf(!disk)("dispatcher: a disk I/O error (root: the store on a tmpfs)", () => {
  it("is the full disk's resend answer while the store's disk has no room, and a plain internal error otherwise", async () => {
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = disk!.dir; // the harness's store is made under os.tmpdir()
    const h = commandHarness();
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
    try {
      let failing = false;
      const dispatcher = dispatcherOn(h, failingCommits(h.store, () => (failing ? diskIoError() : undefined)));
      const send = async (cmd: Record<string, unknown>) => (await dispatcher.dispatch(JSON.stringify({ ts: new Date(h.clock.now()).toISOString(), ...cmd }))).response;
      await send({ id: "c-site", ...site() });
      await send({ id: "c-door", ...door("room-101") });

      failing = true;
      const broken = await send({ id: "c-key-1", ...keyUpsert("k-1", 1) });
      expect(broken).toMatchObject({ ok: false, error: { code: "internal" } });
      expect(broken.ok ? "" : broken.error.message).not.toMatch(/disk is full/);

      disk!.fill();
      const refused = await send({ id: "c-key-2", ...keyUpsert("k-2", 1) });
      expect(refused).toMatchObject({ id: "c-key-2", ok: false, error: { code: "internal" } });
      expect(refused.ok ? "" : refused.error.message).toMatch(/data disk is full.*send it again with the same id/);
      expect(h.store.inbox.get("c-key-2")).toBeUndefined();

      disk!.free();
      failing = false;
      expect(await send({ id: "c-key-2", ...keyUpsert("k-2", 1) })).toMatchObject({ id: "c-key-2", ok: true, result: { keyId: "k-2" } });
      expect(h.store.keys.ids()).toEqual(["k-2"]);
    } finally {
      h.cleanup();
      disk!.unmount();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
