import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defineHandler } from "../../../src/cloud/registry.js";
import { createLogger } from "../../../src/shared/logger.js";
import type { CommandResponse } from "../../../src/cloud/responses.js";
import { cloudKeyPair, commandHarness, door, keyUpsert, nextId, signCommand, site, type CommandHarness } from "../../helpers/cloud.js";

const errorOf = (r: CommandResponse) => (r.ok ? undefined : r.error);

describe("dispatcher: delivery rules", () => {
  let h: CommandHarness;
  beforeEach(() => (h = commandHarness()));
  afterEach(() => h.cleanup());

  it("answers a payload that is not JSON, or has no usable id, with id null", async () => {
    expect((await h.sendRaw("{not json")).response).toMatchObject({ id: null, ok: false, error: { code: "invalid_payload" } });
    expect((await h.sendRaw("[1,2]")).response).toMatchObject({ id: null, ok: false, error: { code: "invalid_payload" } });
    expect((await h.sendRaw(JSON.stringify({ cmd: "status.get" }))).response).toMatchObject({ id: null, cmd: "status.get", error: { code: "invalid_payload", path: "id" } });
    expect((await h.sendRaw(JSON.stringify({ id: "x".repeat(65), cmd: "status.get" }))).response).toMatchObject({ id: null, error: { path: "id" } });
    expect(h.store.inbox.count()).toBe(0);
  });

  it("names the first bad field in invalid_payload, unknown fields included", async () => {
    await h.send(site());
    await h.send(door("room-101"));
    const bad = await h.send(keyUpsert("k-1", 1, { doors: [{ doorId: "room-101", accessPeriod: { from: "2026-13-01", to: "2026-12-04" }, arrivalTime: "15:00", departureTime: "10:00" }] }));
    expect(errorOf(bad)).toMatchObject({ code: "invalid_payload", path: "doors[0].accessPeriod.from" });
    const typo = await h.send(keyUpsert("k-1", 1, { protectConfig: true }));
    expect(errorOf(typo)).toMatchObject({ code: "invalid_payload", path: "protectConfig" });
    const envelope = await h.send({ cmd: "status.get", ts: "yesterday" });
    expect(errorOf(envelope)).toMatchObject({ code: "invalid_payload", path: "ts" });
    expect(h.store.keys.get("k-1")).toBeUndefined();
  });

  it("answers unknown_command, and a command id seen before gets the stored response without applying it again", async () => {
    expect(errorOf(await h.send({ cmd: "lock.explode" }))).toMatchObject({ code: "unknown_command", path: "cmd" });
    await h.send(site());
    await h.send(door("room-101"));
    const id = nextId();
    const first = await h.sendRaw(JSON.stringify({ id, ts: new Date(h.clock.now()).toISOString(), ...keyUpsert("k-1", 1) }));
    expect(first).toMatchObject({ duplicate: false, response: { id, ok: true, result: { keyId: "k-1", version: 1 } } });
    // The same id with other content: not applied; the first answer comes back.
    h.clock.advance(60_000);
    const again = await h.sendRaw(JSON.stringify({ id, ts: new Date(h.clock.now()).toISOString(), ...keyUpsert("k-1", 7) }));
    expect(again.duplicate).toBe(true);
    expect(again.response).toEqual(first.response);
    expect(h.store.keys.get("k-1")?.version).toBe(1);
  });

  it("answers stale versions with ok and result.stale, changing nothing", async () => {
    await h.send(site());
    await h.send(door("room-101"));
    await h.send(keyUpsert("k-1", 5));
    const stale = await h.send(keyUpsert("k-1", 4, { holder: { name: "Someone else" } }));
    expect(stale).toMatchObject({ ok: true, result: { keyId: "k-1", version: 5, stale: true } });
    expect(h.store.keys.get("k-1")?.holder?.name).toBe("Guest");
    expect(await h.send({ cmd: "key.remove", keyId: "k-1", version: 3 })).toMatchObject({ ok: true, result: { stale: true } });
    expect(h.store.keys.get("k-1")?.removedAt).toBeNull();
    const removed = await h.send({ cmd: "key.remove", keyId: "k-1", version: 6 });
    expect(removed).toMatchObject({ ok: true, result: { keyId: "k-1", state: "revoked" } });
    // A late upsert at the removal's version (or older) does not bring the key back.
    expect(await h.send(keyUpsert("k-1", 6))).toMatchObject({ ok: true, result: { stale: true } });
    expect(h.store.keys.get("k-1")?.removedAt).not.toBeNull();
    expect(await h.send(keyUpsert("k-1", 7))).toMatchObject({ ok: true, result: { version: 7 } });
    expect(h.store.keys.get("k-1")?.removedAt).toBeNull();
  });

  it("refuses expired commands, and door.unlock 30 s after its ts even without expiresAt", async () => {
    const past = new Date(h.clock.now() - 1000).toISOString();
    expect(errorOf(await h.send({ ...site(), expiresAt: past }))).toMatchObject({ code: "expired", path: "expiresAt" });
    expect(h.store.site.get()).toBeUndefined();
    const ts = new Date(h.clock.now() - 31_000).toISOString();
    expect(errorOf(await h.send({ cmd: "door.unlock", doorId: "room-101", seconds: 5, ts }))).toMatchObject({ code: "expired" });
    // A fresh one reaches its handler.
    expect(await h.send({ cmd: "door.unlock", doorId: "room-101", seconds: 5 })).toMatchObject({ ok: true, result: { reached: "door.unlock" } });
  });

  it("a handler's log lines name the command they belong to (its id and cmd)", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ level: "info", destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
    const logged = commandHarness({ log });
    try {
      logged.registry.register("status.get", defineHandler("status.get", (_cmd, ctx) => {
        ctx.log.info({ detail: 1 }, "handler says");
        ctx.log.warn("and again");
        return { result: {} };
      }));
      const id = nextId();
      await logged.sendRaw(JSON.stringify({ id, cmd: "status.get", ts: new Date(logged.clock.now()).toISOString() }));
      const said = lines.filter((l) => l.msg === "handler says" || l.msg === "and again");
      expect(said).toHaveLength(2);
      for (const line of said) expect(line).toMatchObject({ commandId: id, cmd: "status.get" });
    } finally {
      logged.cleanup();
    }
  });

  it("contains a handler that throws or hangs: answered internal, the next command works", async () => {
    h.registry.register("status.get", defineHandler("status.get", () => {
      throw new TypeError("boom");
    }));
    expect(errorOf(await h.send({ cmd: "status.get" }))).toMatchObject({ code: "internal", message: "internal error" });
    h.registry.register("status.get", defineHandler("status.get", () => new Promise(() => undefined), { timeoutMs: 5000 }));
    const pending = h.send({ cmd: "status.get" });
    h.clock.advance(5000);
    expect(errorOf(await pending)).toMatchObject({ code: "internal", message: "command timed out after 5 s" });
    expect(await h.send(site())).toMatchObject({ ok: true });
  });

  it("commits a handler's writes, events and stored response together, or none of them", async () => {
    h.registry.register("door.remove", defineHandler("door.remove", (cmd, ctx) =>
      ctx.commit(() => {
        ctx.emit({ type: "door.closed", doorId: cmd.doorId });
        h.store.doors.remove(cmd.doorId);
        if (cmd.doorId === "room-101") throw new TypeError("fails after writing");
        return { result: {} };
      }),
    ));
    await h.send(door("room-101"));
    await h.send(door("room-102"));
    const id = nextId();
    const failed = await h.sendRaw(JSON.stringify({ id, cmd: "door.remove", doorId: "room-101", ts: new Date(h.clock.now()).toISOString() }));
    expect(failed.response).toMatchObject({ ok: false, error: { code: "internal" } });
    expect(h.store.doors.get("room-101")).toBeDefined();
    expect(h.store.outbox.lastSeq()).toBe(0);
    expect(h.store.inbox.get(id)?.response).toEqual(failed.response);
    await h.send({ cmd: "door.remove", doorId: "room-102" });
    expect(h.store.doors.get("room-102")).toBeUndefined();
    expect(h.store.outbox.pending(10).map((e) => e.event)).toMatchObject([{ seq: 1, type: "door.closed", doorId: "room-102" }]);
  });
});

