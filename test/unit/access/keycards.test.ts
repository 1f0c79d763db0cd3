import { describe, expect, it } from "vitest";
import { keyActivation, NEW_LIFECYCLE } from "../../../src/access/key-activation.js";
import { checkKeycard, duplicateUids, keycardHolders, listKeycards, replaceKeycard, resolveKeycard } from "../../../src/access/keycards.js";
import type { Keycard } from "../../../src/access/model.js";
import { makeKey, makePmsKey } from "../../helpers/access-fixtures.js";

const cards: Keycard[] = [
  { cardId: "c10", uid: "04a1b2c3", label: "Card 10" },
  { cardId: "c2", uid: "04a1b2c4", label: "Card 2" },
  { cardId: "c3", uid: "04a1b2c5", label: "Card 3" },
  { cardId: "c1", uid: "04a1b2c6", label: "Card 1" },
];
const inventory = new Map(cards.map((c) => [c.cardId, c]));

const k1 = makeKey("k1", { keycard: { enabled: true, cardId: "c3" } });
const k2 = makePmsKey("k2", { keycard: { enabled: true, cardId: "c1" } }); // not checked in: keeps its card
const kOut = makePmsKey("k-out", { keycard: { enabled: true, cardId: "c2" } }); // checked out: card returned
const holders = keycardHolders([
  { key: k1, activation: keyActivation(k1, NEW_LIFECYCLE) },
  { key: k2, activation: keyActivation(k2, NEW_LIFECYCLE) },
  { key: kOut, activation: keyActivation(kOut, { removed: false, checkedOut: true }) },
]);

describe("keycard holders", () => {
  it("live and not-yet-checked-in keys hold their card; checked-out keys do not", () => {
    expect(holders).toEqual(new Map([["c3", "k1"], ["c1", "k2"]]));
  });
});

describe("checkKeycard", () => {
  it.each([
    ["an unused card", "c10", "k9", { ok: true }],
    ["the key's own card", "c3", "k1", { ok: true }],
    ["a card returned at check-out", "c2", "k9", { ok: true }],
    ["another key's card", "c3", "k9", { ok: false, error: { code: "keycard_in_use", heldBy: "k1" } }],
    ["a card not in the inventory", "c99", "k9", { ok: false, error: { code: "unknown_keycard" } }],
  ])("%s", (_n, cardId, keyId, want) => {
    expect(checkKeycard(cardId, keyId, inventory, holders)).toMatchObject(want);
  });
});

describe("replaceKeycard", () => {
  it("releases the old card and assigns the new one", () => {
    expect(replaceKeycard(k1, "c10", inventory, holders)).toEqual({ ok: true, value: { released: "c3", assigned: cards[0] } });
  });
  it("refuses a card in use", () => {
    expect(replaceKeycard(k1, "c1", inventory, holders)).toMatchObject({ ok: false, error: { code: "keycard_in_use", heldBy: "k2" } });
  });
  it("same card: nothing released", () => {
    expect(replaceKeycard(k1, "c3", inventory, holders)).toMatchObject({ ok: true, value: { released: undefined } });
  });
});

describe("resolveKeycard", () => {
  it("assigned, or unassigned with keycard_unavailable and why", () => {
    expect(resolveKeycard(k1, inventory, holders)).toEqual({ state: "assigned", card: cards[2] });
    expect(resolveKeycard(makeKey("k5", { keycard: { enabled: true } }), inventory, holders)).toMatchObject({ state: "unassigned", reason: "keycard_unavailable", detail: "no_card_selected" });
    expect(resolveKeycard(makeKey("k5", { keycard: { enabled: true, cardId: "c1" } }), inventory, holders)).toMatchObject({ detail: "keycard_in_use", heldBy: "k2" });
  });
});

describe("listKeycards", () => {
  it("for a key: its current card first, then only the unused cards (natural label order)", () => {
    expect(listKeycards(cards, holders, "k1").map((c) => [c.cardId, c.assignedKeyId])).toEqual([
      ["c3", "k1"],
      ["c2", null],
      ["c10", null],
    ]);
  });
  it("for a key without a card: unused cards only", () => {
    expect(listKeycards(cards, holders, "k9").map((c) => c.cardId)).toEqual(["c2", "c10"]);
  });
  it("without a key: every card and its holder", () => {
    expect(listKeycards(cards, holders).map((c) => [c.cardId, c.assignedKeyId])).toEqual([
      ["c1", "k2"],
      ["c2", null],
      ["c3", "k1"],
      ["c10", null],
    ]);
  });
});

describe("duplicateUids", () => {
  it("finds cards sharing a UID (case-insensitive)", () => {
    expect(duplicateUids([...cards, { cardId: "c4", uid: "04A1B2C3", label: "dup" }])).toEqual([{ uid: "04a1b2c3", cardIds: ["c10", "c4"] }]);
  });
});
