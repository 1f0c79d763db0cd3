/**
 * Child process for the interrupted-migration test: opens the store argv[2] with the shipped
 * migrations except that the last one, after changing the schema, announces "migrating" and
 * then spins until the parent SIGKILLs it mid-transaction.
 */
import fs from "node:fs";
import { MIGRATIONS, openStore, type Migration } from "../../src/store/index.js";

const file = process.argv[2];
if (!file) throw new Error("usage: store-migrate-hang.ts FILE");
const last = MIGRATIONS[MIGRATIONS.length - 1];
if (!last) throw new Error("no migrations");
const hanging: Migration = {
  version: last.version,
  name: `${last.name} (hangs)`,
  up(db) {
    last.up(db);
    db.exec("DELETE FROM keys; DELETE FROM outbox");
    fs.writeSync(1, "migrating\n");
    for (;;) {
      // Spin inside the open transaction until killed.
    }
  },
};
openStore(file, { migrations: [...MIGRATIONS.slice(0, -1), hanging] });
