/**
 * Commands whose effect is the provisioning engine's (they talk to locks or explain keys).
 * Until it registers its handlers, each is validated by its schema and answered
 * `internal` / "not available yet": never a crash, never a silent success.
 */
import { LockBridgeError } from "../../shared/errors.js";
import { defineHandler, type CommandRegistry } from "../registry.js";
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

export function registerPendingHandlers(registry: CommandRegistry): void {
  for (const name of PROVISIONING_COMMANDS) {
    registry.register(
      name,
      defineHandler(name, () => {
        throw new LockBridgeError("internal", `${name} is not available yet`);
      }),
    );
  }
}
