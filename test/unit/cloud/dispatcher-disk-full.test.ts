/**
 * A command whose COMMIT fails for lack of space (SQLITE_FULL once the handler's writes and
 * its response are in the transaction). Found by the chaos run's "data disk full" fault: the
 * dispatcher took the response from inside the transaction, so a rolled-back command was
 * answered ok ("handler failed after its commit"), and the cloud's snapshot later found keys
 * the hub did not hold. It must be answered `internal` with a message naming the full disk,
 * left unstored, and applied exactly once when the cloud sends the same id again.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Dispatcher } from "../../../src/cloud/dispatcher.js";
import type { Store } from "../../../src/store/index.js";
import { commandHarness, door, keyUpsert, silentLog, site, type CommandHarness } from "../../helpers/cloud.js";

/** SQLite's error for a full disk, as better-sqlite3 throws it. */
const diskFull = () => Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });

describe("dispatcher on a full data disk", () => {
  let h: CommandHarness;
  let full = false;
  let dispatcher: Dispatcher;
  beforeEach(() => {
    h = commandHarness();
    full = false;
    // The store as the hub has it, but while `full` every transaction's commit fails after
    // its body ran: thrown from inside, so SQLite rolls the body back, as a failed COMMIT does.
    const store = new Proxy(h.store, {
      get(target, prop, receiver) {
        if (prop === "transaction") {
          return <T>(fn: () => T): T =>
            target.transaction(() => {
              const out = fn();
              if (full) throw diskFull();
              return out;
            });
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    }) as Store;
    dispatcher = new Dispatcher({ store, registry: h.registry, clock: h.clock, log: silentLog, emit: (e) => h.outbox.emit(e) });
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
