/**
 * A typed outcome for rules that can refuse their input. The access rules never throw
 * for bad input: callers (the cloud boundary, the engine) decide whether a refusal is a
 * command error, a status reason or a diagnosis finding.
 */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });
