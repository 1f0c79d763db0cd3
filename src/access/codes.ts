/**
 * Door code allocation.
 *
 * Policies (mqtt-api.md `doorCode.assignment`):
 * - random (default): a fresh non-trivial code of the site's length, clamped into the code
 *   length range every target lock accepts;
 * - preferred: the requested code if it is acceptable, else a random one plus a warning;
 * - strict: the requested code or `code_unavailable`.
 *
 * A code is acceptable when it is digits only, its length suits every target lock, it is not
 * trivial (isTrivialCode), no other key holds it — or a code that is a prefix of it, or that
 * it is a prefix of — on any lock that will hold it (room + linked common doors), and it was
 * not revoked within the cooling-off period (site-wide). Requested codes face the same rules:
 * a trivial code on a shared lobby door is a risk whoever chose it.
 *
 * Randomness is injected (RandomSource) so tests are deterministic; the hub passes one backed
 * by crypto.randomInt.
 */
import type { CodeAssignment } from "./model.js";
import { err, ok, type Result } from "./result.js";

/** Uniform integers: int(n) returns 0..n-1. The hub's is `{ int: (n) => crypto.randomInt(n) }`. */
export interface RandomSource {
  int(maxExclusive: number): number;
}

/** A lock profile's code length range (IDENT codeMinLen/codeMaxLen). */
export interface CodeLengthRange {
  codeMinLen: number;
  codeMaxLen: number;
}

/** A lock that will hold the code. */
export interface CodeTargetLock {
  lockId: string;
  range: CodeLengthRange;
}

/** Which codes other keys hold per lock. DoorCodeIndex implements it. */
export interface CodeUsage {
  /** True if another key holds `code`, or a code that is a prefix of it or that it prefixes, on the lock. */
  isTaken(lockId: string, code: string): boolean;
}

export interface RevokedCode {
  code: string;
  revokedAtMs: number;
}

export const DEFAULT_COOLING_OFF_MS = 7 * 24 * 3_600_000;
/** Contract bounds of site.doorCodeLength; also the range used when no lock is known yet. */
export const MIN_CODE_LENGTH = 4;
export const MAX_CODE_LENGTH = 12;

export type CodeRefusal = "invalid_format" | "length_out_of_range" | "trivial" | "in_use" | "cooling_off";

export interface AllocationError {
  code: "code_unavailable";
  reason: CodeRefusal | "no_common_length" | "exhausted" | "no_requested_code";
  message: string;
}

export type AllocationWarning =
  | { code: "preferred_code_unavailable"; reason: CodeRefusal | "no_requested_code"; message: string }
  | { code: "code_length_adjusted"; length: number; message: string };

export interface Allocation {
  code: string;
  /** True when the key's current code was kept. */
  kept: boolean;
  warnings: AllocationWarning[];
}

export interface AllocationInput {
  assignment: CodeAssignment;
  /** The requested code (preferred, strict). */
  requested?: string | undefined;
  /** The key's current code, kept when it still fits the request and the locks. */
  current?: string | undefined;
  /** site.doorCodeLength */
  siteLength: number;
  /** Every lock the code will be on (room and linked common doors) with its range. */
  locks: readonly CodeTargetLock[];
  /** Codes of OTHER keys per lock. */
  usage: CodeUsage;
  /** Revoked codes (any key of the site); those within the cooling-off period are not reissued. */
  revoked: readonly RevokedCode[];
  /**
   * Codes out of reach now besides `revoked` (a caller's own up-to-date set: the hub keeps one
   * rather than building a list of every code of the site for each key it allocates).
   */
  unavailable?: { has(code: string): boolean } | undefined;
  coolingOffMs?: number | undefined;
  nowMs: number;
  random: RandomSource;
}

// ---------------------------------------------------------------------------------------------
// Trivial codes

/**
 * True for codes that are easy to guess. With digits d0..dn-1 (n = length), a code is trivial when:
 * 1. its digits step by a constant modulo 10: all the same (000000), ascending or descending
 *    runs including wraps (123456, 654321, 890123, 098765), constant steps (135791);
 * 2. it repeats a block of at most half its length: 121212, 123123, 1212, 12121;
 * 3. it reads the same backwards: 123321, 1221, 12321;
 * 4. it is made of doubled digits: 112233, 998877, 1122;
 * 5. it has six or more digits but only one or two distinct digits: 111112, 100100.
 * Anything not made of digits only is trivially refused too (not a code).
 */
