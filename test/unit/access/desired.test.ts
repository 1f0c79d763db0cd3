import { describe, expect, it } from "vitest";
import { doorCodeSecret, keyCredentials, keycardSecret, smartKeySecret, type KeyCredentialsInput } from "../../../src/access/desired.js";
import { keyActivation, NEW_LIFECYCLE } from "../../../src/access/key-activation.js";
import { targetDoors } from "../../../src/access/linked-doors.js";
import type { Key } from "../../../src/access/model.js";
import { doorMap, makeDoor, makeEntry, makeKey, makePmsKey, makeSite } from "../../helpers/access-fixtures.js";

const PUBKEY = Buffer.alloc(32, 9).toString("base64");
const doors = doorMap(makeDoor("room-101", { linkedDoorIds: ["lobby"] }), makeDoor("lobby"), makeDoor("room-102", { lockId: null }));
const site = makeSite();
const NOW = Date.parse("2026-11-30T12:00:00Z"); // before the stay: provisioned ahead

function input(key: Key, over: Partial<KeyCredentialsInput> = {}): KeyCredentialsInput {
  return {
    site,
    key,
    activation: keyActivation(key, NEW_LIFECYCLE),
    targets: targetDoors(key, doors, site.timezone).targets,
    doors,
    isCommissioned: () => true,
    secrets: { doorCode: "482916", keycardUid: "04a1b2c3d4" },
    nowMs: NOW,
    ...over,
  };
}
const summary = (i: KeyCredentialsInput): [string, string[]][] => keyCredentials(i).map((l) => [l.lockId, l.credentials.map((c) => c.kind)]);

describe("keyCredentials", () => {
  const key = makeKey("k1", { keycard: { enabled: true, cardId: "c1" }, smartKey: { enabled: true, publicKey: PUBKEY } });

  it("every enabled credential goes to the room and its linked lobby, with the window, ahead of arrival", () => {
    const out = keyCredentials(input(key));
    expect(out.map((l) => [l.lockId, l.credentials.map((c) => c.ref)])).toEqual([
      ["lock-room-101", ["k1:doorCode", "k1:keycard", "k1:smartKey"]],
      ["lock-lobby", ["k1:doorCode", "k1:keycard", "k1:smartKey"]],
    ]);
    const c = out[0]!.credentials[0]!;
    expect(Buffer.from(c.secret).toString()).toBe("482916");
    expect(c.validFrom).toBe(Date.parse("2026-12-01T14:00:00Z") / 1000);
  });

  it.each([
    ["site disables keycards", { site: makeSite({ credentialTypes: { doorCode: true, keycard: false, smartKey: true } }) }, [["lock-room-101", ["doorCode", "smartKey"]], ["lock-lobby", ["doorCode", "smartKey"]]]],
    ["no code allocated yet", { secrets: { keycardUid: "04a1b2c3d4" } }, [["lock-room-101", ["keycard", "smartKey"]], ["lock-lobby", ["keycard", "smartKey"]]]],
    ["lobby lock not commissioned", { isCommissioned: (l: string) => l !== "lock-lobby" }, [["lock-room-101", ["doorCode", "keycard", "smartKey"]]]],
    ["window ended: leaves the locks", { nowMs: Date.parse("2026-12-04T10:00:00Z") }, []],
    ["key removed", { activation: { state: "revoked", reason: "removed" } as const }, []],
  ])("%s", (_name, over, want) => {
    expect(summary(input(key, over as Partial<KeyCredentialsInput>))).toEqual(want);
  });

  it("a PMS key before check-in puts nothing anywhere", () => {
    expect(summary(input(makePmsKey("k2")))).toEqual([]);
  });

  it("allowProvisioning off: nothing goes to that room, nor to the lobby it links", () => {
    const k = makeKey("k3", { doors: [makeEntry("room-101", { allowProvisioning: false })] });
    expect(summary(input(k))).toEqual([]);
  });

  it("a door without a lock gets nothing", () => {
    const k = makeKey("k4", { doors: [makeEntry("room-102")] });
    expect(summary(input(k))).toEqual([]);
  });
});

describe("secrets", () => {
  it("validate their formats", () => {
    expect(doorCodeSecret("482916")).toEqual(Buffer.from("482916"));
    expect(doorCodeSecret("48a916")).toBeUndefined();
    expect(keycardSecret("04A1B2C3")).toEqual(Buffer.from([4, 0xa1, 0xb2, 0xc3]));
    expect(keycardSecret("04a1b2")).toBeUndefined();
    expect(smartKeySecret(PUBKEY)?.length).toBe(32);
    expect(smartKeySecret(Buffer.alloc(31).toString("base64"))).toBeUndefined();
    expect(smartKeySecret("not base64!")).toBeUndefined();
  });
});
