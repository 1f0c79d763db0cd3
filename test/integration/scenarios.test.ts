/**
 * The portal troubleshooting article (shared/seed/portal-key-troubleshooting.txt), scenario by
 * scenario, end to end: real command layer, engine, lock sessions over TCP, simulated locks.
 * Each test shows the key status the article describes (state and reason), applies the fix
 * the article gives, and then a simulated guest opens the door (ACCESS_GRANTED mapped to the
 * key -> access.granted in the outbox).
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ed25519RawPublicKey } from "../../sim/index.js";
import { codeOf, keyPayload, localDate, withProperty, type Property } from "../helpers/property.js";

const SOURCES = ["manual", "pms"] as const;
type Source = (typeof SOURCES)[number];

/** PMS keys carry their reservation and work once checked in. */
function sourced(source: Source, checkedIn = true): Record<string, unknown> {
  return source === "pms" ? { source: "pms", pms: { provider: "mews", reservationId: "R-1" }, checkedIn } : { source: "manual", checkedIn };
}

async function grantedEvent(p: Property, doorId: string, keyId: string, credential: string): Promise<void> {
  const e = await p.waitFor(`access.granted ${keyId} on ${doorId}`, () =>
    p.events("access.granted").find((x) => x.doorId === doorId && x.keyId === keyId && x.credential === credential),
  );
  expect(e.lockId).toBe(p.lockIdOf(doorId));
}

const door = <D extends { doorId: string }>(s: { doors: D[] }, doorId: string): D => {
  const d = s.doors.find((x) => x.doorId === doorId);
  if (!d) throw new Error(`no door ${doorId} in ${JSON.stringify(s)}`);
  return d;
};

const CARD_A = { cardId: "card-a", uid: "04a1b2c3d4e5f6", label: "Card 1" };
const CARD_B = { cardId: "card-b", uid: "04aabbccddeeff", label: "Card 2" };
const CARD_C = { cardId: "card-c", uid: "0411223344", label: "Card 3" };

describe("A1/B: Smart Key enabled and ready; the guest's activated phone opens the door", () => {
  it.each(SOURCES)("%s key", async (source) => {
    await withProperty({ rooms: 1, commons: ["lobby"] }, async (p) => {
      const phone = generateKeyPairSync("ed25519").privateKey;
      const publicKey = ed25519RawPublicKey(phone).toString("base64");
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], { ...sourced(source), smartKey: { enabled: true, publicKey } }));
      const s = await p.waitForKey("k-1", (x) => x.smartKey.state === "ready");
      expect(s.state).toBe("active");
      // "ready to use": the issue is the guest's activation. A phone without the activated key is refused...
      const stranger = generateKeyPairSync("ed25519").privateKey;
      expect(p.sim("room-101").phoneUnlock(stranger).granted).toBe(false);
      // ...the activated one opens room and lobby.
      expect(p.sim("room-101").phoneUnlock(phone).granted).toBe(true);
      expect(p.sim("lobby").phoneUnlock(phone).granted).toBe(true);
      await grantedEvent(p, "room-101", "k-1", "smartKey");
      await grantedEvent(p, "lobby", "k-1", "smartKey");
    });
  });
});