describe("dispatcher: signed commands", () => {
  const cloud = cloudKeyPair();
  let h: CommandHarness;
  beforeEach(() => (h = commandHarness({ commandKey: cloud.publicKey })));
  afterEach(() => h.cleanup());

  const unlock = (over: Record<string, unknown> = {}) => ({ id: nextId(), cmd: "door.unlock", ts: new Date(h.clock.now()).toISOString(), doorId: "room-101", seconds: 5, ...over });

  it("needs a valid sig over the canonical JSON and a ts within 5 minutes", async () => {
    expect(errorOf(await h.send(unlock()))).toMatchObject({ code: "unauthorized", path: "sig" });
    const signed = signCommand(unlock(), cloud.privateKey);
    expect(await h.send(signed)).toMatchObject({ ok: true, result: { reached: "door.unlock" } });
    // Key order and whitespace do not matter: the signature covers the canonical form.
    const reordered = JSON.parse(JSON.stringify(signCommand(unlock(), cloud.privateKey), Object.keys(signed).reverse(), 2)) as Record<string, unknown>;
    expect(await h.send(reordered)).toMatchObject({ ok: true, result: { reached: "door.unlock" } });
    const tampered = { ...signCommand(unlock(), cloud.privateKey), seconds: 30 };
    expect(errorOf(await h.send(tampered))).toMatchObject({ code: "unauthorized", path: "sig" });
    const other = cloudKeyPair();
    expect(errorOf(await h.send(signCommand(unlock(), other.privateKey)))).toMatchObject({ code: "unauthorized", path: "sig" });
    const old = signCommand(unlock({ ts: new Date(h.clock.now() - 301_000).toISOString(), expiresAt: new Date(h.clock.now() + 60_000).toISOString() }), cloud.privateKey);
    expect(errorOf(await h.send(old))).toMatchObject({ code: "unauthorized", path: "ts" });
    const ahead = signCommand({ ...site(), id: nextId(), ts: new Date(h.clock.now() + 301_000).toISOString() }, cloud.privateKey);
    expect(errorOf(await h.send(ahead))).toMatchObject({ code: "unauthorized", path: "ts" });
    expect(h.store.site.get()).toBeUndefined();
  });

  it("refuses a door.unlock dated more than 5 minutes ahead as invalid_payload, signed or not", async () => {
    const future = signCommand(unlock({ ts: new Date(h.clock.now() + 301_000).toISOString() }), cloud.privateKey);
    expect(errorOf(await h.send(future))).toMatchObject({ code: "invalid_payload", path: "ts" });
    const unkeyed = commandHarness();
    try {
      const in2030 = { id: nextId(), cmd: "door.unlock", ts: "2030-01-01T00:00:00Z", doorId: "room-101", seconds: 5 };
      expect(errorOf(await unkeyed.send(in2030))).toMatchObject({ code: "invalid_payload", path: "ts", message: expect.stringContaining("ahead") });
    } finally {
      unkeyed.cleanup();
    }
  });

  it("needs sig on every state-changing command; only status.get, diagnose, keycards.list, events.resend may come unsigned", async () => {
    for (const c of [site(), door("room-101"), keyUpsert("k-1", 1), { cmd: "keycards.upsert", cards: [{ cardId: "c1", uid: "04a1b2c3" }] }, { cmd: "lock.commission", lockId: "4c42000000000001", profile: "p", link: { type: "tcp", host: "10.0.0.9", port: 4001, address: 1 } }]) {
      expect(errorOf(await h.send(c)), String(c.cmd)).toMatchObject({ code: "unauthorized", path: "sig" });
    }
    expect(h.store.site.get()).toBeUndefined();
    expect(h.store.keys.ids()).toEqual([]);
    // Refusals are not stored: a flood of unsigned commands with fresh ids leaves the inbox as it was.
    expect(h.store.inbox.count()).toBe(0);
    expect(await h.send(signCommand({ ...site(), id: nextId(), ts: new Date(h.clock.now()).toISOString() }, cloud.privateKey))).toMatchObject({ ok: true });
    expect(await h.send({ cmd: "status.get" })).toMatchObject({ ok: true });
    expect(await h.send({ cmd: "keycards.list" })).toMatchObject({ ok: true });
    expect(await h.send({ cmd: "events.resend", fromSeq: 0 })).toMatchObject({ ok: true });
  });

  it("checks lock.decommission and firmware.update too, but not read-only commands", async () => {
    const decommission = { id: nextId(), cmd: "lock.decommission", ts: new Date(h.clock.now()).toISOString(), lockId: "4C42000000000001", wipe: true };
    expect(errorOf(await h.send(decommission))).toMatchObject({ code: "unauthorized" });
    const fw = { id: nextId(), cmd: "firmware.update", ts: new Date(h.clock.now()).toISOString(), jobId: "j1", lockIds: ["4C42000000000001"], version: "2.0.0", url: "https://fw.example/x.bin", sha256: "a".repeat(64), size: 1024 };
    expect(errorOf(await h.send(fw))).toMatchObject({ code: "unauthorized" });
    expect(await h.send(signCommand({ ...fw, id: nextId() }, cloud.privateKey))).toMatchObject({ ok: true, result: { reached: "firmware.update" } });
    expect(await h.send({ cmd: "status.get" })).toMatchObject({ ok: true });
  });
});

