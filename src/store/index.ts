/**
 * The hub's local store: one SQLite file (better-sqlite3, imported only under src/store/)
 * holding the whole hub state, behind typed repositories named for the domain.
 *
 * - WAL, synchronous=FULL: a committed change is on disk before the call returns, so the hub
 *   may acknowledge it outward (PUBACK, ACK_EVENTS) right after. `relaxed(fn)` commits
 *   without the fsync, for what the hub finds again by itself (see there).
 * - Every repository method that writes several rows does so in one transaction; wrap changes
 *   that span repositories in `store.transaction(fn)` (synchronous fn; nested calls become
 *   savepoints).
 * - openStore refuses corrupt, foreign or too-new files without writing to them, and applies
 *   pending migrations one transaction each.
 * - Take the data dir with acquireDataDir() first: one hub process per data dir.
 */
import fs from "node:fs";
import Database from "better-sqlite3";
import type { Logger } from "pino";
import { pino } from "pino";
import { LockBridgeError, errorMessage } from "../shared/errors.js";
import { systemClock, type Clock } from "../shared/clock.js";
import { backupDatabase, type BackupResult } from "./backup.js";
import { isDiskFull, storeDiskFullError, watchStoreDisk, type StorageState } from "./disk-full.js";
import type { Db, RepoContext, Statement } from "./db.js";
import { inspectDatabaseFile } from "./inspect.js";
import { ownerOnlyFile, restrictIfPresent } from "./owner-only.js";
import { convertStorePageSize, setNewStorePageSize, setWalCheckpoint } from "./page-size.js";
import { migrate, schemaVersionOf } from "./migrate.js";
import { CountersRepo } from "./repos/counters.js";
import { CredentialsRepo } from "./repos/credentials.js";
import { DoorsRepo } from "./repos/doors.js";
import { FirmwareJobsRepo } from "./repos/firmware-jobs.js";
import { InboxRepo } from "./repos/inbox.js";
import { KeycardsRepo } from "./repos/keycards.js";
import { KeyFactsRepo } from "./repos/key-facts.js";
import { KeysRepo } from "./repos/keys.js";
import { LinkStateRepo } from "./repos/link-state.js";
import { LockFactsRepo } from "./repos/lock-facts.js";
import { LocksRepo } from "./repos/locks.js";
import { MetaRepo } from "./repos/meta.js";
import { OutboxRepo } from "./repos/outbox.js";
import { SiteRepo } from "./repos/site.js";
import { SlotsRepo } from "./repos/slots.js";
import { SnapshotPagesRepo } from "./repos/snapshots.js";
import { MIGRATIONS, type Migration } from "./schema.js";

export { acquireDataDir, STORE_FILE, LOCK_FILE, PID_FILE, type DataDirLease } from "./datadir.js";
export { isDiskFull, isDiskIoError, type StorageState } from "./disk-full.js";
export { rideAlong, type Rider } from "./ride-along.js";
export { backupStoreFile, type BackupResult } from "./backup.js";
export { inspectDatabaseFile } from "./inspect.js";
export { peekLocks, type PeekedLock } from "./peek.js";
export { LOCKBRIDGE_APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, type Migration } from "./schema.js";
export type { CounterBlock } from "./repos/counters.js";
export type { CredentialRecord, NewCredential } from "./repos/credentials.js";
export { FIRMWARE_LOCK_STATES, FirmwareJobsRepo, type FirmwareJobRecord, type FirmwareLockRecord, type FirmwareLockState, type FirmwareLockUpdate } from "./repos/firmware-jobs.js";
export { INBOX_RETENTION_MS, type InboxEntry } from "./repos/inbox.js";
export type { KeycardRecord } from "./repos/keycards.js";
export type { KeyRecord, VersionOutcome } from "./repos/keys.js";
export type { SettingsChange } from "./repos/key-facts.js";
export type { SecurityAlertRecord } from "./repos/lock-facts.js";
export type { StoredLinkKeys } from "./repos/link-state.js";
export type { LockHealth, LockIdent, LockRecord, LockState } from "./repos/locks.js";
export { META_KEYS } from "./repos/meta.js";
export type { OutboxEntry, OutboxEvent, TrimResult } from "./repos/outbox.js";
export { sameContent, type AppliedState, type DesiredSlotContent, type ObservedSlot, type SlotContent, type SlotRecord } from "./repos/slots.js";
export { SNAPSHOT_PAGE_TTL_MS, type SnapshotProgress } from "./repos/snapshots.js";
export type { CountersRepo, LinkStateRepo, CredentialsRepo, DoorsRepo, InboxRepo, KeycardsRepo, KeyFactsRepo, KeysRepo, LockFactsRepo, LocksRepo, MetaRepo, OutboxRepo, SiteRepo, SlotsRepo, SnapshotPagesRepo };

