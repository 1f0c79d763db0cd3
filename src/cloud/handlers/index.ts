/**
 * The hub's command registry: every command of the contract with its handler. The
 * provisioning engine replaces the placeholders of PROVISIONING_COMMANDS with
 * registry.register(...) and passes its KeyCommands (see key-commands.ts).
 */
import type { Store } from "../../store/index.js";
import { CommandRegistry } from "../registry.js";
import type { Outbox } from "../outbox.js";
import { registerDesiredStateHandlers } from "./desired-state.js";
import { registerHubHandlers, type HubFacts } from "./hub.js";
import type { KeyCommands } from "./key-commands.js";
import { registerPendingHandlers } from "./pending.js";
import { registerSnapshotHandler } from "./snapshot.js";

export interface CommandHandlersDeps {
  store: Store;
  outbox: Outbox;
  keys: KeyCommands;
  facts: () => HubFacts;
}

export function createCommandRegistry(deps: CommandHandlersDeps): CommandRegistry {
  const registry = new CommandRegistry();
  registerDesiredStateHandlers(registry, deps);
  registerSnapshotHandler(registry, deps);
  registerHubHandlers(registry, deps);
  registerPendingHandlers(registry);
  return registry;
}

export { storeOnlyKeyCommands, provisionalKeyStatus, type KeyCommands, type KeyChangeContext, type KeyChangeOutcome } from "./key-commands.js";
export { PROVISIONING_COMMANDS, type ProvisioningCommand } from "./pending.js";
export { hubSummary, needsSnapshot, type HubFacts } from "./hub.js";
export { applySnapshot, type SnapshotResult } from "./snapshot.js";
