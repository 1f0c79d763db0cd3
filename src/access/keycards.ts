/**
 * Keycard inventory rules: a card serves one key at a time (`keycard_in_use`); replace
 * releases the old card and assigns the new one (the plan then deletes the old UID and puts
 * the new one on every door of the key); the list for a key shows its current card first,
 * then the unused cards only.
 *
 * A card is held by a key that is not revoked (a key not yet checked in keeps its card
 * reserved; check-out or removal returns the card to the inventory).
 */
import { holdsKeycard, type KeyActivation } from "./key-activation.js";
import type { Key, Keycard } from "./model.js";
import { err, ok, type Result } from "./result.js";

/** cardId -> keyId of the key holding it. */
export type KeycardHolders = ReadonlyMap<string, string>;

export interface KeycardError {
  code: "unknown_keycard" | "keycard_in_use";
  cardId: string;
  /** For keycard_in_use: the key holding the card. */
  heldBy?: string;
  message: string;
}

/**
 * Who holds which card. A key that asks for a card another key already holds does not get
 * it: the first holder in `keys` order wins, so pass keys in assignment order (stored first).
 */
export function keycardHolders(keys: Iterable<{ key: Pick<Key, "keyId" | "keycard">; activation: KeyActivation }>): Map<string, string> {
  const holders = new Map<string, string>();
  for (const { key, activation } of keys) {
    const cardId = key.keycard.cardId;
    if (!key.keycard.enabled || cardId === undefined || !holdsKeycard(activation)) continue;
    if (!holders.has(cardId)) holders.set(cardId, key.keyId);
  }
  return holders;
}

/** May `keyId` take `cardId`? */
export function checkKeycard(cardId: string, keyId: string, inventory: ReadonlyMap<string, Keycard>, holders: KeycardHolders): Result<Keycard, KeycardError> {
  const card = inventory.get(cardId);
  if (!card) return err({ code: "unknown_keycard", cardId, message: `keycard ${cardId} is not in the inventory` });
  const holder = holders.get(cardId);
  if (holder !== undefined && holder !== keyId) {
    return err({ code: "keycard_in_use", cardId, heldBy: holder, message: `keycard ${cardId} is assigned to key ${holder}` });
  }
  return ok(card);
}

export interface KeycardReplacement {
  /** The card the key gave back (undefined if it had none, or kept the same card). */
  released: string | undefined;
  assigned: Keycard;
}

/** `keycard.replace`: the key's card becomes `newCardId`; the old one returns to the inventory. */
export function replaceKeycard(
  key: Pick<Key, "keyId" | "keycard">,
  newCardId: string,
  inventory: ReadonlyMap<string, Keycard>,
  holders: KeycardHolders,
): Result<KeycardReplacement, KeycardError> {
  const checked = checkKeycard(newCardId, key.keyId, inventory, holders);
  if (!checked.ok) return checked;
  const old = key.keycard.cardId;
  return ok({ released: old !== undefined && old !== newCardId ? old : undefined, assigned: checked.value });
}

export type KeycardAssignment =
  | { state: "assigned"; card: Keycard }
  | { state: "unassigned"; reason: "keycard_unavailable"; detail: "no_card_selected" | "unknown_keycard" | "keycard_in_use"; heldBy?: string };

/** The card a key actually has, for status and provisioning. */
export function resolveKeycard(key: Pick<Key, "keyId" | "keycard">, inventory: ReadonlyMap<string, Keycard>, holders: KeycardHolders): KeycardAssignment {
  const cardId = key.keycard.cardId;
  if (cardId === undefined || cardId === "") return { state: "unassigned", reason: "keycard_unavailable", detail: "no_card_selected" };
  const r = checkKeycard(cardId, key.keyId, inventory, holders);
  if (r.ok) return { state: "assigned", card: r.value };
  return r.error.heldBy !== undefined
    ? { state: "unassigned", reason: "keycard_unavailable", detail: r.error.code, heldBy: r.error.heldBy }
    : { state: "unassigned", reason: "keycard_unavailable", detail: r.error.code };
}

export interface KeycardListEntry {
  cardId: string;
  label: string;
  assignedKeyId: string | null;
}

const byLabel = (a: Keycard, b: Keycard): number =>
  a.label.localeCompare(b.label, "en", { numeric: true }) || (a.cardId < b.cardId ? -1 : a.cardId > b.cardId ? 1 : 0);

/**
 * `keycards.list`: without forKeyId every card with its holder; with forKeyId that key's card
 * first, then the unused cards only (cards of other keys are not offered).
 */
export function listKeycards(inventory: Iterable<Keycard>, holders: KeycardHolders, forKeyId?: string): KeycardListEntry[] {
  const cards = [...inventory].sort(byLabel);
  const entry = (c: Keycard): KeycardListEntry => ({ cardId: c.cardId, label: c.label, assignedKeyId: holders.get(c.cardId) ?? null });
  if (forKeyId === undefined) return cards.map(entry);
  const own = cards.filter((c) => holders.get(c.cardId) === forKeyId);
  const unused = cards.filter((c) => !holders.has(c.cardId));
  return [...own, ...unused].map(entry);
}

/** Two inventory cards with the same UID would collide on a lock (DUPLICATE_CREDENTIAL). */
export function duplicateUids(inventory: Iterable<Keycard>): { uid: string; cardIds: string[] }[] {
  const byUid = new Map<string, string[]>();
  for (const c of inventory) {
    const uid = c.uid.toLowerCase();
    byUid.set(uid, [...(byUid.get(uid) ?? []), c.cardId]);
  }
  return [...byUid].filter(([, ids]) => ids.length > 1).map(([uid, cardIds]) => ({ uid, cardIds }));
}
