/**
 * The hub's files hold door codes, card UIDs and link keys: the data dir is 0700 and every
 * file in it (store, WAL, SHM, lock, pid) and every backup 0600, whatever the umask of whoever
 * starts the hub (systemd's UMask= covers only the service, not `lockbridge run` by hand).
 *
 * SQLite gives a database's -wal and -shm files the mode of the database file, so creating
 * the database file 0600 before SQLite opens it is what makes them 0600 too.
 */
import fs from "node:fs";

export const OWNER_ONLY_DIR = 0o700;
export const OWNER_ONLY_FILE = 0o600;

/** Creates `dir` (and parents) 0700 if missing, and sets an existing one we own to 0700. */
export function ownerOnlyDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: OWNER_ONLY_DIR });
  restrict(dir, OWNER_ONLY_DIR);
}

/** Creates `file` empty and 0600 if missing (umask cannot widen it), or narrows it to 0600. */
export function ownerOnlyFile(file: string): void {
  const fd = fs.openSync(file, "a", OWNER_ONLY_FILE);
  try {
    if ((fs.fstatSync(fd).mode & 0o777) !== OWNER_ONLY_FILE) fs.fchmodSync(fd, OWNER_ONLY_FILE);
  } finally {
    fs.closeSync(fd);
  }
}

/** Narrows a file to 0600 when it exists (a WAL or SHM left by an older hub). */
export function restrictIfPresent(file: string): void {
  if (fs.existsSync(file)) restrict(file, OWNER_ONLY_FILE);
}

function restrict(target: string, mode: number): void {
  try {
    if ((fs.statSync(target).mode & 0o777) !== mode) fs.chmodSync(target, mode);
  } catch (e) {
    // A directory we do not own (e.g. one an administrator set up) keeps its mode; files in it are still 0600.
    if ((e as NodeJS.ErrnoException).code !== "EPERM") throw e;
  }
}
