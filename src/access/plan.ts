/**
 * The reconciliation plan for ONE lock: from the credentials the lock should hold and what
 * it last held, the operations that make it hold exactly that, and the TABLE_DIGEST per kind
 * it must then report (lock-link-protocol.md §3).
 *
 * - Deletes first (revocations and foreign entries: a checked-out guest's code leaves the
 *   door before any new key goes on), then puts that take access away (a shortened window,
 *   a tampered slot of ours), then the other puts by urgency: earliest validFrom first.
 *   A slot that is both freed and reused gets a delete then a put, so the revocation never
 *   waits behind the new key's urgency.
 * - Slots are stable: a credential stays in its assigned slot; a credential without one
 *   adopts a slot already holding exactly it (after a hub store loss nothing is rewritten),
 *   else takes the lowest free slot. When slots run out the least urgent credentials fail
 *   with lock_memory_full; credentials already placed are never evicted.
 * - A kind the lock has no slots for fails with not_supported.
 */
import type { SlotInfo } from "../protocol/llp/commands.js";
import { secretDigest, tableDigest, type DigestEntry } from "../protocol/llp/digest.js";
import { CREDENTIAL_TYPES, type CredentialType } from "./model.js";

/** One credential the lock must hold. */
export interface DesiredCredential {
  kind: CredentialType;
  /** Stable identity across plans, e.g. credentialRef("k-1042", "doorCode"). */
  ref: string;
  secret: Uint8Array;
  /** Epoch seconds; 0 = unbounded. */
  validFrom: number;
  validUntil: number;
  /** PUT flags (bit 0: one-time). */
  flags: number;
}

/** Slots per kind from the lock's profile / IDENT (0 = the lock lacks that kind). */
export type SlotCounts = Readonly<Record<CredentialType, number>>;

/** The lock's table as last known (READ_SLOTS entries, or what the hub last verified). */
export type KnownTables = Readonly<Partial<Record<CredentialType, readonly SlotInfo[]>>>;

/** ref -> slot, as persisted from the previous plan. */
export type SlotAssignments = ReadonlyMap<string, { kind: CredentialType; slot: number }>;

export type PlanOperation =
  | {
      op: "delete";
      kind: CredentialType;
      slot: number;
      /** Who the hub had there; undefined for an entry the hub never put (drift). */
      ref: string | undefined;
    }
  | {
      op: "put";
      kind: CredentialType;
      slot: number;
      ref: string;
      secret: Uint8Array;
      validFrom: number;
      validUntil: number;
      flags: number;
      /** "missing": the slot is (or, after the deletes, will be) empty; "replace": it holds this credential's outdated or tampered entry. */
      why: "missing" | "replace";
      /**
       * True when the lock's current entry grants something this put takes away (another
       * secret, a wider window, other flags): such puts go before the others, as revocations.
       */
      revokes: boolean;
    };

export interface PlanFailure {
  ref: string;
  kind: CredentialType;
  reason: "lock_memory_full" | "not_supported";
}

export interface ExpectedTable {
  used: number;
  digest: Buffer;
  /** The desired entries in slot order (for diffing against READ_SLOTS). */
  entries: DigestEntry[];
}

export interface LockPlan {
  operations: PlanOperation[];
  /** ref -> slot of every placed credential: persist it for the next plan. */
  assignments: Map<string, { kind: CredentialType; slot: number }>;
  failures: PlanFailure[];
  /** Refs already on the lock exactly as desired. */
  satisfied: string[];
  expected: Record<CredentialType, ExpectedTable>;
}

export interface PlanInput {
  desired: readonly DesiredCredential[];
  known: KnownTables;
  slotCounts: SlotCounts;
  assignments: SlotAssignments;
}

/** The ref of a key's credential of one type (the same on every lock it goes to). */
export function credentialRef(keyId: string, type: CredentialType): string {
  return `${keyId}:${type}`;
}

