/**
 * Every row of a store file, read through a second read-only connection: what "nothing
 * changed" means for the fuzz targets (the hub's own connection is not touched).
 */
import Database from "better-sqlite3";

export function dumpStore(file: string, skipTables: readonly string[] = []): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[])
      .map((t) => t.name)
      .filter((n) => !skipTables.includes(n));
    return JSON.stringify(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}"`).raw().all()]), (_k, v: unknown) =>
      typeof v === "bigint" ? v.toString() : Buffer.isBuffer(v) ? v.toString("hex") : v,
    );
  } finally {
    db.close();
  }
}

/** Rows in one table (cheaper than a dump for a table that grows during a long run). */
export function countRows(file: string, table: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}
