/**
 * sync.snapshot (mqtt-api.md §3): the whole desired state in pages. Each page is validated
 * on arrival and kept in the store (so a snapshot survives a hub restart); once every page
 * of the snapshotId is there, the state is replaced in ONE transaction (the command's) and
 * the result counts what was added, updated and removed. What the snapshot lacks is removed.
 *
 * Choices (docs/mqtt-api.md): a page of another snapshotId drops the unfinished one (the
 * latest snapshot wins, whatever its id); pages expire 10 minutes after they arrived; all
 * pages of a snapshot must agree on `pages`; an id (door, key, card) appears once per
 * snapshot; without `site` the stored site stays (there must be one). Keys go through the
 * same KeyCommands as key.upsert/key.remove, and the version rule holds: a key older than
 * the stored one is left as it is and counted `stale` (a key.upsert sent while the
 * snapshot's pages were on their way must not be rolled back).
 */
import type { DesiredStateEffects } from "./provisioning-commands.js";
import type { Store } from "../../store/index.js";
import { LockBridgeError } from "../../shared/errors.js";
import { defineHandler, type CommandContext, type CommandRegistry } from "../registry.js";
import type { CommandOf, DoorParams, KeycardParams, KeyParams, SiteParams } from "../schemas.js";
import { applySite, checkCardUids, isStaleUpsert, keyContext, keyFromParams } from "./desired-state.js";
import type { KeyCommands } from "./key-commands.js";
import { accessWindow } from "../../access/windows.js";

interface StoredPage {
  page: number;
  pages: number;
  site?: SiteParams | undefined;
  doors: DoorParams[];
  keys: KeyParams[];
  keycards: KeycardParams[];
}

interface Counts {
  added: number;
  updated: number;
  removed: number;
}

export interface SnapshotResult extends Counts {
  doors: Counts;
  keys: Counts & { stale: number };
  keycards: Counts;
  site: "replaced" | "kept";
}

export function registerSnapshotHandler(registry: CommandRegistry, deps: { store: Store; keys: KeyCommands; effects?: DesiredStateEffects | undefined }): void {
  const { store } = deps;
  registry.register(
    "sync.snapshot",
    defineHandler("sync.snapshot", (cmd, ctx) =>
      ctx.commit(() => {
        store.snapshots.dropExpired();
        const earlier = store.snapshots.pages<StoredPage>(cmd.snapshotId);
        const disagreeing = earlier.find((p) => p.pages !== cmd.pages);
        if (disagreeing) throw new LockBridgeError("invalid_payload", `page ${disagreeing.page} of this snapshot said pages=${disagreeing.pages}`, "pages");
        const page: StoredPage = { page: cmd.page, pages: cmd.pages, site: cmd.site, doors: cmd.doors, keys: cmd.keys, keycards: cmd.keycards };
        const progress = store.snapshots.putPage(cmd.snapshotId, cmd.page, cmd.pages, page);
        if (progress.droppedPages > 0) ctx.log.warn({ droppedPages: progress.droppedPages }, "unfinished snapshot dropped: a new snapshot started");
        if (!progress.complete) return { result: { received: cmd.page } };
        const pages = store.snapshots.pages<StoredPage>(cmd.snapshotId);
        deps.effects?.snapshotApplying();
        const result = applySnapshot(store, deps.keys, pages, ctx);
        deps.effects?.snapshotApplied();
        store.snapshots.clear(cmd.snapshotId);
        ctx.log.info({ snapshotId: cmd.snapshotId, ...result }, "snapshot applied");
        return { result: { ...result } };
      }),
    ),
  );
}

type SnapshotCommand = CommandOf<"sync.snapshot">;
export type { SnapshotCommand };

