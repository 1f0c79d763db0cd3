/**
 * What a failed lock request means for the engine. Branches on error codes only.
 */
import { isLockBridgeError, type LockBridgeError } from "../../shared/errors.js";
import { nakName, type NakName } from "../../protocol/llp/constants.js";

export type LockFailure =
  /** No answer, or the link is down: wait for the lock, then retry. */
  | { kind: "unreachable" }
  /** The lock refused the request. */
  | { kind: "nak"; nak: NakName | undefined; conflictingSlot?: number; retryAfterMs?: number }
  /** The lock does not accept our sealing (factory reset, or a counter out of step). */
  | { kind: "not_paired" }
  /** IDENT shows another lock. */
  | { kind: "identity" }
  | { kind: "other" };

/** NAK details as the lock client puts them in the error's context (src/lock/errors.ts LockNakError). */
function nakOf(e: LockBridgeError): { name: NakName | undefined; conflictingSlot?: number; retryAfterMs?: number } {
  const ctx = (e.context ?? {}) as Record<string, unknown>;
  let name: NakName | undefined;
  if (typeof ctx.nak === "string" && ctx.nak !== "UNKNOWN") name = ctx.nak as NakName;
  else if (typeof ctx.nakCode === "number") name = nakName(ctx.nakCode);
  const out: { name: NakName | undefined; conflictingSlot?: number; retryAfterMs?: number } = { name };
  if (typeof ctx.conflictingSlot === "number") out.conflictingSlot = ctx.conflictingSlot;
  if (typeof ctx.retryAfterMs === "number") out.retryAfterMs = ctx.retryAfterMs;
  return out;
}

export function classifyLockError(e: unknown): LockFailure {
  if (!isLockBridgeError(e)) return { kind: "other" };
  switch (e.code) {
    case "lock_timeout":
    case "lock_offline":
    case "transport_closed":
    case "transport_unavailable":
    case "ble_unavailable":
      return { kind: "unreachable" };
    case "lock_not_paired":
      return { kind: "not_paired" };
    case "lock_identity_mismatch":
      return { kind: "identity" };
    case "lock_nak":
    case "lock_rejected": {
      const n = nakOf(e);
      if (n.name === "NOT_AUTHENTICATED") return { kind: "not_paired" };
      const f: LockFailure = { kind: "nak", nak: n.name };
      if (n.conflictingSlot !== undefined) f.conflictingSlot = n.conflictingSlot;
      if (n.retryAfterMs !== undefined) f.retryAfterMs = n.retryAfterMs;
      return f;
    }
    default:
      return { kind: "other" };
  }
}
