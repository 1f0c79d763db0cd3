/** sync.snapshot through the dispatcher on a real store: paging, replacement in one step, counts, expiry, versions. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { commandHarness, type CommandHarness } from "../../helpers/cloud.js";

const siteParams = { siteId: "site-1", timezone: "Europe/Prague" };
const doorP = (doorId: string, over: Record<string, unknown> = {}) => ({ doorId, name: doorId, kind: "room", ...over });
const keyP = (keyId: string, version: number, doorIds: string[], over: Record<string, unknown> = {}) => ({
  keyId,
  version,
  source: "manual",
  doors: doorIds.map((doorId) => ({ doorId, accessPeriod: { from: "2026-12-01", to: "2026-12-03" }, arrivalTime: "15:00", departureTime: "11:00" })),
  ...over,
});
const page = (snapshotId: string, n: number, pages: number, body: Record<string, unknown>) => ({ cmd: "sync.snapshot", snapshotId, page: n, pages, ...body });

describe("sync.snapshot", () => {
  let h: CommandHarness;
  beforeEach(() => (h = commandHarness()));
  afterEach(() => h.cleanup());

  it("collects pages, then replaces the whole desired state in one step and counts what changed", async () => {
    await h.send({ cmd: "site.configure", ...siteParams });
    await h.send({ cmd: "door.upsert", ...doorP("old-room") });
    await h.send({ cmd: "door.upsert", ...doorP("room-1"), name: "Old name" });
    await h.send({ cmd: "keycards.upsert", cards: [{ cardId: "old-card", uid: "01020304", label: "" }] });
    await h.send({ cmd: "key.upsert", ...keyP("k-old", 1, ["old-room"]) });
    await h.send({ cmd: "key.upsert", ...keyP("k-1", 1, ["room-1"]) });
    expect(h.store.keys.count()).toBe(2);

    const p1 = await h.send(page("s1", 1, 3, { site: { ...siteParams, doorCodeLength: 8 }, doors: [doorP("lobby", { kind: "common" }), doorP("room-1", { linkedDoorIds: ["lobby"] })] }));
    expect(p1).toMatchObject({ ok: true, result: { received: 1 } });
    expect(h.store.doors.get("lobby")).toBeUndefined(); // nothing applied before the last page
    expect(await h.send(page("s1", 2, 3, { keycards: [{ cardId: "card-1", uid: "0A0B0C0D", label: "1" }] }))).toMatchObject({ ok: true, result: { received: 2 } });
    const last = await h.send(page("s1", 3, 3, { keys: [keyP("k-1", 2, ["room-1"], { keycard: { enabled: true, cardId: "card-1" } }), keyP("k-2", 1, ["lobby"])] }));
    expect(last).toMatchObject({
      ok: true,
      result: {
        doors: { added: 1, updated: 1, removed: 1 },
        keys: { added: 1, updated: 1, removed: 1, stale: 0 },
        keycards: { added: 1, updated: 0, removed: 1 },
        added: 3,
        updated: 2,
        removed: 3,
        site: "replaced",
      },
    });
    expect(h.store.doors.ids()).toEqual(["lobby", "room-1"]);
    expect(h.store.keys.ids()).toEqual(["k-1", "k-2"]);
    expect(h.store.keys.get("k-old")?.removedAt).not.toBeNull();
    expect(h.store.keycards.list().map((c) => [c.cardId, c.assignedKeyId])).toEqual([["card-1", "k-1"]]);
    expect(h.store.site.get()?.doorCodeLength).toBe(8);
    expect(h.changed.keys.has("k-old")).toBe(true);
  });

  it("changes nothing when the assembled snapshot is inconsistent, naming the page and field", async () => {
    await h.send({ cmd: "site.configure", ...siteParams });
    await h.send(page("s2", 1, 2, { doors: [doorP("room-1")] }));
    const bad = await h.send(page("s2", 2, 2, { keys: [keyP("k-1", 1, ["room-404"])] }));
    expect(bad).toMatchObject({ ok: false, error: { code: "unknown_door", path: "page2.keys[0].doors[0].doorId" } });
    expect(h.store.doors.ids()).toEqual([]);
    expect(h.store.keys.count()).toBe(0);
  });

  it("drops an unfinished snapshot when another starts, and pages older than 10 minutes", async () => {
    await h.send({ cmd: "site.configure", ...siteParams });
    await h.send(page("s3", 1, 2, { doors: [doorP("room-a")] }));
    await h.send(page("s4", 1, 2, { doors: [doorP("room-b")] })); // a newer snapshot starts
    expect(await h.send(page("s3", 2, 2, {}))).toMatchObject({ ok: true, result: { received: 2 } }); // s3 page 1 is gone
    h.clock.advance(11 * 60 * 1000);
    expect(await h.send(page("s3", 1, 2, { doors: [doorP("room-a")] }))).toMatchObject({ result: { received: 1 } }); // page 2 expired
    expect(await h.send(page("s3", 2, 2, {}))).toMatchObject({ ok: true, result: { added: 1 } });
    expect(h.store.doors.ids()).toEqual(["room-a"]);
  });

  it("refuses pages that disagree on the page count, and keeps newer keys (version rule)", async () => {
    await h.send({ cmd: "site.configure", ...siteParams });
    await h.send({ cmd: "door.upsert", ...doorP("room-1") });
    await h.send(page("s5", 1, 2, { doors: [doorP("room-1")] }));
    expect(await h.send(page("s5", 2, 3, {}))).toMatchObject({ ok: false, error: { code: "invalid_payload", path: "pages" } });
    // A key.upsert arrives between the pages, newer than what the snapshot carries.
    await h.send({ cmd: "key.upsert", ...keyP("k-1", 7, ["room-1"]) });
    expect(await h.send(page("s5", 2, 2, { keys: [keyP("k-1", 6, ["room-1"])] }))).toMatchObject({ ok: true, result: { keys: { stale: 1, updated: 0 } } });
    expect(h.store.keys.get("k-1")?.version).toBe(7);
    expect(await h.send(page("s6", 3, 2, {}))).toMatchObject({ ok: false, error: { code: "invalid_payload", path: "page" } });
  });

  it("needs a site: in the snapshot or already configured", async () => {
    expect(await h.send(page("s7", 1, 1, { doors: [doorP("room-1")] }))).toMatchObject({ ok: false, error: { code: "unknown_site" } });
    expect(await h.send(page("s8", 1, 1, { site: siteParams, doors: [doorP("room-1")] }))).toMatchObject({ ok: true, result: { site: "replaced", added: 1 } });
  });
});
