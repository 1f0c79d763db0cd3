/** Doors (door.upsert / door.remove / snapshot) with their linked common doors. */
import type { Door, DoorKind } from "../../access/model.js";
import { fromBool, statementCache, toBool, type RepoContext } from "../db.js";

interface DoorRow {
  door_id: string;
  name: string;
  lock_id: string | null;
  kind: DoorKind;
  protect_configuration: number;
}

export class DoorsRepo {
  private readonly q;
  private readonly upsertTx;
  constructor(private readonly ctx: RepoContext) {
    this.q = statementCache(ctx.db);
    this.upsertTx = ctx.db.transaction((door: Door): "added" | "updated" => this.upsertRows(door));
  }

  get(doorId: string): Door | undefined {
    const r = this.q("SELECT door_id, name, lock_id, kind, protect_configuration FROM doors WHERE door_id = ?").get(doorId) as DoorRow | undefined;
    return r && this.toDoor(r);
  }

  list(): Door[] {
    const rows = this.q("SELECT door_id, name, lock_id, kind, protect_configuration FROM doors ORDER BY door_id").all() as DoorRow[];
    const links = this.allLinks();
    return rows.map((r) => this.toDoor(r, links.get(r.door_id) ?? []));
  }

  /** Doors whose lock is `lockId` (a common door's lock also holds linked rooms' credentials: see roomsLinkedTo). */
  byLock(lockId: string): Door[] {
    const rows = this.q("SELECT door_id, name, lock_id, kind, protect_configuration FROM doors WHERE lock_id = ? ORDER BY door_id").all(lockId) as DoorRow[];
    return rows.map((r) => this.toDoor(r));
  }

  /** The rooms that list `doorId` among their linked doors. */
  roomsLinkedTo(doorId: string): string[] {
    return (this.q("SELECT door_id FROM door_links WHERE linked_door_id = ? ORDER BY door_id").all(doorId) as { door_id: string }[]).map(
      (r) => r.door_id,
    );
  }

  /** Creates or replaces a door with its links, in one transaction. */
  upsert(door: Door): "added" | "updated" {
    return this.upsertTx.immediate(door);
  }

  /** Removes a door and its own links. Links of other rooms to it stay as sent. @returns whether it existed. */
  remove(doorId: string): boolean {
    return this.q("DELETE FROM doors WHERE door_id = ?").run(doorId).changes > 0;
  }

  /** Whether any door is stored: one index probe, not a table read (asked after every command). */
  any(): boolean {
    return this.q("SELECT 1 FROM doors LIMIT 1").get() !== undefined;
  }

  ids(): string[] {
    return (this.q("SELECT door_id FROM doors ORDER BY door_id").all() as { door_id: string }[]).map((r) => r.door_id);
  }

  private upsertRows(door: Door): "added" | "updated" {
    const existed = this.q("SELECT 1 FROM doors WHERE door_id = ?").get(door.doorId) !== undefined;
    this.q(
      `INSERT INTO doors (door_id, name, lock_id, kind, protect_configuration, updated_at)
       VALUES (@doorId, @name, @lockId, @kind, @protect, @now)
       ON CONFLICT (door_id) DO UPDATE SET name = excluded.name, lock_id = excluded.lock_id, kind = excluded.kind,
         protect_configuration = excluded.protect_configuration, updated_at = excluded.updated_at`,
    ).run({
      doorId: door.doorId,
      name: door.name,
      lockId: door.lockId,
      kind: door.kind,
      protect: fromBool(door.protectConfiguration),
      now: this.ctx.clock.now(),
    });
    if (existed) this.q("DELETE FROM door_links WHERE door_id = ?").run(door.doorId);
    const link = this.q("INSERT OR IGNORE INTO door_links (door_id, linked_door_id, position) VALUES (?, ?, ?)");
    door.linkedDoorIds.forEach((linked, i) => link.run(door.doorId, linked, i));
    return existed ? "updated" : "added";
  }

  private linksOf(doorId: string): string[] {
    return (
      this.q("SELECT linked_door_id FROM door_links WHERE door_id = ? ORDER BY position").all(doorId) as { linked_door_id: string }[]
    ).map((r) => r.linked_door_id);
  }

  private allLinks(): Map<string, string[]> {
    const map = new Map<string, string[]>();
    const rows = this.q("SELECT door_id, linked_door_id FROM door_links ORDER BY door_id, position").all() as {
      door_id: string;
      linked_door_id: string;
    }[];
    for (const r of rows) {
      const list = map.get(r.door_id) ?? [];
      list.push(r.linked_door_id);
      map.set(r.door_id, list);
    }
    return map;
  }

  private toDoor(r: DoorRow, links?: string[]): Door {
    return {
      doorId: r.door_id,
      name: r.name,
      lockId: r.lock_id,
      kind: r.kind,
      linkedDoorIds: links ?? this.linksOf(r.door_id),
      protectConfiguration: toBool(r.protect_configuration),
    };
  }
}
