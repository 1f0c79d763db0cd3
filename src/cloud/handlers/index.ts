/**
 * The hub's command registry: every command of the contract with its handler, built once.
 * The store's own commands are here; the provisioning side passes the handlers of
 * PROVISIONING_COMMANDS and its desired-state effects when the cloud sync is built.
 */
import type { Store } from "../../store/index.js";
import { CommandRegistry } from "../registry.js";
import type { Outbox } from "../outbox.js";
import { registerDesiredStateHandlers } from "./desired-state.js";
import { registerHubHandlers, type HubFacts } from "./hub.js";
import type { KeyCommands } from "./key-commands.js";
import { PROVISIONING_COMMANDS, type DesiredStateEffects, type ProvisioningCommand, type ProvisioningCommandHandlers } from "./provisioning-commands.js";
import { registerSnapshotHandler } from "./snapshot.js";
import type { HandlerFor } from "../registry.js";

export interface CommandHandlersDeps {
  store: Store;
  outbox: Outbox;
  keys: KeyCommands;
  facts: () => HubFacts;
  /** Without them (a store-only cloud) those commands are answered unknown_command. */
  provisioning?: { commands: ProvisioningCommandHandlers; effects: DesiredStateEffects } | undefined;
}

export function createCommandRegistry(deps: CommandHandlersDeps): CommandRegistry {
  const registry = new CommandRegistry();
  registerDesiredStateHandlers(registry, { ...deps, effects: deps.provisioning?.effects });
  registerSnapshotHandler(registry, { ...deps, effects: deps.provisioning?.effects });
  registerHubHandlers(registry, deps);
  const commands = deps.provisioning?.commands;
  if (commands) for (const name of PROVISIONING_COMMANDS) registerOne(registry, name, commands[name]);
  return registry;
}

function registerOne<N extends ProvisioningCommand>(registry: CommandRegistry, name: N, handler: HandlerFor<N>): void {
  registry.register(name, handler);
}

export { type KeyCommands, type KeyChangeContext, type KeyChangeOutcome } from "./key-commands.js";
export { PROVISIONING_COMMANDS, type DesiredStateEffects, type ProvisioningCommand, type ProvisioningCommandHandlers } from "./provisioning-commands.js";
export { hubSummary, needsSnapshot, type HubFacts } from "./hub.js";
export { applySnapshot, type SnapshotResult } from "./snapshot.js";
