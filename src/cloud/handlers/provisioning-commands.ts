/**
 * The ports through which the provisioning side gives the cloud's command handling its
 * meaning, all passed when the cloud sync is built (nothing is swapped in later):
 * - the handlers of the commands whose effect is the lock fleet's (they talk to locks or
 *   explain keys);
 * - the effects of a desired-state change beyond the store rows (keys concerned re-derived),
 *   run inside the command's own transaction, right after its store writes.
 */
import type { HandlerFor } from "../registry.js";
import type { CommandName } from "../schemas.js";

export const PROVISIONING_COMMANDS = [
  "lock.commission",
  "lock.decommission",
  "door.unlock",
  "doorcode.regenerate",
  "keycard.replace",
  "diagnose",
  "firmware.update",
] as const satisfies readonly CommandName[];

export type ProvisioningCommand = (typeof PROVISIONING_COMMANDS)[number];

export type ProvisioningCommandHandlers = { readonly [N in ProvisioningCommand]: HandlerFor<N> };

export interface DesiredStateEffects {
  /** site.configure stored: time zone and credential types change every key. */
  siteChanged(): void;
  /** door.upsert/remove is about to change the door: @returns keys to re-derive afterwards too (those of its lock now). */
  doorChanging(doorId: string): string[];
  /** The door was stored or removed; `keysBefore` is what doorChanging returned. */
  doorChanged(doorId: string, keysBefore: readonly string[]): void;
  /** keycards.upsert stored these cards (a UID may have changed under a key). */
  keycardsChanged(cardIds: readonly string[]): void;
  /** A complete sync.snapshot is about to replace the desired state. */
  snapshotApplying(): void;
  /** It did: keys it left alone still see its doors and site. */
  snapshotApplied(): void;
}
