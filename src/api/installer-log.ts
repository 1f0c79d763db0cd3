/**
 * Installer actions as a log: every action asked through the local API (console or CLI) is
 * recorded when it starts and when it ends (ok, refused, failed), with who asked (the peer's
 * address). Kept in <dataDir>/installer-actions.jsonl (0600, one JSON line per entry, trimmed to
 * the newest MAX_FILE_ENTRIES on start) and in memory for the console, which shows it live in
 * its Events page. Local only: the contract's event types (mqtt-api.md §5) are the cloud's, and
 * an installer action's effects reach the cloud through them anyway (lock.online,
 * credential.provisioned...). No entry holds a secret: targets are ids, details are outcomes.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";

export interface InstallerEntry {
  at: string;
  /** "commission", "decommission", "replace", "doctor", "backup", "rotate-token"... */
  action: string;
  /** The lock, door or key acted on, when there is one. */
  target?: string;
  outcome: "started" | "ok" | "refused" | "failed";
  /** The refusal's code and message, the backup's file name... never a secret. */
  detail?: string;
  /** The peer's address. */
  from: string;
}

const MEMORY_ENTRIES = 200;
const MAX_FILE_ENTRIES = 5000;

export class InstallerLog {
  private entries: InstallerEntry[] = [];
  private readonly listeners = new Set<(e: InstallerEntry) => void>();

  constructor(
    private readonly file: string | undefined,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    if (file === undefined) return;
    try {
      const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "");
      if (lines.length > MAX_FILE_ENTRIES) writeFileSync(file, `${lines.slice(-MAX_FILE_ENTRIES).join("\n")}\n`, { mode: 0o600 });
      for (const line of lines.slice(-MEMORY_ENTRIES)) {
        try {
          this.entries.push(JSON.parse(line) as InstallerEntry);
        } catch {
          // a torn last line after a crash: skipped
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") log.warn({ err: errorMessage(e) }, "installer action log unreadable; starting a new one");
    }
  }

  record(entry: Omit<InstallerEntry, "at">): InstallerEntry {
    const full: InstallerEntry = { at: this.now().toISOString(), ...entry };
    this.entries.push(full);
    if (this.entries.length > MEMORY_ENTRIES) this.entries.splice(0, this.entries.length - MEMORY_ENTRIES);
    this.log.info({ installerAction: full.action, target: full.target, outcome: full.outcome, detail: full.detail, from: full.from }, "installer action");
    if (this.file !== undefined) {
      try {
        appendFileSync(this.file, `${JSON.stringify(full)}\n`, { mode: 0o600 });
      } catch (e) {
        this.log.warn({ err: errorMessage(e) }, "could not append to the installer action log");
      }
    }
    for (const l of this.listeners) l(full);
    return full;
  }

  recent(): InstallerEntry[] {
    return [...this.entries];
  }

  subscribe(listener: (e: InstallerEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
