/**
 * Commands that change the desired state and are plain store effects: site.configure,
 * door.upsert/remove, keycards.upsert/remove/list, and key.upsert/checkin/remove (the
 * version rules here; what a key change means is the KeyCommands implementation's).
 * Every write happens inside ctx.commit(): one transaction with the stored response.
 */
import type { Key } from "../../access/model.js";
import { accessWindow } from "../../access/windows.js";
import type { Store } from "../../store/index.js";
import { LockBridgeError } from "../../shared/errors.js";
import { defineHandler, type CommandContext, type CommandRegistry } from "../registry.js";
import type { DoorParams, KeyParams, SiteParams } from "../schemas.js";
import type { KeyChangeContext, KeyCommands } from "./key-commands.js";
import type { DesiredStateEffects } from "./provisioning-commands.js";

export interface DesiredStateDeps {
  store: Store;
  keys: KeyCommands;
  /** What a change means beyond the store rows; none for a store-only cloud. */
  effects?: DesiredStateEffects | undefined;
}

export function registerDesiredStateHandlers(registry: CommandRegistry, deps: DesiredStateDeps): void {
  const { store, keys, effects } = deps;

  registry.register(
    "site.configure",
    defineHandler("site.configure", (cmd, ctx) =>
      ctx.commit(() => {
        applySite(store, cmd);
        effects?.siteChanged();
        // Time zone and credential types change every key's windows and credentials.
        for (const keyId of store.keys.ids()) ctx.keyChanged(keyId);
        return { result: {} };
      }),
    ),
  );

  registry.register(
    "door.upsert",
    defineHandler("door.upsert", (cmd, ctx) =>
      ctx.commit(() => {
        const keysBefore = effects?.doorChanging(cmd.doorId) ?? [];
        const warnings = applyDoor(store, cmd);
        effects?.doorChanged(cmd.doorId, keysBefore);
        notifyDoorKeys(store, cmd.doorId, ctx);
        return { result: {}, warnings };
      }),
    ),
  );

  registry.register(
    "door.remove",
    defineHandler("door.remove", (cmd, ctx) =>
      ctx.commit(() => {
        notifyDoorKeys(store, cmd.doorId, ctx);
        const keysBefore = effects?.doorChanging(cmd.doorId) ?? [];
        if (!store.doors.remove(cmd.doorId)) throw new LockBridgeError("unknown_door", `no door ${cmd.doorId}`, "doorId");
        effects?.doorChanged(cmd.doorId, keysBefore);
        return { result: {} };
      }),
    ),
  );

  registry.register(
    "keycards.upsert",
    defineHandler("keycards.upsert", (cmd, ctx) =>
      ctx.commit(() => {
        checkCardUids(store, cmd.cards, "cards");
        store.keycards.upsert(cmd.cards);
        effects?.keycardsChanged(cmd.cards.map((c) => c.cardId));
        return { result: {} };
      }),
    ),
  );

  registry.register(
    "keycards.remove",
    defineHandler("keycards.remove", (cmd, ctx) =>
      ctx.commit(() => {
        cmd.cardIds.forEach((cardId, i) => {
          const card = store.keycards.get(cardId);
          if (!card) throw new LockBridgeError("unknown_keycard", `no keycard ${cardId}`, `cardIds[${i}]`);
          if (card.assignedKeyId !== null) throw new LockBridgeError("keycard_in_use", `keycard ${cardId} serves key ${card.assignedKeyId}`, `cardIds[${i}]`);
        });
        store.keycards.remove(cmd.cardIds);
        return { result: {} };
      }),
    ),
  );

  registry.register(
    "keycards.list",
    defineHandler("keycards.list", (cmd) => {
      if (cmd.forKeyId !== undefined) {
        const key = store.keys.get(cmd.forKeyId);
        if (!key || key.removedAt !== null) throw new LockBridgeError("unknown_key", `no key ${cmd.forKeyId}`, "forKeyId");
      }
      const cards = cmd.forKeyId === undefined ? store.keycards.list() : store.keycards.listForKey(cmd.forKeyId);
      // The UID is a secret the cloud already has: not echoed.
      return { result: { cards: cards.map((c) => ({ cardId: c.cardId, label: c.label, assignedKeyId: c.assignedKeyId })) } };
    }),
  );

  registry.register(
    "key.upsert",
    defineHandler("key.upsert", (cmd, ctx) =>
      ctx.commit(() => {
        const key = keyFromParams(cmd);
        const stored = store.keys.get(key.keyId);
        if (stored && isStaleUpsert(stored, key.version)) return staleOutcome(keys, key.keyId, stored.version);
        checkKeyDoors(store, key, "");
        const { status, warnings } = keys.upsert(key, keyContext(ctx, "command"));
        return { result: status, warnings };
      }),
    ),
  );

  registry.register(
    "key.checkin",
    defineHandler("key.checkin", (cmd, ctx) =>
      ctx.commit(() => {
        const stored = store.keys.get(cmd.keyId);
        if (!stored || stored.removedAt !== null) throw new LockBridgeError("unknown_key", `no key ${cmd.keyId}`, "keyId");
        const { status, warnings } = keys.checkin(cmd.keyId, cmd.checkedIn, keyContext(ctx, "command"));
        return { result: status, warnings };
      }),
    ),
  );

  registry.register(
    "key.remove",
    defineHandler("key.remove", (cmd, ctx) =>
      ctx.commit(() => {
        const stored = store.keys.get(cmd.keyId);
        if (!stored) throw new LockBridgeError("unknown_key", `no key ${cmd.keyId}`, "keyId");
        if (cmd.version < stored.version) return staleOutcome(keys, cmd.keyId, stored.version);
        const { status, warnings } = keys.remove(cmd.keyId, cmd.version, keyContext(ctx, "command"));
        return { result: status, warnings };
      }),
    ),
  );
}

