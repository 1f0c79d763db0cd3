/**
 * The command layer's extension seam: one handler per command name, each with the zod
 * schema of its params (from COMMAND_SCHEMAS: the schema gives the handler's input type).
 *
 * A handler's store writes and the command's stored response commit in ONE transaction:
 * the handler does its writes inside `ctx.commit(fn)`, which also stores the response that
 * `fn` returns. Slow work (talking to a lock) happens before the commit, outside any
 * transaction. The broker gets its PUBACK only after the commit (see connection.ts).
 *
 *   registry.register("door.remove", {
 *     schema: COMMAND_SCHEMAS["door.remove"],
 *     handle: (cmd, ctx) => ctx.commit(() => { ...store writes...; return { result: {} }; }),
 *   });
 *
 * A handler refuses a command by throwing LockBridgeError with a contract code (unknown_key,
 * lock_offline...); anything else thrown is answered `internal` and logged. Events emitted
 * and status changes reported inside commit() are kept only if the commit succeeds.
 */
import type { z } from "zod";
import type { KeyStatus } from "../access/model.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import type { HubEventInput } from "./events.js";
import { COMMAND_SCHEMAS, type CommandName } from "./schemas.js";

export interface HandlerOutcome {
  result: Record<string, unknown> | KeyStatus;
  warnings?: string[];
}

/** What a handler sees of the command besides its params. */
export interface CommandMeta {
  readonly id: string;
  readonly cmd: CommandName;
  /** The command's `ts`, ms since epoch. */
  readonly ts: number;
  /** When the hub took it from the broker (hub clock), ms since epoch. */
  readonly receivedAt: number;
}

export interface CommandContext {
  readonly meta: CommandMeta;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Runs `fn` in one store transaction together with storing the response built from its
   * outcome. Call it at most once, last; return its outcome from handle(). Throwing inside
   * `fn` rolls everything back (events and status changes included).
   */
  commit(fn: () => HandlerOutcome): HandlerOutcome;
  /** Appends an event to the outbox; inside commit() it is part of the command's transaction. */
  emit(event: HubEventInput): void;
  /** Marks a key's retained status as changed (published, debounced, after the commit). */
  keyChanged(keyId: string): void;
  /** Marks a lock's retained status as changed. */
  lockChanged(lockId: string): void;
  /** Signals that the answer should no longer be produced (the handler's budget ran out). */
  readonly signal: AbortSignal;
}

export interface CommandHandler<S extends z.ZodType = z.ZodType> {
  /** Validates the whole command (envelope + params); the first bad field becomes `path`. */
  readonly schema: S;
  /** Needs a valid `sig` and a fresh `ts` when the cloud's command key is configured. */
  readonly signed?: boolean;
  /** Budget for handle(); past it the command is answered `internal` (timed out). Default 20 s. */
  readonly timeoutMs?: number;
  /**
   * The handler honours ctx.signal (its queued lock work is cancelled when the budget runs
   * out): it is waited for this long after the abort, and its own outcome is the answer.
   */
  readonly cancelGraceMs?: number;
  handle(cmd: z.output<S>, ctx: CommandContext): HandlerOutcome | Promise<HandlerOutcome>;
}

export type HandlerFor<N extends CommandName> = CommandHandler<(typeof COMMAND_SCHEMAS)[N]>;

/** A handler for `name` with the contract's schema filled in. */
export function defineHandler<N extends CommandName>(
  name: N,
  handle: HandlerFor<N>["handle"],
  options: { signed?: boolean; timeoutMs?: number; cancelGraceMs?: number } = {},
): HandlerFor<N> {
  return { schema: COMMAND_SCHEMAS[name], handle, ...options };
}

export class CommandRegistry {
  private readonly handlers = new Map<CommandName, CommandHandler>();

  /** Registers (or replaces) the handler of a contract command. */
  register<N extends CommandName>(name: N, handler: HandlerFor<N>): this {
    this.handlers.set(name, handler as unknown as CommandHandler);
    return this;
  }

  get(name: CommandName): CommandHandler | undefined {
    return this.handlers.get(name);
  }

  names(): CommandName[] {
    return [...this.handlers.keys()];
  }
}