export function isTrivialCode(code: string): boolean {
  if (!/^\d+$/.test(code)) return true;
  const d = [...code].map(Number);
  const n = d.length;
  if (n < 2) return true;
  const step = (((d[1] ?? 0) - (d[0] ?? 0)) % 10 + 10) % 10;
  if (d.every((x, i) => i === 0 || (((x - (d[i - 1] ?? 0)) % 10) + 10) % 10 === step)) return true;
  for (let p = 1; p <= n / 2; p++) {
    if (d.every((x, i) => i < p || x === d[i - p])) return true;
  }
  if (d.every((x, i) => x === d[n - 1 - i])) return true;
  if (n % 2 === 0 && d.every((x, i) => i % 2 === 0 || x === d[i - 1])) return true;
  if (n >= 6 && new Set(d).size <= 2) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Lengths

export interface LengthRange {
  min: number;
  max: number;
}

/** The code lengths every target lock accepts (no locks yet: the contract's 4..12), or undefined. */
export function commonLengthRange(locks: readonly CodeTargetLock[]): LengthRange | undefined {
  let min = MIN_CODE_LENGTH;
  let max = MAX_CODE_LENGTH;
  for (const l of locks) {
    min = Math.max(min, l.range.codeMinLen);
    max = Math.min(max, l.range.codeMaxLen);
  }
  return min <= max ? { min, max } : undefined;
}

/** The site's code length clamped into the common range. */
export function randomCodeLength(siteLength: number, locks: readonly CodeTargetLock[]): Result<{ length: number; adjusted: boolean }, AllocationError> {
  const range = commonLengthRange(locks);
  if (!range) {
    const ranges = locks.map((l) => `${l.lockId} ${l.range.codeMinLen}..${l.range.codeMaxLen}`).join(", ");
    return err({ code: "code_unavailable", reason: "no_common_length", message: `no code length suits every lock of this key (${ranges})` });
  }
  const length = Math.min(range.max, Math.max(range.min, siteLength));
  return ok({ length, adjusted: length !== siteLength });
}

// ---------------------------------------------------------------------------------------------
// Checks

/** Codes that may not be handed out (besides the checks on the code itself). */
type CodeSet = { has(code: string): boolean };

function coolingOffSet(input: Pick<AllocationInput, "revoked" | "unavailable" | "coolingOffMs" | "nowMs">): CodeSet {
  const window = input.coolingOffMs ?? DEFAULT_COOLING_OFF_MS;
  const revoked = new Set(input.revoked.filter((r) => r.revokedAtMs + window > input.nowMs).map((r) => r.code));
  const more = input.unavailable;
  return more ? { has: (code) => revoked.has(code) || more.has(code) } : revoked;
}

/** Why a code cannot be given to this key now, or undefined if it can. */
export function refuseCode(
  code: string,
  input: Pick<AllocationInput, "locks" | "usage" | "revoked" | "unavailable" | "coolingOffMs" | "nowMs">,
  cooling: CodeSet = coolingOffSet(input),
): CodeRefusal | undefined {
  if (!/^\d+$/.test(code)) return "invalid_format";
  const range = commonLengthRange(input.locks);
  if (!range || code.length < range.min || code.length > range.max) return "length_out_of_range";
  if (isTrivialCode(code)) return "trivial";
  if (input.locks.some((l) => input.usage.isTaken(l.lockId, code))) return "in_use";
  if (cooling.has(code)) return "cooling_off";
  return undefined;
}

const REFUSAL_TEXT: Record<CodeRefusal | "no_requested_code", string> = {
  invalid_format: "is not made of digits only",
  length_out_of_range: "has a length a lock of this key does not accept",
  trivial: "is too easy to guess",
  in_use: "is already used on a lock of this key",
  cooling_off: "was revoked recently (cooling-off period)",
  no_requested_code: "was not given",
};

// ---------------------------------------------------------------------------------------------
// Allocation

const RANDOM_TRIES = 100;
/** Up to this many codes of a length, an exhaustive scan follows failed random tries. */
const SCAN_LIMIT = 1_000_000;

/** Draw a random acceptable code of the given length. */
export function randomCode(length: number, input: AllocationInput, cooling: CodeSet = coolingOffSet(input)): string | undefined {
  const draw = (): string => {
    let s = "";
    for (let i = 0; i < length; i++) s += String(input.random.int(10));
    return s;
  };
  for (let i = 0; i < RANDOM_TRIES; i++) {
    const c = draw();
    if (refuseCode(c, input, cooling) === undefined) return c;
  }
  // A crowded space (short codes, busy lobby lock): scan from a random point so that an
  // available code is always found if one exists.
  const space = 10 ** length;
  if (space > SCAN_LIMIT) return undefined;
  const start = Number(draw());
  for (let i = 0; i < space; i++) {
    const c = String((start + i) % space).padStart(length, "0");
    if (refuseCode(c, input, cooling) === undefined) return c;
  }
  return undefined;
}

/**
 * Give a key its door code per its assignment policy. Keeps the current code when it still
 * fits (random: any acceptable current code; preferred/strict: only if it is the requested
 * one), so re-running after unrelated changes never changes a guest's code.
 */
export function allocateDoorCode(input: AllocationInput): Result<Allocation, AllocationError> {
  const cooling = coolingOffSet(input);
  const current = input.current;
  if (current !== undefined && (input.assignment === "random" || current === input.requested)) {
    // The key's own current code is not "cooling off" for itself.
    const refusal = refuseCode(current, input, new Set());
    if (refusal === undefined) return ok({ code: current, kept: true, warnings: [] });
  }

  const warnings: AllocationWarning[] = [];
  if (input.assignment !== "random") {
    const requested = input.requested;
    const refusal = requested === undefined || requested === "" ? "no_requested_code" : refuseCode(requested, input, cooling);
    if (refusal === undefined && requested !== undefined) return ok({ code: requested, kept: false, warnings });
    const message = `the requested door code ${REFUSAL_TEXT[refusal ?? "no_requested_code"]}`;
    if (input.assignment === "strict") return err({ code: "code_unavailable", reason: refusal ?? "no_requested_code", message });
    warnings.push({ code: "preferred_code_unavailable", reason: refusal ?? "no_requested_code", message: `${message}; a random code was assigned instead` });
  }

  const len = randomCodeLength(input.siteLength, input.locks);
  if (!len.ok) return len;
  if (len.value.adjusted) {
    warnings.push({ code: "code_length_adjusted", length: len.value.length, message: `site code length ${input.siteLength} is outside what the locks accept; ${len.value.length} digits used` });
  }
  const code = randomCode(len.value.length, input, cooling);
  if (code === undefined) {
    return err({ code: "code_unavailable", reason: "exhausted", message: `no free ${len.value.length}-digit code on the locks of this key` });
  }
  return ok({ code, kept: false, warnings });
}

export interface Regeneration extends Allocation {
  /** The old code, now cooling off: the caller stores it with the revoked codes. */
  revoked?: RevokedCode;
}

/**
 * `doorcode.regenerate`: revoke the old code (it enters the cooling-off period, so it is never
 * the new one) and allocate a new one with the given policy. On failure nothing is revoked.
 */
export function regenerateDoorCode(input: Omit<AllocationInput, "current"> & { old?: string | undefined }): Result<Regeneration, AllocationError> {
  const revoked = input.old === undefined ? undefined : { code: input.old, revokedAtMs: input.nowMs };
  const r = allocateDoorCode({ ...input, current: undefined, revoked: revoked ? [...input.revoked, revoked] : input.revoked });
  if (!r.ok) return r;
  return ok(revoked ? { ...r.value, revoked } : r.value);
}

/** Drop revoked codes whose cooling-off period is over (for the store to forget them). */
export function pruneRevokedCodes(revoked: readonly RevokedCode[], nowMs: number, coolingOffMs = DEFAULT_COOLING_OFF_MS): RevokedCode[] {
  return revoked.filter((r) => r.revokedAtMs + coolingOffMs > nowMs);
}

// ---------------------------------------------------------------------------------------------
// Usage index

/**
 * Codes per lock and who holds them, with prefix lookups. The engine keeps one for the site
 * and asks it for a view without the key being allocated (`except(keyId)`).
 */
export class DoorCodeIndex {
  /** lockId -> code -> keyId */
  private readonly held = new Map<string, Map<string, string>>();
  /** lockId -> its codes, sorted: those a code prefixes follow it (docs/performance.md, "Memory"). */
  private readonly sorted = new Map<string, string[]>();
  /**
   * keyId -> `lockId` -> its codes there: removeKey() visits the key's own entries, not every
   * code of every lock (a snapshot re-indexes each key once, and a lobby holds every key's code).
   */
  private readonly byKey = new Map<string, Map<string, Set<string>>>();

  add(lockId: string, code: string, keyId: string): void {
    let codes = this.held.get(lockId);
    if (!codes) this.held.set(lockId, (codes = new Map()));
    const previous = codes.get(code);
    if (previous !== undefined && previous !== keyId) this.forget(previous, lockId, code);
    codes.set(code, keyId);
    if (previous === undefined) {
      let list = this.sorted.get(lockId);
      if (!list) this.sorted.set(lockId, (list = []));
      list.splice(lowerBound(list, code), 0, code);
    }
    let mine = this.byKey.get(keyId);
    if (!mine) this.byKey.set(keyId, (mine = new Map()));
    let onLock = mine.get(lockId);
    if (!onLock) mine.set(lockId, (onLock = new Set()));
    onLock.add(code);
  }

  remove(lockId: string, code: string): void {
    const codes = this.held.get(lockId);
    const owner = codes?.get(code);
    if (owner === undefined || !codes?.delete(code)) return;
    this.forget(owner, lockId, code);
    const list = this.sorted.get(lockId);
    if (list) {
      const i = lowerBound(list, code);
      if (list[i] === code) list.splice(i, 1);
      if (list.length === 0) this.sorted.delete(lockId);
    }
  }

  /** Forget every code (to index them again from the store). */
  clear(): void {
    this.held.clear();
    this.sorted.clear();
    this.byKey.clear();
  }

  /** Remove every code a key holds (on every lock). */
  removeKey(keyId: string): void {
    const mine = this.byKey.get(keyId);
    if (!mine) return;
    for (const [lockId, codes] of [...mine]) for (const code of [...codes]) this.remove(lockId, code);
    this.byKey.delete(keyId);
  }

  /** Drops `code` on `lockId` from the key's own entries. */
  private forget(keyId: string, lockId: string, code: string): void {
    const mine = this.byKey.get(keyId);
    const onLock = mine?.get(lockId);
    onLock?.delete(code);
    if (onLock?.size === 0) mine?.delete(lockId);
    if (mine?.size === 0) this.byKey.delete(keyId);
  }

  holder(lockId: string, code: string): string | undefined {
    return this.held.get(lockId)?.get(code);
  }

  /**
   * Codes on a lock (tests check the index with it).
   * @internal
   */
  codesOn(lockId: string): string[] {
    return [...(this.held.get(lockId)?.keys() ?? [])];
  }

  /** A CodeUsage that ignores the codes of `keyId` (the key being allocated). */
  except(keyId: string | undefined): CodeUsage {
    return { isTaken: (lockId, code) => this.isTakenBy(lockId, code, keyId) };
  }

  private isTakenBy(lockId: string, code: string, exceptKeyId: string | undefined): boolean {
    const codes = this.held.get(lockId);
    if (!codes) return false;
    const other = (c: string): boolean => {
      const owner = codes.get(c);
      return owner !== undefined && owner !== exceptKeyId;
    };
    if (other(code)) return true;
    for (let k = 1; k < code.length; k++) if (other(code.slice(0, k))) return true;
    const list = this.sorted.get(lockId);
    for (let i = lowerBound(list ?? [], code); list && i < list.length && list[i]!.startsWith(code); i++) if (list[i] !== code && other(list[i]!)) return true;
    return false;
  }
}

/** The first index of `list` (sorted) whose entry is not below `code`. */
function lowerBound(list: readonly string[], code: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < code) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