export function parseCredentialRef(ref: string): { keyId: string; type: CredentialType } | undefined {
  const i = ref.lastIndexOf(":");
  const type = ref.slice(i + 1);
  if (i <= 0 || !(CREDENTIAL_TYPES as readonly string[]).includes(type)) return undefined;
  return { keyId: ref.slice(0, i), type: type as CredentialType };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function matches(d: DigestEntry, k: SlotInfo): boolean {
  return d.validFrom === k.validFrom && d.validUntil === k.validUntil && d.flags === k.flags && sameBytes(d.secretDigest, k.secretDigest);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const signature = (e: Omit<DigestEntry, "slot">): string => `${e.validFrom}/${e.validUntil}/${e.flags}/${hex(e.secretDigest)}`;

/** Does the lock's entry grant access the desired one does not (0 bounds are open)? */
function grantsMore(k: SlotInfo, d: DigestEntry): boolean {
  const startsEarlier = d.validFrom !== 0 && (k.validFrom === 0 || k.validFrom < d.validFrom);
  const endsLater = d.validUntil !== 0 && (k.validUntil === 0 || k.validUntil > d.validUntil);
  return startsEarlier || endsLater || k.flags !== d.flags || !sameBytes(k.secretDigest, d.secretDigest);
}

/** Urgency order: earliest validFrom first (0 = unbounded = now), then ref for determinism. */
function byUrgency(a: DesiredCredential, b: DesiredCredential): number {
  return a.validFrom - b.validFrom || (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0);
}

export function planLock(input: PlanInput): LockPlan {
  const deletes: PlanOperation[] = [];
  const puts: (PlanOperation & { op: "put" })[] = [];
  const assignments = new Map<string, { kind: CredentialType; slot: number }>();
  const failures: PlanFailure[] = [];
  const satisfied: string[] = [];
  const expected = {} as Record<CredentialType, ExpectedTable>;

  for (const kind of CREDENTIAL_TYPES) {
    const count = input.slotCounts[kind];
    const desired = input.desired.filter((d) => d.kind === kind);
    const known = new Map<number, SlotInfo>();
    for (const k of input.known[kind] ?? []) if (k.slot < count) known.set(k.slot, k);
    const refOfSlot = new Map<number, string>();
    for (const [ref, a] of input.assignments) if (a.kind === kind) refOfSlot.set(a.slot, ref);

    if (count <= 0) {
      for (const d of desired) failures.push({ ref: d.ref, kind, reason: "not_supported" });
      expected[kind] = { used: 0, digest: tableDigest([]), entries: [] };
      continue;
    }

    const placed = new Map<number, { d: DesiredCredential; e: DigestEntry }>();
    const entryOf = (d: DesiredCredential, slot: number): DigestEntry => ({
      slot,
      validFrom: d.validFrom,
      validUntil: d.validUntil,
      flags: d.flags,
      secretDigest: secretDigest(d.secret),
    });

    // 1. Keep assigned slots (first claim wins if the stored map is inconsistent).
    const unplaced: DesiredCredential[] = [];
    const seenRefs = new Set<string>();
    for (const d of [...desired].sort(byUrgency)) {
      if (seenRefs.has(d.ref)) continue; // a ref is one credential per lock
      seenRefs.add(d.ref);
      const a = input.assignments.get(d.ref);
      if (a && a.kind === kind && a.slot >= 0 && a.slot < count && !placed.has(a.slot)) placed.set(a.slot, { d, e: entryOf(d, a.slot) });
      else unplaced.push(d);
    }

    // 2. Adopt a slot that already holds exactly this credential and nobody claims.
    const bySignature = new Map<string, number[]>();
    for (const [slot, k] of [...known].sort((a, b) => a[0] - b[0])) {
      if (placed.has(slot)) continue;
      const sig = signature(k);
      bySignature.set(sig, [...(bySignature.get(sig) ?? []), slot]);
    }
    const stillUnplaced: DesiredCredential[] = [];
    for (const d of unplaced) {
      const e = entryOf(d, 0);
      const slot = bySignature.get(signature(e))?.shift();
      if (slot !== undefined && !placed.has(slot)) placed.set(slot, { d, e: { ...e, slot } });
      else stillUnplaced.push(d);
    }

    // 3. Lowest free slots, most urgent first.
    let next = 0;
    for (const d of stillUnplaced) {
      while (next < count && placed.has(next)) next++;
      if (next >= count) {
        failures.push({ ref: d.ref, kind, reason: "lock_memory_full" });
        continue;
      }
      placed.set(next, { d, e: entryOf(d, next) });
    }

    // Operations.
    for (const [slot, k] of [...known].sort((a, b) => a[0] - b[0])) {
      const p = placed.get(slot);
      if (p && matches(p.e, k)) continue;
      // Anything in a slot that is not exactly the desired credential: delete first, unless
      // the slot stays with the same credential (its put overwrites it in place).
      const previousRef = refOfSlot.get(slot);
      if (p && previousRef === p.d.ref) continue;
      deletes.push({ op: "delete", kind, slot, ref: previousRef });
    }
    for (const [slot, { d, e }] of placed) {
      assignments.set(d.ref, { kind, slot });
      const k = known.get(slot);
      if (k && matches(e, k)) {
        satisfied.push(d.ref);
        continue;
      }
      const replacedInPlace = k !== undefined && refOfSlot.get(slot) === d.ref;
      const revokes = replacedInPlace && k !== undefined && grantsMore(k, e);
      puts.push({
        op: "put",
        kind,
        slot,
        ref: d.ref,
        secret: d.secret,
        validFrom: d.validFrom,
        validUntil: d.validUntil,
        flags: d.flags,
        why: replacedInPlace ? "replace" : "missing",
        revokes,
      });
    }
    const entries = [...placed.values()].map((p) => p.e).sort((a, b) => a.slot - b.slot);
    expected[kind] = { used: entries.length, digest: tableDigest(entries), entries };
  }

  const kindRank = (k: CredentialType): number => CREDENTIAL_TYPES.indexOf(k);
  puts.sort((a, b) => Number(b.revokes) - Number(a.revokes) || a.validFrom - b.validFrom || kindRank(a.kind) - kindRank(b.kind) || a.slot - b.slot);
  return { operations: [...deletes, ...puts], assignments, failures, satisfied, expected };
}
