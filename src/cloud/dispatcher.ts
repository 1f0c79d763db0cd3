/**
 * One command in, one response out (mqtt-api.md §3), with the delivery rules:
 *
 *   size <= 128 KiB? (else payload_too_large, id null, nothing stored) -> parse JSON
 *   -> usable id? (else id null) -> seen before? (stored response) -> envelope -> known cmd?
 *   -> door.unlock dated in the future? -> signature + fresh ts (every state-changing
 *   command, when the hub has the cloud's key) -> expiry -> params schema
 *   -> handler (its writes + the stored response in one transaction) -> response
 *
 * Every response to a command with a usable id is stored in the inbox, refusals included,
 * so the same id always gets the same answer. dispatch() never throws: whatever a handler
 * does, the caller gets a response, and it resolves only once the response is committed,
 * which is when the connection may send the PUBACK.
 */
import type { KeyObject } from "node:crypto";
import { isDiskFull, type Store } from "../store/index.js";
import type { Clock } from "../shared/clock.js";
import { errorMessage, LockBridgeError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { verifyCommandSignature } from "./canonical.js";
import type { HubEventInput } from "./events.js";
import type { CommandContext, CommandMeta, CommandRegistry, HandlerOutcome } from "./registry.js";
import { errorResponse, okResponse, toContractError, type CommandResponse } from "./responses.js";
import { commandIdSchema, echo, envelopeSchema, firstIssue, isCommandName, SIGNED_COMMANDS } from "./schemas.js";

/** The largest command payload (mqtt-api.md §3 "Size limits"); larger is refused unparsed. */
export const MAX_COMMAND_BYTES = 128 * 1024;

/** A signed command's ts must be within this of the hub's clock. */
export const SIGNATURE_MAX_SKEW_MS = 5 * 60 * 1000;
/** door.unlock without expiresAt expires this long after its ts. */
export const UNLOCK_IMPLICIT_EXPIRY_MS = 30 * 1000;
export const DEFAULT_HANDLER_TIMEOUT_MS = 20_000;
/** The answer to a command the hub could not commit for lack of space (docs/reliability.md). */
export const DISK_FULL_MESSAGE = "the hub's data disk is full: the command was not committed; send it again with the same id once space returns";

export interface DispatcherDeps {
  store: Store;
  registry: CommandRegistry;
  clock: Clock;
  log: Logger;
  /** Appends an event (the Outbox). */
  emit(event: HubEventInput): number;
  /** The cloud's Ed25519 command key; signed commands are checked only when set. */
  commandKey?: KeyObject | undefined;
  /** Told, after each command, which key and lock statuses it changed. */
  onStatusChanges?(keys: ReadonlySet<string>, locks: ReadonlySet<string>): void;
}

export interface Dispatched {
  response: CommandResponse;
  /** The response came from the inbox: the command had been handled before. */
  duplicate: boolean;
}

export class Dispatcher {
  constructor(private readonly deps: DispatcherDeps) {}

  async dispatch(payload: Buffer | string): Promise<Dispatched> {
    const { log } = this.deps;
    const size = typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
    if (size > MAX_COMMAND_BYTES) {
      // Neither parsed nor stored: a flood of huge commands must not grow memory or the store.
      log.warn({ bytes: size }, "command refused unread: payload too large");
      return { response: errorResponse(null, null, "payload_too_large", `payload is ${size} bytes; at most ${MAX_COMMAND_BYTES} bytes (128 KiB)`), duplicate: false };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof payload === "string" ? payload : payload.toString("utf8"));
    } catch {
      return { response: errorResponse(null, null, "invalid_payload", "payload is not JSON"), duplicate: false };
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      return { response: errorResponse(null, null, "invalid_payload", "expected a JSON object"), duplicate: false };
    }
    const raw = parsed as Record<string, unknown>;
    const cmdName = typeof raw.cmd === "string" && raw.cmd.length <= 64 ? raw.cmd : null;
    const id = commandIdSchema.safeParse(raw.id);
    if (!id.success) {
      return { response: errorResponse(null, cmdName, "invalid_payload", id.error.issues[0]?.message ?? "expected an id", "id"), duplicate: false };
    }

    try {
      const seen = this.deps.store.inbox.get<CommandResponse>(id.data);
      if (seen) {
        log.info({ id: id.data, cmd: seen.cmd }, "command seen before: stored response sent again");
        return { response: seen.response, duplicate: true };
      }
    } catch (e) {
      log.error({ err: errorMessage(e), id: id.data }, "inbox lookup failed");
      return { response: errorResponse(id.data, cmdName, "internal", "internal error"), duplicate: false };
    }

    const response = await this.handle(id.data, raw);
    return { response, duplicate: false };
  }

  /** Everything after dedup; a refusal is not stored, a handled command's response is (by its commit or here). */
  private async handle(id: string, raw: Record<string, unknown>): Promise<CommandResponse> {
    const { clock } = this.deps;
    const receivedAt = clock.now();
    const cmdName = typeof raw.cmd === "string" && raw.cmd.length <= 64 ? raw.cmd : null;
    // A refusal changed nothing, so it is not stored: a flood of unsigned or malformed commands
    // with fresh ids must not grow the store, and the same bytes sent again are refused again.
    const refuse = (code: Parameters<typeof errorResponse>[2], message: string, path?: string) =>
      errorResponse(id, cmdName, code, message, path);

    const envelope = envelopeSchema.safeParse(raw);
    if (!envelope.success) {
      const issue = firstIssue(envelope.error);
      return refuse("invalid_payload", issue.message, issue.path);
    }
    const env = envelope.data;
    if (!isCommandName(env.cmd)) return refuse("unknown_command", `unknown command "${echo(env.cmd)}"`, "cmd");
    const handler = this.deps.registry.get(env.cmd);
    if (!handler) return refuse("unknown_command", `no handler for "${env.cmd}"`, "cmd");
    const ts = Date.parse(env.ts);

    // A remote opening dated ahead would otherwise stay valid until then: never, key or not.
    if (env.cmd === "door.unlock" && ts - receivedAt > SIGNATURE_MAX_SKEW_MS) {
      return refuse("invalid_payload", "door.unlock ts is more than 5 minutes ahead of the hub's clock", "ts");
    }

    const signed = handler.signed ?? SIGNED_COMMANDS.has(env.cmd);
    if (signed && this.deps.commandKey) {
      if (env.sig === undefined) return refuse("unauthorized", `${env.cmd} must be signed: sig missing`, "sig");
      if (Math.abs(receivedAt - ts) > SIGNATURE_MAX_SKEW_MS) return refuse("unauthorized", "ts is more than 5 minutes from the hub's clock", "ts");
      if (!verifyCommandSignature(raw, env.sig, this.deps.commandKey)) return refuse("unauthorized", "invalid signature", "sig");
    }

    if (env.expiresAt !== undefined && Date.parse(env.expiresAt) <= receivedAt) return refuse("expired", `expired at ${env.expiresAt}`, "expiresAt");
    if (env.cmd === "door.unlock" && env.expiresAt === undefined && ts + UNLOCK_IMPLICIT_EXPIRY_MS <= receivedAt) {
      return refuse("expired", "door.unlock expires 30 seconds after its ts", "ts");
    }

    const params = handler.schema.safeParse(raw);
    if (!params.success) {
      const issue = firstIssue(params.error, handler.schema);
      return refuse("invalid_payload", issue.message, issue.path);
    }

    const meta: CommandMeta = { id, cmd: env.cmd, ts, receivedAt };
    return this.run(meta, handler.timeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS, handler.cancelGraceMs ?? 0, (ctx) => handler.handle(params.data, ctx));
  }

  /**
   * Runs a handler within its budget. Past it, ctx.signal is aborted; a handler that honours
   * it (cancelGraceMs > 0: its queued lock work is cancelled) is waited for that long, so the
   * answer says what really happened (cancelled, or done after all). Once answered, commit()
   * refuses: nothing acts after the caller was answered.
   */
  private async run(
    meta: CommandMeta,
    timeoutMs: number,
    cancelGraceMs: number,
    call: (ctx: CommandContext) => HandlerOutcome | Promise<HandlerOutcome>,
  ): Promise<CommandResponse> {
    const { store, clock, log } = this.deps;
    const keys = new Set<string>();
    const locks = new Set<string>();
    const abort = new AbortController();
    let committed: CommandResponse | undefined;
    let answered = false;

    let commandLog: Logger | undefined;
    const ctx: CommandContext = {
      meta,
      clock,
      // Made on first use: a pino child costs ~0.1 ms (its bindings go through redaction), a
      // sixth of a command's round trip, and most handlers never log (docs/performance.md).
      get log() {
        return (commandLog ??= log.child({ commandId: meta.id, cmd: meta.cmd }));
      },
      signal: abort.signal,
      emit: (event) => void this.deps.emit(event),
      keyChanged: (keyId) => void keys.add(keyId),
      lockChanged: (lockId) => void locks.add(lockId),
      commit: (fn) => {
        if (answered) throw new LockBridgeError("internal", "the command was already answered (timed out)");
        if (committed) throw new LockBridgeError("internal", "commit() called twice");
        let response: CommandResponse | undefined;
        const outcome = store.transaction(() => {
          const out = fn();
          response = okResponse(meta.id, meta.cmd, out.result, out.warnings);
          store.inbox.put(meta.id, meta.cmd, response, meta.receivedAt);
          return out;
        });
        // Only now: the COMMIT itself can fail (disk full) after fn and the inbox write ran,
        // and a response taken from inside would answer ok for a change rolled back.
        committed = response;
        return outcome;
      },
    };

    let response: CommandResponse;
    let timer: { cancel(): void } | undefined;
    const handled = Promise.resolve().then(() => call(ctx));
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = clock.setTimeout(() => reject(new HandlerTimeout(timeoutMs)), timeoutMs);
      });
      const outcome = await Promise.race([handled, timeout]).catch(async (e: unknown) => {
        if (!(e instanceof HandlerTimeout) || cancelGraceMs <= 0) throw e;
        abort.abort();
        timer?.cancel();
        return this.afterCancel(handled, e, cancelGraceMs);
      });
      answered = true;
      response = committed ?? this.store(okResponse(meta.id, meta.cmd, outcome.result, outcome.warnings));
    } catch (e) {
      answered = true;
      abort.abort();
      if (committed) {
        // The effect is committed with its response; what went wrong after it does not change the answer.
        log.error({ err: errorMessage(e), id: meta.id, cmd: meta.cmd }, "handler failed after its commit");
        response = committed;
      } else if (isDiskFull(e)) {
        // Its commit failed, and the refusal cannot be stored either: not storing it is what
        // lets the cloud's resend of the same id apply the command once space returns.
        log.error({ id: meta.id, cmd: meta.cmd }, "command not applied: data disk full");
        response = errorResponse(meta.id, meta.cmd, "internal", DISK_FULL_MESSAGE);
      } else {
        const err = e instanceof HandlerTimeout ? { code: "internal" as const, message: e.message, unexpected: false } : toContractError(e);
        if (e instanceof HandlerTimeout) log.error({ id: meta.id, cmd: meta.cmd, timeoutMs }, "command handler timed out");
        else if (err.unexpected) log.error({ err: e, id: meta.id, cmd: meta.cmd }, "command handler failed");
        response = this.store(errorResponse(meta.id, meta.cmd, err.code, err.message, "path" in err ? err.path : undefined));
      }
    } finally {
      timer?.cancel();
    }
    if (keys.size > 0 || locks.size > 0) {
      try {
        this.deps.onStatusChanges?.(keys, locks);
      } catch (e) {
        log.error({ err: errorMessage(e) }, "status change notification failed");
      }
    }
    return response;
  }

  /** After a cancel: the handler's own outcome if it settles within the grace, else the timeout. */
  private async afterCancel(handled: Promise<HandlerOutcome>, timedOut: HandlerTimeout, graceMs: number): Promise<HandlerOutcome> {
    let grace: { cancel(): void } | undefined;
    try {
      return await Promise.race([
        handled,
        new Promise<never>((_, reject) => {
          grace = this.deps.clock.setTimeout(() => reject(timedOut), graceMs);
        }),
      ]);
    } finally {
      grace?.cancel();
    }
  }

  /** Stores a response in the inbox; a store failure still answers (internal), unstored. */
  private store(response: CommandResponse): CommandResponse {
    if (response.id === null) return response;
    try {
      this.deps.store.inbox.put(response.id, response.cmd ?? "", response, this.deps.clock.now());
      return response;
    } catch (e) {
      if (isDiskFull(e)) {
        // What the handler did (a read, a door opened, a refusal) is still the truth: answered
        // unstored rather than as a failure; a resend of the id is handled afresh.
        this.deps.log.warn({ id: response.id, cmd: response.cmd }, "response not stored: data disk full");
        return response;
      }
      this.deps.log.error({ err: errorMessage(e), id: response.id }, "could not store the response");
      return errorResponse(response.id, response.cmd, "internal", "internal error: the hub could not store the command");
    }
  }
}

/** A handler ran past its budget; the command is answered `internal`. */
class HandlerTimeout extends LockBridgeError {
  constructor(timeoutMs: number) {
    super("internal", `command timed out after ${timeoutMs / 1000} s`);
  }
}