/** Replaces the desired state with the snapshot's. Runs inside the command's transaction. */
export function applySnapshot(store: Store, keyCommands: KeyCommands, pages: readonly StoredPage[], ctx: CommandContext): SnapshotResult {
  const state = mergePages(pages);
  const site = state.site ?? undefined;
  if (!site && !store.site.get()) throw new LockBridgeError("unknown_site", "the snapshot has no site and none is configured", "site");
  const timezone = site?.timezone ?? store.site.get()!.timezone;

  // Validate the snapshot as a whole before changing anything.
  const doorIds = new Set(state.doors.map((d) => d.item.doorId));
  const cardIds = new Set(state.keycards.map((c) => c.item.cardId));
  for (const { item: door, at } of state.doors) {
    door.linkedDoorIds.forEach((linkedId, i) => {
      const linked = state.doors.find((d) => d.item.doorId === linkedId)?.item;
      const path = `${at}.linkedDoorIds[${i}]`;
      if (linkedId === door.doorId) throw new LockBridgeError("invalid_payload", "a door cannot link to itself", path);
      if (door.kind !== "room") throw new LockBridgeError("invalid_payload", "only a room links to common doors", path);
      if (!linked) throw new LockBridgeError("unknown_door", `linked door ${linkedId} is not in the snapshot`, path);
      if (linked.kind !== "common") throw new LockBridgeError("invalid_payload", `door ${linkedId} is a room, not a common door`, path);
    });
  }
  for (const { item: key, at } of state.keys) {
    key.doors.forEach((entry, i) => {
      if (!doorIds.has(entry.doorId)) throw new LockBridgeError("unknown_door", `door ${entry.doorId} is not in the snapshot`, `${at}.doors[${i}].doorId`);
      const window = accessWindow(entry, timezone);
      if (!window.ok) throw new LockBridgeError("invalid_payload", window.error.message, `${at}.doors[${i}].${window.error.field}`);
    });
    if (key.keycard.enabled && key.keycard.cardId !== undefined && !cardIds.has(key.keycard.cardId)) {
      throw new LockBridgeError("unknown_keycard", `keycard ${key.keycard.cardId} is not in the snapshot`, `${at}.keycard.cardId`);
    }
  }
  const holders = new Map<string, string>();
  for (const { item: key, at } of state.keys) {
    if (!key.keycard.enabled || key.keycard.cardId === undefined) continue;
    const other = holders.get(key.keycard.cardId);
    if (other !== undefined) throw new LockBridgeError("keycard_in_use", `keycard ${key.keycard.cardId} is also given to key ${other}`, `${at}.keycard.cardId`);
    holders.set(key.keycard.cardId, key.keyId);
  }

  const kctx = keyContext(ctx, "snapshot");
  const result: SnapshotResult = {
    added: 0,
    updated: 0,
    removed: 0,
    doors: { added: 0, updated: 0, removed: 0 },
    keys: { added: 0, updated: 0, removed: 0, stale: 0 },
    keycards: { added: 0, updated: 0, removed: 0 },
    site: site ? "replaced" : "kept",
  };

  if (site) applySite(store, site);

  for (const { item: door } of state.doors) {
    const outcome = store.doors.upsert({ ...door });
    result.doors[outcome]++;
  }

  // Keys the snapshot lacks are removed (revoked) first: that frees their keycards.
  const wantedKeys = new Set(state.keys.map((k) => k.item.keyId));
  for (const keyId of store.keys.ids()) {
    if (wantedKeys.has(keyId)) continue;
    const stored = store.keys.get(keyId)!;
    keyCommands.remove(keyId, stored.version, kctx);
    result.keys.removed++;
  }

  const absentCards = store.keycards.list().filter((c) => !cardIds.has(c.cardId));
  const unassignedAbsent = absentCards.filter((c) => c.assignedKeyId === null).map((c) => c.cardId);
  if (unassignedAbsent.length > 0) store.keycards.remove(unassignedAbsent);
  const cards = state.keycards.map((c) => c.item);
  checkCardUids(store, cards, "keycards");
  for (const card of cards) result.keycards[store.keycards.get(card.cardId) ? "updated" : "added"]++;
  if (cards.length > 0) store.keycards.upsert(cards);

  for (const { item } of state.keys) {
    const key = keyFromParams(item);
    const stored = store.keys.get(key.keyId);
    if (stored && isStaleUpsert(stored, key.version)) {
      result.keys.stale++;
      continue;
    }
    keyCommands.upsert(key, kctx);
    result.keys[stored && stored.removedAt === null ? "updated" : "added"]++;
  }

  // Cards still assigned after the keys were applied serve a key that kept them.
  const leftover = absentCards.filter((c) => c.assignedKeyId !== null).map((c) => store.keycards.get(c.cardId)!);
  for (const card of leftover) {
    if (card.assignedKeyId !== null) throw new LockBridgeError("keycard_in_use", `keycard ${card.cardId} is missing from the snapshot but still serves key ${card.assignedKeyId}`, "keycards");
  }
  if (leftover.length > 0) store.keycards.remove(leftover.map((c) => c.cardId));
  result.keycards.removed = unassignedAbsent.length + leftover.length;

  for (const doorId of store.doors.ids()) {
    if (doorIds.has(doorId)) continue;
    for (const keyId of store.keys.idsByDoor(doorId)) ctx.keyChanged(keyId);
    store.doors.remove(doorId);
    result.doors.removed++;
  }

  for (const keyId of store.keys.ids({ includeRemoved: true })) ctx.keyChanged(keyId);
  result.added = result.doors.added + result.keys.added + result.keycards.added;
  result.updated = result.doors.updated + result.keys.updated + result.keycards.updated;
  result.removed = result.doors.removed + result.keys.removed + result.keycards.removed;
  return result;
}

interface Located<T> {
  item: T;
  /** Where it came from, for error paths: "keys[3]" (page N named in the message when N > 1). */
  at: string;
}

function mergePages(pages: readonly StoredPage[]) {
  let site: SiteParams | undefined;
  const doors: Located<DoorParams>[] = [];
  const keys: Located<KeyParams>[] = [];
  const keycards: Located<KeycardParams>[] = [];
  const seen = { doors: new Set<string>(), keys: new Set<string>(), keycards: new Set<string>() };
  const at = (page: number, list: string, i: number) => (pages.length > 1 ? `page${page}.${list}[${i}]` : `${list}[${i}]`);
  for (const p of pages) {
    if (p.site) site = p.site;
    const add = <T>(list: "doors" | "keys" | "keycards", items: readonly T[], id: (t: T) => string, into: Located<T>[]) =>
      items.forEach((item, i) => {
        const where = at(p.page, list, i);
        if (seen[list].has(id(item))) throw new LockBridgeError("invalid_payload", `${id(item)} appears twice in the snapshot`, where);
        seen[list].add(id(item));
        into.push({ item, at: where });
      });
    add("doors", p.doors, (d) => d.doorId, doors);
    add("keys", p.keys, (k) => k.keyId, keys);
    add("keycards", p.keycards, (c) => c.cardId, keycards);
  }
  return { site, doors, keys, keycards };
}
