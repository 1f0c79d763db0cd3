/**
 * Which slot rows desire or hold each credential, kept in memory beside the store. A
 * key's status and its desired rows need "the rows of credential X" many times per second
 * during a large snapshot; this answers from memory and reads each row by primary key.
 *
 * Derived data: every write to lock_slots that the engine makes is followed by a refresh of
 * the rows it touched (refresh/refreshLock), and rows() re-checks what it returns against the
 * store, so a stale entry is never believed. Rebuilt whole at engine start.
 */
import type { CredentialType } from "../../access/model.js";
import type { SlotRecord, Store } from "../../store/index.js";

type RowKey = string;
const rowKey = (lockId: string, kind: CredentialType, slot: number): RowKey => `${lockId}|${kind}|${slot}`;

export class SlotIndex {
  private readonly byCredential = new Map<number, Set<RowKey>>();
  private readonly credentialsOf = new Map<RowKey, number[]>();
  private readonly rowsOfLock = new Map<string, Set<RowKey>>();

  constructor(private readonly store: Pick<Store, "slots">) {}

  /** Every row of these locks, from the store. */
  rebuild(lockIds: Iterable<string>): void {
    this.byCredential.clear();
    this.credentialsOf.clear();
    this.rowsOfLock.clear();
    for (const lockId of lockIds) this.refreshLock(lockId);
  }

  /** Re-reads one row after a write. */
  refresh(lockId: string, kind: CredentialType, slot: number): void {
    this.put(lockId, kind, slot, this.store.slots.get(lockId, kind, slot));
  }

  /** Re-reads a lock's rows (of one kind, or all) after a bulk write. */
  refreshLock(lockId: string, kind?: CredentialType): void {
    for (const key of [...(this.rowsOfLock.get(lockId) ?? [])]) {
      if (kind === undefined || key.split("|")[1] === kind) this.unlink(key, lockId);
    }
    for (const row of this.store.slots.forLock(lockId, kind)) this.put(lockId, row.kind, row.slot, row);
  }

  dropLock(lockId: string): void {
    for (const key of [...(this.rowsOfLock.get(lockId) ?? [])]) this.unlink(key, lockId);
    this.rowsOfLock.delete(lockId);
  }

  /** The rows that desire or hold the credential now. */
  rows(credentialId: number): SlotRecord[] {
    const out: SlotRecord[] = [];
    for (const key of this.byCredential.get(credentialId) ?? []) {
      const [lockId, kind, slot] = key.split("|") as [string, CredentialType, string];
      const row = this.store.slots.get(lockId, kind, Number(slot));
      if (row && (row.desired?.credentialId === credentialId || row.applied?.credentialId === credentialId)) out.push(row);
    }
    return out.sort((a, b) => (a.lockId < b.lockId ? -1 : a.lockId > b.lockId ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.slot - b.slot));
  }

  private put(lockId: string, kind: CredentialType, slot: number, row: SlotRecord | undefined): void {
    const key = rowKey(lockId, kind, slot);
    this.unlink(key, lockId);
    if (!row) return;
    const creds = [row.desired?.credentialId, row.applied?.credentialId].filter((c): c is number => typeof c === "number");
    if (creds.length === 0) return;
    this.credentialsOf.set(key, creds);
    let rows = this.rowsOfLock.get(lockId);
    if (!rows) this.rowsOfLock.set(lockId, (rows = new Set()));
    rows.add(key);
    for (const c of creds) {
      let set = this.byCredential.get(c);
      if (!set) this.byCredential.set(c, (set = new Set()));
      set.add(key);
    }
  }

  private unlink(key: RowKey, lockId: string): void {
    for (const c of this.credentialsOf.get(key) ?? []) {
      const set = this.byCredential.get(c);
      set?.delete(key);
      if (set?.size === 0) this.byCredential.delete(c);
    }
    this.credentialsOf.delete(key);
    this.rowsOfLock.get(lockId)?.delete(key);
  }
}