describe("A2/B9: Door Code enabled but no code assigned", () => {
  it.each(SOURCES)("%s key, lock offline: unassigned (lock_offline); once online the regenerated code opens the door", async (source) => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      p.sim("room-101").setOffline(true);
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], sourced(source)));
      const s = await p.waitForKey("k-1", (x) => x.doorCode.state === "unassigned");
      expect(s.doorCode).toEqual({ state: "unassigned", reason: "lock_offline" });
      expect(door(s, "room-101")).toMatchObject({ state: "pending", reasons: ["lock_offline"] });
      // Fix: the lock comes back online, then Regenerate.
      p.sim("room-101").setOffline(false);
      const before = codeOf(await p.waitForKey("k-1", (x) => x.state === "active"));
      const regenerated = await p.ok("doorcode.regenerate", { keyId: "k-1" });
      const after = await p.waitForKey("k-1", (x) => x.state === "active" && x.doorCode.code !== before);
      expect(regenerated.doorCode).toMatchObject({ state: "assigned" });
      const code = codeOf(after);
      expect(p.sim("room-101").enterCode(before).granted).toBe(false);
      expect(p.sim("room-101").enterCode(code).granted).toBe(true);
      await grantedEvent(p, "room-101", "k-1", "doorCode");
    });
  });

  it.each(SOURCES)("%s key, strict code held by another key: unassigned (code_unavailable), failed door; regenerate (random) fixes it", async (source) => {
    await withProperty({ rooms: 1, commons: ["lobby"] }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-other", ["room-101"], { doorCode: { enabled: true, assignment: "strict", code: "482916" } }));
      await p.waitForKey("k-other", (x) => x.state === "active");
      const res = await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], { ...sourced(source), doorCode: { enabled: true, assignment: "strict", code: "482916" } }));
      expect(res.warnings?.join(" ")).toMatch(/already used/);
      const s = await p.waitForKey("k-1", (x) => x.doorCode.state === "unassigned");
      expect(s.doorCode).toEqual({ state: "unassigned", reason: "code_unavailable" });
      expect(door(s, "room-101")).toMatchObject({ state: "failed", reasons: ["code_unavailable"] });
      // Strict regenerate with the same taken code is refused, nothing changes.
      const refused = await p.send("doorcode.regenerate", { keyId: "k-1", assignment: "strict", code: "482916" });
      expect(refused).toMatchObject({ ok: false, error: { code: "code_unavailable" } });
      // Fix: Random (recommended), Update.
      await p.ok("doorcode.regenerate", { keyId: "k-1", assignment: "random" });
      const fixed = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(codeOf(fixed)).not.toBe("482916");
      expect(p.sim("room-101").enterCode(codeOf(fixed)).granted).toBe(true);
      await grantedEvent(p, "room-101", "k-1", "doorCode");
    });
  });

  it("preferred code taken: a random code is assigned with a warning, and it works", async () => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-other", ["room-101"], { doorCode: { enabled: true, assignment: "strict", code: "739164" } }));
      const res = await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], { doorCode: { enabled: true, assignment: "preferred", code: "739164" } }));
      expect(res.warnings?.join(" ")).toMatch(/random code was assigned/);
      const s = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(codeOf(s)).not.toBe("739164");
      expect(p.sim("room-101").enterCode(codeOf(s)).granted).toBe(true);
      await grantedEvent(p, "room-101", "k-1", "doorCode");
    });
  });
});

describe("A3: wrong keycard assigned — replace it", () => {
  it.each(SOURCES)("%s key", async (source) => {
    await withProperty({ rooms: 1, commons: ["lobby"] }, async (p) => {
      await p.ok("keycards.upsert", { cards: [CARD_A, CARD_B, CARD_C] });
      await p.ok("key.upsert", keyPayload(p, "k-other", ["room-101"], { doorCode: { enabled: false, assignment: "random" }, keycard: { enabled: true, cardId: "card-c" } }));
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], { ...sourced(source), keycard: { enabled: true, cardId: "card-a" } }));
      const s = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(s.keycard).toEqual({ state: "assigned", cardId: "card-a" });
      expect(p.sim("room-101").presentCard(CARD_A.uid).granted).toBe(true);
      // Replace: only unused cards appear, the assigned one first.
      const list = await p.ok("keycards.list", { forKeyId: "k-1" });
      expect((list.cards as { cardId: string }[]).map((c) => c.cardId)).toEqual(["card-a", "card-b"]);
      const inUse = await p.send("keycard.replace", { keyId: "k-1", cardId: "card-c" });
      expect(inUse).toMatchObject({ ok: false, error: { code: "keycard_in_use" } });
      await p.ok("keycard.replace", { keyId: "k-1", cardId: "card-b" });
      const fixed = await p.waitForKey("k-1", (x) => x.state === "active" && x.keycard.cardId === "card-b");
      expect(fixed.keycard).toEqual({ state: "assigned", cardId: "card-b" });
      await p.settle();
      // The wrong card no longer opens anything; the new one opens room and lobby.
      expect(p.sim("room-101").presentCard(CARD_A.uid).granted).toBe(false);
      expect(p.sim("lobby").presentCard(CARD_A.uid).granted).toBe(false);
      expect(p.sim("room-101").presentCard(CARD_B.uid).granted).toBe(true);
      expect(p.sim("lobby").presentCard(CARD_B.uid).granted).toBe(true);
      await grantedEvent(p, "lobby", "k-1", "keycard");
      const after = await p.ok("keycards.list", { forKeyId: "k-1" });
      expect((after.cards as { cardId: string }[]).map((c) => c.cardId)).toEqual(["card-b", "card-a"]);
    });
  });
});