export interface OpenStoreOptions {
  logger?: Logger;
  /** Time for updatedAt/receivedAt/createdAt stamps and retention (default: system clock). */
  clock?: Clock;
  /** SQLite busy timeout in ms (default 5000): how long to wait for a backup reader's lock. */
  busyTimeoutMs?: number;
  /**
   * The migration list to apply (default: every shipped migration): tests build older stores with it.
   * @internal
   */
  migrations?: readonly Migration[];
}

export interface Store {
  /** The database file. */
  readonly path: string;
  readonly meta: MetaRepo;
  readonly site: SiteRepo;
  readonly locks: LocksRepo;
  /** Battery-low reported, pairing lost, replaced by, security alerts. */
  readonly lockFacts: LockFactsRepo;
  readonly counters: CountersRepo;
  /** The lock layer's LinkStateStore: sealing counters and link keys, durable before use. */
  readonly linkState: LinkStateRepo;
  readonly doors: DoorsRepo;
  readonly keys: KeysRepo;
  /** Checked out, why no door code, door-setting changes. */
  readonly keyFacts: KeyFactsRepo;
  readonly credentials: CredentialsRepo;
  readonly slots: SlotsRepo;
  readonly keycards: KeycardsRepo;
  readonly inbox: InboxRepo;
  readonly outbox: OutboxRepo;
  readonly snapshots: SnapshotPagesRepo;
  /** Firmware jobs and where each lock's update stands (issue 15). */
  readonly firmwareJobs: FirmwareJobsRepo;
  /**
   * Runs `fn` in one IMMEDIATE transaction: all its writes commit together (durably) or,
   * if it throws, none do. `fn` must be synchronous (no await inside); nesting is allowed.
   */
  transaction<T>(fn: () => T): T;
  /**
   * Like `transaction`, but its commit is not fsynced (WAL with synchronous=NORMAL for this
   * one commit): it survives the process dying (SIGKILL, a crash), not a power cut, until the
   * next durable commit or checkpoint syncs the WAL, which carries it along. Only for writes
   * that the hub finds again by itself (what a lock confirmed: TABLE_DIGEST re-reads it; lock
   * health: the next poll; sent marks: a duplicate the cloud drops) and that nothing outward
   * was told of as durable. Inside another transaction it is part of that one.
   */
  relaxed<T>(fn: () => T): T;
  /**
   * `hook` runs inside every outermost `transaction`, before its `fn`: writes that must be
   * durable no later than anything committed after them (the lock counters accepted so far)
   * ride along with the next commit instead of costing one of their own. Returns the remover.
   */
  beforeCommit(hook: () => void): () => void;
  /**
   * `hook` runs after an outermost `transaction` rolled back (its `fn` threw, or the commit
   * failed: disk full), before the error goes on: whoever keeps a copy derived from the store
   * rebuilds it, so no memory copy disagrees with the store. Returns the remover.
   */
  afterRollback(hook: () => void): () => void;
  /**
   * Whether the data disk is full: set by a transaction that failed with SQLITE_FULL/ENOSPC,
   * cleared by the next one that commits (status.get, the health log line).
   */
  storage(): StorageState;
  /** PRAGMA user_version: the schema version the file is at. */
  schemaVersion(): number;
  /** PRAGMA integrity_check: ["ok"] when sound, else the problems found. */
  integrityCheck(): string[];
  /** Bytes on disk: database plus WAL (for status.get). */
  sizeBytes(): number;
  /** Online backup to `file`, consistent while writes go on. */
  backup(file: string): Promise<BackupResult>;
  /** Closes the database (idempotent). Any call after close throws. */
  close(): void;
  readonly closed: boolean;
}

