/**
 * The rule that judges one simulated guest's try at a door (chaos/guests.ts), as a pure
 * function of what the cloud sees (the hub's retained key and lock statuses), what the harness
 * knows of faults and of the credential, and the time. It judges only where the verdict is
 * certain from outside; everything else is "not judged" (counted, with why):
 *
 * - must open: the key is live and its credential is the current one; no traffic sender is
 *   acting on the key; the latest key status is for the key's current version, names this
 *   code / card (smart key `ready` for a phone) and says the door is `active` (on the lock and
 *   verified); the lock's retained status says online and commissioned; no fault on that lock
 *   for FAULT_QUIET_S (a memory loss or factory reset is seen by the hub only at its next poll:
 *   until then its status still says active); the lock's clock is within the hub's own drift
 *   tolerance (a jumped clock not yet corrected is skipped); and the time is inside the
 *   status's window by WINDOW_MARGIN_S (the tolerance, and the seconds a status takes to come);
 * - must not open: a removed or checked-out key once the hub reported the removal done on that
 *   door (door `revoked`, or the key's retained status emptied: "fully removed"); a credential a
 *   live key no longer has (regenerated code, replaced card, new phone pair) once the hub
 *   reported the door `active` with the new one (the same slot holds the new secret, verified);
 *   and any credential of a key with a short window, tried WINDOW_MARGIN_S outside it at a
 *   lock whose clock is right (the lock enforces the window itself).
 */

/** The hub's drift tolerance (src/provisioning/reconcile/clock-policy.ts): a clock within it is not corrected. */
export const CLOCK_TOLERANCE_S = 30;
export const WINDOW_MARGIN_S = 45;
export const FAULT_QUIET_S = 60;

import type { CredentialKind } from "./credentials.js";

export type { CredentialKind };

/** A retained key status as the cloud holds it (mqtt-api.md §4), the fields the rule reads. */
export interface KeyStatusView {
  version: number;
  doors: { doorId: string; state: string; validFrom?: string; validUntil?: string }[];
  doorCode?: { state?: string; code?: string };
  keycard?: { state?: string; cardId?: string };
  smartKey?: { state?: string };
}

export interface TryFacts {
  nowMs: number;
  doorId: string;
  kind: CredentialKind;
  /**
   * live: the key's current credential, the key live (checked in, not removed);
   * revoked: the credential of a key removed or checked out; retired: one a key no longer has.
   */
  standing: "live" | "revoked" | "retired";
  /**
   * live: the key's version and its current code / cardId; retired: the old code / cardId,
   * and for a phone the version of the upsert that gave the new pair.
   */
  expected: { version: number; code?: string; cardId?: string };
  /** Latest retained key status: undefined none seen, null emptied (the key fully removed). */
  keyStatus: KeyStatusView | null | undefined;
  /** A traffic sender is acting on the key (its command may be applied and not yet answered). */
  keyBusy: boolean;
  /** The door's lock's retained status. */
  lock: { online: boolean; state: string } | undefined;
  /** Seconds since the lock was last under a fault; undefined: never this run. */
  sinceFaultS: number | undefined;
  /** |lock clock - now| read just before the try; undefined: unknown. */
  clockErrorS: number | undefined;
  /** The key's short access window as the cloud sent it (undefined: a long stay, open all run). */
  window?: { validFromMs: number; validUntilMs: number };
}

export type ViolationKind = "deniedInsideWindow" | "revokedOpened" | "retiredOpened" | "openedOutsideWindow";

export type Verdict =
  | { verdict: "must_open"; kind: "deniedInsideWindow"; why: string }
  | { verdict: "must_not_open"; kind: Exclude<ViolationKind, "deniedInsideWindow">; why: string }
  | { verdict: "not_judged"; why: string };

const notJudged = (why: string): Verdict => ({ verdict: "not_judged", why });

export function judgeTry(f: TryFacts): Verdict {
  const clockRight = f.clockErrorS !== undefined && f.clockErrorS <= CLOCK_TOLERANCE_S;
  const marginMs = WINDOW_MARGIN_S * 1000;
  if (f.window && clockRight && (f.nowMs < f.window.validFromMs - marginMs || f.nowMs >= f.window.validUntilMs + marginMs)) {
    return { verdict: "must_not_open", kind: "openedOutsideWindow", why: `${f.nowMs < f.window.validFromMs ? "before" : "after"} its window by more than ${WINDOW_MARGIN_S} s, lock clock off by ${f.clockErrorS} s` };
  }
  const s = f.keyStatus;
  const door = s?.doors.find((d) => d.doorId === f.doorId);
  if (f.standing === "revoked") {
    if (s === null) return { verdict: "must_not_open", kind: "revokedOpened", why: "key fully removed (retained status emptied)" };
    if (door?.state === "revoked") return { verdict: "must_not_open", kind: "revokedOpened", why: "door revoked in the key status" };
    return notJudged("removal not reported done");
  }
  if (f.standing === "retired") {
    if (s === null) return { verdict: "must_not_open", kind: "retiredOpened", why: "key fully removed (retained status emptied)" };
    if (door?.state === "revoked") return { verdict: "must_not_open", kind: "retiredOpened", why: "door revoked in the key status" };
    if (s && door?.state === "active" && replacedInStatus(f, s)) return { verdict: "must_not_open", kind: "retiredOpened", why: "door active with the new credential" };
    return notJudged("replacement not reported done");
  }
  if (f.keyBusy) return notJudged("key being changed");
  if (!s) return notJudged(s === null ? "key status emptied" : "no key status");
  if (s.version !== f.expected.version) return notJudged("key status of another version");
  if (!currentInStatus(f, s)) return notJudged("credential not assigned in the key status");
  if (door?.state !== "active") return notJudged(`door ${door?.state ?? "absent"} in the key status`);
  if (!f.lock || !f.lock.online || f.lock.state !== "commissioned") return notJudged("lock not online and commissioned");
  if (f.sinceFaultS !== undefined && f.sinceFaultS < FAULT_QUIET_S) return notJudged("fault on the lock");
  if (!clockRight) return notJudged("lock clock not right");
  const from = door.validFrom ? Date.parse(door.validFrom) : NaN;
  const until = door.validUntil ? Date.parse(door.validUntil) : NaN;
  if (!(f.nowMs >= from + marginMs && f.nowMs < until - marginMs)) return notJudged("near or outside the window");
  return { verdict: "must_open", kind: "deniedInsideWindow", why: `key v${s.version} active at ${f.doorId}, lock online, no fault for ${f.sinceFaultS === undefined ? "the whole run" : `${Math.round(f.sinceFaultS)} s`}, lock clock off by ${f.clockErrorS} s, inside the window by ${WINDOW_MARGIN_S} s or more` };
}

/** The status names the key's current credential. */
function currentInStatus(f: TryFacts, s: KeyStatusView): boolean {
  if (f.kind === "code") return s.doorCode?.state === "assigned" && s.doorCode.code === f.expected.code;
  if (f.kind === "card") return s.keycard?.state === "assigned" && s.keycard.cardId === f.expected.cardId;
  return s.smartKey?.state === "ready";
}

/** The status shows the key with another credential than the retired one. */
function replacedInStatus(f: TryFacts, s: KeyStatusView): boolean {
  if (f.kind === "code") return s.doorCode?.state === "assigned" && s.doorCode.code !== f.expected.code;
  if (f.kind === "card") return s.keycard?.state === "assigned" && s.keycard.cardId !== f.expected.cardId;
  return s.version >= f.expected.version;
}
