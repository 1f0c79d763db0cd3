/** Responses on `{base}/res` (mqtt-api.md §3) and the mapping of hub errors to contract codes. */
import { CONTRACT_ERROR_CODES, isLockBridgeError, type ContractErrorCode } from "../shared/errors.js";

export interface OkResponse {
  id: string;
  cmd: string;
  ok: true;
  result: Record<string, unknown>;
  warnings: string[];
}

export interface ErrorResponse {
  id: string | null;
  cmd: string | null;
  ok: false;
  error: { code: ContractErrorCode; message: string; path?: string };
}

export type CommandResponse = OkResponse | ErrorResponse;

export function okResponse(id: string, cmd: string, result: object, warnings: readonly string[] = []): OkResponse {
  return { id, cmd, ok: true, result: result as Record<string, unknown>, warnings: [...warnings] };
}

export function errorResponse(id: string | null, cmd: string | null, code: ContractErrorCode, message: string, path?: string): ErrorResponse {
  return { id, cmd, ok: false, error: { code, message, ...(path !== undefined && path !== "" && { path }) } };
}

const CONTRACT_CODES: ReadonlySet<string> = new Set(CONTRACT_ERROR_CODES);

/** Internal error codes that have a contract meaning. */
const INTERNAL_TO_CONTRACT: Readonly<Record<string, ContractErrorCode>> = {
  lock_timeout: "lock_offline",
  transport_closed: "lock_offline",
  transport_unavailable: "lock_offline",
  ble_unavailable: "lock_offline",
  lock_nak: "lock_rejected",
  lock_not_paired: "lock_rejected",
  lock_identity_mismatch: "lock_rejected",
  profile_invalid: "unknown_profile",
};

/** A thrown value as a contract error; `internal` for anything unexpected (the caller logs it). */
export function toContractError(e: unknown): { code: ContractErrorCode; message: string; path?: string; unexpected: boolean } {
  if (isLockBridgeError(e)) {
    if (CONTRACT_CODES.has(e.code)) return { code: e.code as ContractErrorCode, message: e.message, ...(e.path !== undefined && { path: e.path }), unexpected: false };
    const mapped = INTERNAL_TO_CONTRACT[e.code];
    if (mapped) return { code: mapped, message: e.message, ...(e.path !== undefined && { path: e.path }), unexpected: false };
  }
  return { code: "internal", message: "internal error", unexpected: true };
}