describe("A4: door access time incorrect — edit the door's period and times", () => {
  it.each(SOURCES)("%s key", async (source) => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      // Entered for next week by mistake: the door works at the wrong time.
      await p.ok("key.upsert", keyPayload(p, "k-1", [{ doorId: "room-101", from: localDate(p, 7), to: localDate(p, 9), arrivalTime: "15:00" }], sourced(source)));
      const s = await p.waitForKey("k-1", (x) => x.state === "inactive" && x.doors[0]?.reasons[0] === "access_period_not_started");
      expect(door(s, "room-101").validFrom).toBe(`${localDate(p, 7)}T14:00:00Z`);
      await p.settle();
      const code = codeOf(s);
      const denied = p.sim("room-101").enterCode(code);
      expect(denied).toMatchObject({ granted: false, reason: 2 }); // outside its validity window
      await p.waitFor("access.denied outside window", () => p.events("access.denied").find((e) => e.keyId === "k-1" && e.reason === "outside_validity_window"));
      // Fix: Edit door -> access period and arrival time -> Update.
      await p.ok("key.upsert", keyPayload(p, "k-1", [{ doorId: "room-101", from: localDate(p, 0), to: localDate(p, 2), arrivalTime: "10:00" }], { ...sourced(source), version: 2 }));
      const fixed = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(door(fixed, "room-101").validFrom).toBe(`${localDate(p, 0)}T09:00:00Z`);
      expect(codeOf(fixed)).toBe(code); // the guest keeps the code
      expect(p.sim("room-101").enterCode(code).granted).toBe(true);
      await grantedEvent(p, "room-101", "k-1", "doorCode");
    });
  });
});

describe("A5: door shows pending provisioning", () => {
  it.each(SOURCES)("%s key, Allow Provisioning unchecked: pending (provisioning_disabled); enabling it opens the door", async (source) => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-1", [{ doorId: "room-101", allowProvisioning: false }], sourced(source)));
      const s = await p.waitForKey("k-1", (x) => x.doors[0]?.state === "pending");
      expect(door(s, "room-101")).toMatchObject({ state: "pending", reasons: ["provisioning_disabled"] });
      await p.settle();
      expect(p.sim("room-101").enterCode(codeOf(s)).granted).toBe(false);
      await p.ok("key.upsert", keyPayload(p, "k-1", [{ doorId: "room-101", allowProvisioning: true }], { ...sourced(source), version: 2 }));
      const fixed = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(p.sim("room-101").enterCode(codeOf(fixed)).granted).toBe(true);
      await grantedEvent(p, "room-101", "k-1", "doorCode");
    });
  });

  it.each(SOURCES)("%s key, lock offline: pending (lock_offline); applied automatically when it is back", async (source) => {
    await withProperty({ rooms: 1, commons: ["lobby"] }, async (p) => {
      p.sim("lobby").setOffline(true);
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], sourced(source)));
      const s = await p.waitForKey("k-1", (x) => door(x, "lobby").reasons.includes("lock_offline") && door(x, "room-101").state === "active");
      expect(door(s, "lobby")).toMatchObject({ state: "pending", reasons: ["lock_offline"], linked: true });
      expect(door(s, "room-101").state).toBe("active");
      expect(s.doorCode.state).toBe("assigned"); // on the room lock already
      await p.waitFor("lock.offline event", () => p.events("lock.offline").find((e) => e.lockId === p.lockIdOf("lobby")));
      p.sim("lobby").setOffline(false);
      const fixed = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(p.sim("lobby").enterCode(codeOf(fixed)).granted).toBe(true);
      await grantedEvent(p, "lobby", "k-1", "doorCode");
      expect(p.events("lock.online").some((e) => e.lockId === p.lockIdOf("lobby"))).toBe(true);
    });
  });
});

