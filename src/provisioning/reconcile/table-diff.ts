/**
 * Verification and drift repair of one credential table (issue 6, "Reconciliation").
 *
 * The hub cannot read secrets back; READ_SLOTS gives each used slot's window, flags and the
 * first 4 bytes of SHA-256(secret). A slot matches when all of those equal the desired
 * entry's. Everything else is drift: a slot holding something the hub did not put there (or
 * no longer wants) must be deleted, a desired slot that is empty or different must be put.
 */
import type { SlotInfo } from "../../protocol/llp/commands.js";
import { tableDigest, type DigestEntry } from "../../protocol/llp/digest.js";

/** One slot as it should be on the lock. */
export type DesiredSlot = DigestEntry;

export interface TableDiff {
  /** Slots holding something unwanted: delete. */
  remove: number[];
  /** Slots that are empty or hold something else: put the desired entry. */
  put: number[];
  /** Slots that match the desired entry. */
  matching: number[];
}

export function sameEntry(a: DigestEntry, b: DigestEntry): boolean {
  return (
    a.slot === b.slot &&
    a.validFrom === b.validFrom &&
    a.validUntil === b.validUntil &&
    a.flags === b.flags &&
    Buffer.compare(Buffer.from(a.secretDigest), Buffer.from(b.secretDigest)) === 0
  );
}

/**
 * Compare what the lock reported (the used slots of a range) with the desired entries of
 * that range. Slots outside [first, first+count) are ignored, so the caller can read a
 * large table range by range.
 */
export function diffTable(desired: readonly DesiredSlot[], observed: readonly SlotInfo[], range?: { first: number; count: number }): TableDiff {
  const inRange = (slot: number): boolean => !range || (slot >= range.first && slot < range.first + range.count);
  const want = new Map(desired.filter((d) => inRange(d.slot)).map((d) => [d.slot, d]));
  const seen = new Map(observed.filter((o) => inRange(o.slot)).map((o) => [o.slot, o]));
  const diff: TableDiff = { remove: [], put: [], matching: [] };
  for (const [slot, o] of seen) {
    const d = want.get(slot);
    if (!d) diff.remove.push(slot);
    else if (sameEntry(d, o)) diff.matching.push(slot);
    else diff.put.push(slot);
  }
  for (const slot of want.keys()) if (!seen.has(slot)) diff.put.push(slot);
  diff.remove.sort((a, b) => a - b);
  diff.put.sort((a, b) => a - b);
  diff.matching.sort((a, b) => a - b);
  return diff;
}

/** The TABLE_DIGEST the lock must report once it holds exactly `desired`. */
export function expectedDigest(desired: readonly DesiredSlot[]): { used: number; digest: Buffer } {
  return { used: desired.length, digest: tableDigest(desired) };
}

/**
 * The READ_SLOTS ranges (count <= 32) that cover a table of `slotCount` slots. When the
 * lock reports `used` slots, reading can stop once that many were seen (the caller checks).
 */
export function readRanges(slotCount: number, maxCount = 32): { first: number; count: number }[] {
  const out: { first: number; count: number }[] = [];
  for (let first = 0; first < slotCount; first += maxCount) out.push({ first, count: Math.min(maxCount, slotCount - first) });
  return out;
}
