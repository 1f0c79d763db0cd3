import { LockBridgeError } from "../shared/errors.js";
import type { LlpCommandName, Nak, NakName } from "../protocol/llp/index.js";

/** The lock answered NAK: branch on `nak` (the spec's name), not on the message. */
export class LockNakError extends LockBridgeError {
  readonly nak: NakName | "UNKNOWN";
  readonly nakCode: number;
  readonly command: LlpCommandName;
  readonly conflictingSlot: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly expectedOffset: number | undefined;

  constructor(lockId: string, command: LlpCommandName, nak: Nak) {
    const name = nak.name ?? "UNKNOWN";
    super("lock_nak", `lock ${lockId} refused ${command}: ${name}`, undefined, {
      lockId,
      command,
      nak: name,
      nakCode: nak.code,
      ...(nak.conflictingSlot !== undefined && { conflictingSlot: nak.conflictingSlot }),
      ...(nak.retryAfterMs !== undefined && { retryAfterMs: nak.retryAfterMs }),
      ...(nak.expectedOffset !== undefined && { expectedOffset: nak.expectedOffset }),
    });
    this.nak = name;
    this.nakCode = nak.code;
    this.command = command;
    this.conflictingSlot = nak.conflictingSlot;
    this.retryAfterMs = nak.retryAfterMs;
    this.expectedOffset = nak.expectedOffset;
  }
}

export function isLockNak(e: unknown, name?: NakName): e is LockNakError {
  return e instanceof LockNakError && (name === undefined || e.nak === name);
}

export function lockTimeout(lockId: string, command: LlpCommandName, attempts: number, offline: boolean): LockBridgeError {
  return new LockBridgeError(
    "lock_timeout",
    `lock ${lockId} did not answer ${command} after ${attempts} attempt(s)${offline ? " (offline)" : ""}`,
    undefined,
    { lockId, command, attempts, offline },
  );
}