/**
 * Opens (creating if absent) the store at `path`: checks the file without writing to it
 * (store_corrupt / store_foreign / store_migration_failed for a newer schema), sets the
 * pragmas, then applies pending migrations (store_migration_failed; the file stays at the
 * last good version).
 */
export function openStore(path: string, options: OpenStoreOptions = {}): Store {
  const log = (options.logger ?? pino({ level: "silent" })).child({ module: "store" });
  const migrations = options.migrations ?? MIGRATIONS;
  const found = inspectDatabaseFile(path, migrations.length);
  let db: Db;
  try {
    // 0600 before SQLite opens it, so its -wal and -shm are created 0600 too (owner-only.ts).
    ownerOnlyFile(path);
    for (const extra of ["-wal", "-shm", "-journal"]) restrictIfPresent(`${path}${extra}`);
    db = new Database(path);
  } catch (e) {
    // Not the file's fault (it passed inspection): a full disk, a missing directory, permissions...
    throw storeDiskFullError(path, e) ?? new LockBridgeError("internal", `${path} cannot be opened: ${errorMessage(e)}`, path);
  }
  try {
    if (found.kind === "new") setNewStorePageSize(db);
    else convertStorePageSize(db, path, log);
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal") throw new LockBridgeError("store_corrupt", `${path} cannot use WAL mode (got ${String(mode)})`, path);
    db.pragma("synchronous = FULL");
    // Checkpoint at 16 MB of WAL, not SQLite's 1000 pages: a page written many times between
    // two checkpoints is copied into the database once, and the hub rewrites the same few
    // pages (lock rows, slot tables) all day (docs/performance.md). The WAL file keeps that
    // size on disk; it is not truncated, as a regrown file costs the same writes again.
    setWalCheckpoint(db);
    db.pragma("foreign_keys = ON");
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    const outcome = migrate(db, migrations, path, log);
    log.info({ path, created: found.kind === "new", from: outcome.from, schemaVersion: outcome.to }, "store open");
  } catch (e) {
    db.close();
    throw storeDiskFullError(path, e) ?? e;
  }
  return new SqliteStore(path, db, options.clock ?? systemClock, log);
}

class SqliteStore implements Store {
  readonly meta: MetaRepo;
  readonly site: SiteRepo;
  readonly locks: LocksRepo;
  /** Battery-low reported, pairing lost, replaced by, security alerts. */
  readonly lockFacts: LockFactsRepo;
  readonly counters: CountersRepo;
  /** The lock layer's LinkStateStore: sealing counters and link keys, durable before use. */
  readonly linkState: LinkStateRepo;
  readonly doors: DoorsRepo;
  readonly keys: KeysRepo;
  /** Checked out, why no door code, door-setting changes. */
  readonly keyFacts: KeyFactsRepo;
  readonly credentials: CredentialsRepo;
  readonly slots: SlotsRepo;
  readonly keycards: KeycardsRepo;
  readonly inbox: InboxRepo;
  readonly outbox: OutboxRepo;
  readonly snapshots: SnapshotPagesRepo;
  readonly firmwareJobs: FirmwareJobsRepo;
  /** Prepared once: a pragma per relaxed commit costs a statement step, not a parse. */
  private readonly syncNormal: Statement;
  private readonly syncFull: Statement;
  /** Stops isDiskFull from reading this store's disk (at close). */
  private readonly unwatchDisk: () => void;

