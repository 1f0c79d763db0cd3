/**
 * Small helpers shared by the repositories: the connection type, the injected clock and
 * the conversions between SQLite columns and domain values. Internal to src/store/.
 */
import type { Database, Statement } from "better-sqlite3";
import type { Clock } from "../shared/clock.js";

export type Db = Database;
export type { Statement };

/** What every repository is built from. */
export interface RepoContext {
  readonly db: Db;
  readonly clock: Clock;
}

export const toBool = (v: unknown): boolean => v === 1 || v === 1n || v === true;
export const fromBool = (b: boolean): 0 | 1 => (b ? 1 : 0);

/** JSON column -> value; the column was written by toJson, so its shape is ours. */
export function fromJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

export function fromJsonOrNull<T>(text: string | null): T | null {
  return text === null ? null : fromJson<T>(text);
}

export const toJson = (v: unknown): string => JSON.stringify(v);

/**
 * Prepares each SQL text once, on first use, and hands back the cached statement after.
 * Lazy so that a store opened at an older schema (migration tests) prepares nothing it lacks.
 */
export function statementCache(db: Db): (sql: string) => Statement {
  const cache = new Map<string, Statement>();
  return (sql) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      cache.set(sql, stmt);
    }
    return stmt;
  };
}