// ---------------------------------------------------------------- shared with sync.snapshot

export function applySite(store: Store, site: SiteParams): void {
  store.site.put({
    siteId: site.siteId,
    timezone: site.timezone,
    credentialTypes: site.credentialTypes,
    doorCodeLength: site.doorCodeLength,
    doorHeldOpenSeconds: site.doorHeldOpenSeconds,
    atRiskMinutes: site.atRiskMinutes,
  });
}

/** Stores a door; @returns warnings about links (a link may name a door not known yet). */
export function applyDoor(store: Store, door: DoorParams, pathPrefix = ""): string[] {
  const warnings: string[] = [];
  door.linkedDoorIds.forEach((linkedId, i) => {
    const path = `${pathPrefix}linkedDoorIds[${i}]`;
    if (linkedId === door.doorId) throw new LockBridgeError("invalid_payload", "a door cannot link to itself", path);
    if (door.kind !== "room") throw new LockBridgeError("invalid_payload", "only a room links to common doors", path);
    const linked = store.doors.get(linkedId);
    if (!linked) warnings.push(`linked door ${linkedId} is not known yet: its access applies once it is upserted`);
    else if (linked.kind !== "common") throw new LockBridgeError("invalid_payload", `door ${linkedId} is a room, not a common door`, path);
  });
  store.doors.upsert({
    doorId: door.doorId,
    name: door.name,
    lockId: door.lockId,
    kind: door.kind,
    linkedDoorIds: door.linkedDoorIds,
    protectConfiguration: door.protectConfiguration,
  });
  return warnings;
}

/** Keys with an entry on the door, or on a room linked to it, need a new status. */
function notifyDoorKeys(store: Store, doorId: string, ctx: Pick<CommandContext, "keyChanged">): void {
  for (const keyId of store.keys.idsByDoor(doorId)) ctx.keyChanged(keyId);
  for (const roomId of store.doors.roomsLinkedTo(doorId)) for (const keyId of store.keys.idsByDoor(roomId)) ctx.keyChanged(keyId);
}

/** Refuses a UID that already belongs to another card (a UID opens doors: it must be unique). */
export function checkCardUids(store: Store, cards: readonly { cardId: string; uid: string }[], path: string): void {
  const seen = new Map<string, string>();
  cards.forEach((card, i) => {
    const uid = card.uid.toLowerCase();
    const other = seen.get(uid) ?? store.keycards.byUid(uid)?.cardId;
    if (other !== undefined && other !== card.cardId) {
      throw new LockBridgeError("invalid_payload", `this uid already belongs to card ${other}`, `${path}[${i}].uid`);
    }
    seen.set(uid, card.cardId);
  });
}

export function keyFromParams(p: KeyParams): Key {
  return {
    keyId: p.keyId,
    version: p.version,
    source: p.source,
    ...(p.pms && { pms: p.pms }),
    ...(p.holder && { holder: p.holder }),
    checkedIn: p.checkedIn,
    doors: p.doors,
    doorCode: p.doorCode,
    keycard: p.keycard,
    smartKey: p.smartKey,
  };
}

/** The store's rule: older than stored, or the same version as the removal that won. */
export function isStaleUpsert(stored: { version: number; removedAt: number | null }, version: number): boolean {
  return version < stored.version || (stored.removedAt !== null && version === stored.version);
}

/** Every door of the key must exist, and each entry's window must be one a lock can hold. */
export function checkKeyDoors(store: Store, key: Key, pathPrefix: string): void {
  const site = store.site.get();
  if (!site) throw new LockBridgeError("unknown_site", "no site configured yet: send site.configure (or sync.snapshot) first", `${pathPrefix}keyId`);
  key.doors.forEach((entry, i) => {
    const path = `${pathPrefix}doors[${i}]`;
    if (!store.doors.get(entry.doorId)) throw new LockBridgeError("unknown_door", `no door ${entry.doorId}`, `${path}.doorId`);
    const window = accessWindow(entry, site.timezone);
    if (!window.ok) throw new LockBridgeError("invalid_payload", window.error.message, `${path}.${window.error.field}`);
  });
}

function staleOutcome(keys: KeyCommands, keyId: string, storedVersion: number) {
  const status = keys.status(keyId);
  return { result: { ...(status ?? { keyId, version: storedVersion, state: "revoked" }), stale: true } };
}

export function keyContext(ctx: Pick<CommandContext, "clock" | "log" | "emit" | "keyChanged" | "lockChanged">, origin: KeyChangeContext["origin"]): KeyChangeContext {
  return { clock: ctx.clock, log: ctx.log, origin, emit: ctx.emit, keyChanged: ctx.keyChanged, lockChanged: ctx.lockChanged };
}