  constructor(
    readonly path: string,
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.syncNormal = db.prepare("PRAGMA synchronous = NORMAL");
    this.syncFull = db.prepare("PRAGMA synchronous = FULL");
    this.unwatchDisk = watchStoreDisk(path);
    const ctx: RepoContext = { db, clock };
    this.meta = new MetaRepo(ctx);
    this.site = new SiteRepo(ctx);
    this.locks = new LocksRepo(ctx);
    this.lockFacts = new LockFactsRepo(ctx);
    this.counters = new CountersRepo(ctx);
    this.linkState = new LinkStateRepo(ctx, this.counters);
    this.doors = new DoorsRepo(ctx);
    this.keys = new KeysRepo(ctx);
    this.keyFacts = new KeyFactsRepo(ctx);
    this.credentials = new CredentialsRepo(ctx);
    this.slots = new SlotsRepo(ctx);
    this.keycards = new KeycardsRepo(ctx);
    this.inbox = new InboxRepo(ctx);
    this.outbox = new OutboxRepo(ctx);
    this.snapshots = new SnapshotPagesRepo(ctx);
    this.firmwareJobs = new FirmwareJobsRepo(ctx);
  }

  get closed(): boolean {
    return !this.db.open;
  }

  private readonly commitHooks = new Set<() => void>();
  private readonly rollbackHooks = new Set<() => void>();

  relaxed<T>(fn: () => T): T {
    if (this.db.inTransaction) return this.transaction(fn);
    // SQLite refuses to change the safety level inside a transaction: around it, then back.
    this.syncNormal.run();
    try {
      return this.transaction(fn);
    } finally {
      if (this.db.open) this.syncFull.run();
    }
  }

  private fullSinceMs: number | undefined;

  storage(): StorageState {
    return { full: this.fullSinceMs !== undefined, fullSinceMs: this.fullSinceMs };
  }

  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return this.db.transaction(fn).immediate();
    try {
      const out =
        this.commitHooks.size === 0
          ? this.db.transaction(fn).immediate()
          : this.db
              .transaction(() => {
                for (const hook of this.commitHooks) hook();
                return fn();
              })
              .immediate();
      if (this.fullSinceMs !== undefined) {
        this.log.warn({ fullForS: Math.round((this.clock.now() - this.fullSinceMs) / 1000) }, "data disk has room again: the store commits");
        this.fullSinceMs = undefined;
      }
      return out;
    } catch (e) {
      if (isDiskFull(e) && this.fullSinceMs === undefined) {
        this.fullSinceMs = this.clock.now();
        // Once per episode, not per failed write: a full disk fails every commit.
        this.log.error({ path: this.path }, "data disk full: the store cannot commit; commands are refused (internal, resend) and lock work waits until space returns");
      }
      for (const hook of this.rollbackHooks) {
        try {
          hook();
        } catch (hookError) {
          this.log.error({ err: errorMessage(hookError) }, "rebuilding a copy of the store after a rollback failed");
        }
      }
      throw e;
    }
  }

  afterRollback(hook: () => void): () => void {
    this.rollbackHooks.add(hook);
    return () => void this.rollbackHooks.delete(hook);
  }

  beforeCommit(hook: () => void): () => void {
    this.commitHooks.add(hook);
    return () => void this.commitHooks.delete(hook);
  }

  schemaVersion(): number {
    return schemaVersionOf(this.db);
  }

  integrityCheck(): string[] {
    return (this.db.pragma("integrity_check") as { integrity_check: string }[]).map((r) => r.integrity_check);
  }

  sizeBytes(): number {
    const size = (file: string): number => {
      try {
        return fs.statSync(file).size;
      } catch {
        return 0; // no WAL file at the moment
      }
    };
    return size(this.path) + size(`${this.path}-wal`);
  }

  backup(file: string): Promise<BackupResult> {
    return backupDatabase(this.db, file);
  }

  close(): void {
    if (!this.db.open) return;
    try {
      this.db.pragma("optimize");
    } catch (e) {
      this.log.warn({ err: errorMessage(e) }, "PRAGMA optimize failed at close");
    }
    this.db.close();
    this.unwatchDisk();
    this.log.info({ path: this.path }, "store closed");
  }
}

/** Online backup of an open store to `file` (the `lockbridge store backup` path when the hub runs it). */
export function backupStore(store: Store, file: string): Promise<BackupResult> {
  return store.backup(file);
}