describe("B6: PMS key exists but is not active", () => {
  it("not checked in: inactive (not_checked_in), credentials exist; check-in makes it work", async () => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], sourced("pms", false)));
      const s = await p.waitForKey("k-1", (x) => x.state === "inactive");
      expect(door(s, "room-101")).toMatchObject({ state: "inactive", reasons: ["not_checked_in"] });
      expect(s.doorCode.state).toBe("assigned"); // "Credentials exist"
      await p.settle();
      expect(p.sim("room-101").enterCode(codeOf(s)).granted).toBe(false); // "Access does not work"
      await p.ok("key.checkin", { keyId: "k-1", checkedIn: true });
      const fixed = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(p.sim("room-101").enterCode(codeOf(fixed)).granted).toBe(true);
      await grantedEvent(p, "room-101", "k-1", "doorCode");
      // Check-out revokes: the code stops working.
      await p.ok("key.checkin", { keyId: "k-1", checkedIn: false });
      const out = await p.waitForKey("k-1", (x) => x.state === "revoked");
      expect(out.doors[0]?.state).toBe("revoked");
      expect(p.sim("room-101").enterCode(codeOf(fixed)).granted).toBe(false);
    });
  });

  it("provisioning disabled on the room: pending (provisioning_disabled); Update Portal Room -> Allow Provisioning fixes it", async () => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-1", [{ doorId: "room-101", allowProvisioning: false }], sourced("pms")));
      const s = await p.waitForKey("k-1", (x) => x.state === "pending");
      expect(door(s, "room-101").reasons).toEqual(["provisioning_disabled"]);
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], { ...sourced("pms"), version: 2 }));
      const fixed = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(p.sim("room-101").enterCode(codeOf(fixed)).granted).toBe(true);
      await grantedEvent(p, "room-101", "k-1", "doorCode");
    });
  });
});

describe("B7: common area door not accessible (linked doors)", () => {
  it.each(SOURCES)("%s key: without Allow Linked Doors Access the lobby refuses; enabling it opens the lobby", async (source) => {
    await withProperty({ rooms: 1, commons: ["lobby", "gym"] }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-1", [{ doorId: "room-101", allowLinkedDoorsAccess: false }], sourced(source)));
      const s = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(s.doors.map((d) => d.doorId)).toEqual(["room-101"]);
      const code = codeOf(s);
      expect(p.sim("room-101").enterCode(code).granted).toBe(true); // main room accessible
      expect(p.sim("lobby").enterCode(code).granted).toBe(false); // common area is not
      await p.ok("key.upsert", keyPayload(p, "k-1", [{ doorId: "room-101", allowLinkedDoorsAccess: true }], { ...sourced(source), version: 2 }));
      const fixed = await p.waitForKey("k-1", (x) => x.state === "active" && x.doors.length === 3);
      expect(fixed.doors.filter((d) => d.linked).map((d) => [d.doorId, d.state])).toEqual([["lobby", "active"], ["gym", "active"]]);
      expect(p.sim("lobby").enterCode(code).granted).toBe(true);
      expect(p.sim("gym").enterCode(code).granted).toBe(true);
      await grantedEvent(p, "lobby", "k-1", "doorCode");
      // And off again: the lobby credential is removed.
      await p.ok("key.upsert", keyPayload(p, "k-1", [{ doorId: "room-101", allowLinkedDoorsAccess: false }], { ...sourced(source), version: 3 }));
      await p.waitForKey("k-1", (x) => x.doors.length === 1 && x.state === "active");
      await p.settle();
      expect(p.sim("lobby").enterCode(code).granted).toBe(false);
    });
  });
});

