/**
 * Applies pending migrations, each in its own IMMEDIATE transaction with its user_version
 * bump: an interrupted or failing migration rolls back whole and the previous schema stays.
 */
import type { Logger } from "pino";
import { LockBridgeError, errorMessage } from "../shared/errors.js";
import type { Db } from "./db.js";
import type { Migration } from "./schema.js";

export interface MigrationOutcome {
  from: number;
  to: number;
}

export function schemaVersionOf(db: Db): number {
  return db.pragma("user_version", { simple: true }) as number;
}

/** Brings `db` up to the last migration of `migrations`; throws store_migration_failed. */
export function migrate(db: Db, migrations: readonly Migration[], path: string, log: Logger): MigrationOutcome {
  checkContiguous(migrations);
  const from = schemaVersionOf(db);
  const known = migrations.length;
  if (from > known) {
    throw new LockBridgeError(
      "store_migration_failed",
      `${path} has schema version ${from}, newer than this LockBridge knows (${known}): it was written by a newer release; upgrade LockBridge or restore a backup`,
      path,
      { found: from, known },
    );
  }
  let current = from;
  for (const m of migrations) {
    if (m.version <= current) continue;
    const started = Date.now();
    try {
      db.transaction(() => {
        m.up(db);
        db.pragma(`user_version = ${m.version}`);
      }).immediate();
    } catch (e) {
      throw new LockBridgeError(
        "store_migration_failed",
        `${path}: migration to version ${m.version} (${m.name}) failed: ${errorMessage(e)}; the database stays at version ${current}`,
        path,
        { version: m.version, stayedAt: current },
      );
    }
    log.info({ version: m.version, migration: m.name, ms: Date.now() - started }, "store migrated");
    current = m.version;
  }
  return { from, to: current };
}

function checkContiguous(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list is not contiguous at index ${i} (version ${m.version})`);
  });
}
