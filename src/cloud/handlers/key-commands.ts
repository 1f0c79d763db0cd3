/**
 * The seam between the command layer and the provisioning engine for keys.
 *
 * The command layer (keys.ts, snapshot.ts) owns validation, the version/stale rules and
 * the transaction; a `KeyCommands` implementation owns what a key change MEANS: code
 * allocation, keycard assignment, Protect Configuration, revocation and the key status.
 * Every method runs inside the command's transaction (synchronous: no lock I/O here; the
 * engine reconciles locks afterwards) and reports the keys/locks whose status changed.
 * The provisioning side's KeyService implements it and is passed when the cloud sync is built.
 */
import type { Key, KeyStatus } from "../../access/model.js";
import type { Clock } from "../../shared/clock.js";
import type { Logger } from "../../shared/logger.js";
import type { HubEventInput } from "../events.js";

/** What a key change may touch besides the store: events and status notifications. */
export interface KeyChangeContext {
  readonly clock: Clock;
  readonly log: Logger;
  /** "command": key.upsert/checkin/remove; "snapshot": applied as part of sync.snapshot. */
  readonly origin: "command" | "snapshot";
  emit(event: HubEventInput): void;
  keyChanged(keyId: string): void;
  lockChanged(lockId: string): void;
}

export interface KeyChangeOutcome {
  status: KeyStatus;
  warnings: string[];
}

export interface KeyCommands {
  /**
   * Applies a key that is NOT stale (the caller checked the version) and whose doors exist.
   * Throws LockBridgeError with a contract code to refuse it (keycard_in_use, code_unavailable...).
   */
  upsert(key: Key, ctx: KeyChangeContext): KeyChangeOutcome;
  /** key.checkin on a live key. */
  checkin(keyId: string, checkedIn: boolean, ctx: KeyChangeContext): KeyChangeOutcome;
  /** key.remove (not stale, the key exists): revoke its credentials everywhere. */
  remove(keyId: string, version: number, ctx: KeyChangeContext): KeyChangeOutcome;
  /** The key's current status; null once it is fully removed (empty retained payload). */
  status(keyId: string): KeyStatus | null;
}