describe("B8: PMS keeps overwriting door settings — Protect Configuration", () => {
  it("PMS changes apply until the room is protected; then they are refused with a warning, staff changes still apply", async () => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      const staff = { doorId: "room-101", from: localDate(p, -1), to: localDate(p, 3), departureTime: "12:00" };
      await p.ok("key.upsert", keyPayload(p, "k-1", [staff], { source: "manual" }));
      await p.waitForKey("k-1", (x) => x.state === "active");
      // The PMS overwrites the stay to end tomorrow morning: applied (not protected yet).
      const pmsShort = { doorId: "room-101", from: localDate(p, -1), to: localDate(p, 1), departureTime: "10:00" };
      await p.ok("key.upsert", keyPayload(p, "k-1", [pmsShort], { ...sourced("pms"), version: 2 }));
      const overwritten = await p.waitForKey("k-1", (x) => x.doors[0]?.validUntil === `${localDate(p, 1)}T09:00:00Z` && x.state === "active");
      expect(overwritten.state).toBe("active");
      // Fix: Update Portal Room -> Protect Configuration.
      await p.ok("door.upsert", { doorId: "room-101", name: "room-101", lockId: p.lockIdOf("room-101"), kind: "room", linkedDoorIds: p.commons, protectConfiguration: true });
      await p.ok("key.upsert", keyPayload(p, "k-1", [staff], { source: "manual", version: 3 }));
      await p.waitForKey("k-1", (x) => x.doors[0]?.validUntil === `${localDate(p, 3)}T11:00:00Z` && x.state === "active");
      const blocked = await p.ok("key.upsert", keyPayload(p, "k-1", [pmsShort], { ...sourced("pms"), version: 4 }));
      expect(blocked.warnings?.join(" ")).toMatch(/Protect Configuration/);
      const kept = await p.waitForKey("k-1", (x) => x.version === 4 && x.state === "active");
      expect(kept.doors[0]?.validUntil).toBe(`${localDate(p, 3)}T11:00:00Z`);
      expect(p.store.keys.get("k-1")?.doors[0]?.departureTime).toBe("12:00");
      // The door works with the protected window: after the PMS's 10:00 the code still opens.
      p.clock.jump(2 * 86_400_000);
      await p.settle();
      expect(p.sim("room-101").enterCode(codeOf(kept)).granted).toBe(true);
      await grantedEvent(p, "room-101", "k-1", "doorCode");
      const findings = await p.ok("diagnose", { keyId: "k-1" });
      expect((findings.findings as { code: string }[]).map((f) => f.code)).toContain("pms_updates_blocked");
    });
  });
});

describe("B9: credential allocation failed for a PMS key", () => {
  it("credential type disabled in Customization: keycard disabled (credential_type_disabled); enabling it assigns and the card works", async () => {
    await withProperty({ rooms: 1, commons: [], site: { credentialTypes: { doorCode: false, keycard: false, smartKey: true } } }, async (p) => {
      await p.ok("keycards.upsert", { cards: [CARD_A] });
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], { ...sourced("pms"), doorCode: { enabled: false, assignment: "random" }, keycard: { enabled: true, cardId: "card-a" } }));
      const s = await p.waitForKey("k-1", (x) => x.state === "pending");
      expect(s.keycard).toEqual({ state: "disabled", reason: "credential_type_disabled" });
      expect(door(s, "room-101")).toMatchObject({ state: "pending", reasons: ["credential_type_disabled"] });
      await p.settle();
      expect(p.sim("room-101").presentCard(CARD_A.uid).granted).toBe(false);
      // Fix: enable the type in Customization (site.configure).
      await p.ok("site.configure", { siteId: "site-1", timezone: "Europe/Prague", credentialTypes: { doorCode: false, keycard: true, smartKey: true } });
      const fixed = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(fixed.keycard).toEqual({ state: "assigned", cardId: "card-a" });
      expect(p.sim("room-101").presentCard(CARD_A.uid).granted).toBe(true);
      await grantedEvent(p, "room-101", "k-1", "keycard");
    });
  });

  it("keycard unavailable (held by another key): refused with keycard_in_use; replace with an unused card works", async () => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      await p.ok("keycards.upsert", { cards: [CARD_A, CARD_B] });
      await p.ok("key.upsert", keyPayload(p, "k-other", ["room-101"], { keycard: { enabled: true, cardId: "card-a" } }));
      const refused = await p.send("key.upsert", keyPayload(p, "k-1", ["room-101"], { ...sourced("pms"), keycard: { enabled: true, cardId: "card-a" } }));
      expect(refused).toMatchObject({ ok: false, error: { code: "keycard_in_use" } });
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"], { ...sourced("pms"), keycard: { enabled: false } }));
      const s = await p.waitForKey("k-1", (x) => x.state === "active");
      expect(s.keycard).toEqual({ state: "disabled" });
      await p.ok("keycard.replace", { keyId: "k-1", cardId: "card-b" });
      const fixed = await p.waitForKey("k-1", (x) => x.state === "active" && x.keycard.state === "assigned");
      expect(fixed.keycard.cardId).toBe("card-b");
      expect(p.sim("room-101").presentCard(CARD_B.uid).granted).toBe(true);
      await grantedEvent(p, "room-101", "k-1", "keycard");
    });
  });
});