describe("dispatcher: size limits", () => {
  let h: CommandHarness;
  beforeEach(() => (h = commandHarness()));
  afterEach(() => h.cleanup());

  it("refuses a payload over 128 KiB unread: payload_too_large, id null, nothing stored", async () => {
    const id = nextId();
    const big = JSON.stringify({ ...site(), id, ts: new Date(h.clock.now()).toISOString(), siteId: "x".repeat(128 * 1024) });
    const { response } = await h.sendRaw(big);
    expect(response).toMatchObject({ id: null, cmd: null, ok: false, error: { code: "payload_too_large" } });
    expect(JSON.stringify(response).length).toBeLessThan(300);
    expect(h.store.inbox.count()).toBe(0);
    expect(h.store.site.get()).toBeUndefined();
    // Just under the limit is parsed (and refused for its own reason).
    const under = JSON.stringify({ ...site(), id: nextId(), ts: new Date(h.clock.now()).toISOString(), siteId: "x".repeat(100 * 1024) });
    expect((await h.sendRaw(under)).response).toMatchObject({ ok: false, error: { code: "invalid_payload", path: "siteId" } });
  });

  it("bounds id, cmd and every string; messages quote at most 64 characters of the input", async () => {
    expect((await h.sendRaw(JSON.stringify({ id: "i".repeat(65), cmd: "status.get", ts: new Date(h.clock.now()).toISOString() }))).response).toMatchObject({ id: null, error: { code: "invalid_payload", path: "id" } });
    const longCmd = await h.send({ cmd: "c".repeat(5000) });
    expect(longCmd).toMatchObject({ cmd: null, error: { code: "invalid_payload", path: "cmd" } });
    expect(JSON.stringify(longCmd).length).toBeLessThan(400);
    const field = "f".repeat(5000);
    const unknownField = await h.send({ cmd: "status.get", [field]: 1 });
    expect(unknownField).toMatchObject({ error: { code: "invalid_payload" } });
    expect(JSON.stringify(unknownField).length).toBeLessThan(400);
    expect(errorOf(await h.send(door("room-101", { name: "n".repeat(201) })))).toMatchObject({ path: "name" });
    expect(errorOf(await h.send(door("d".repeat(129))))).toMatchObject({ path: "doorId" });
    expect(errorOf(await h.send(keyUpsert("k-1", 1, { holder: { name: "h".repeat(201) } })))).toMatchObject({ path: "holder.name" });
  });
});
