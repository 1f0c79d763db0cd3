import { secretDigest, tableDigest, type SlotInfo } from "../../src/protocol/llp/index.js";

export interface StoredCredential {
  validFrom: number;
  validUntil: number;
  flags: number;
  secret: Buffer;
}

/** One kind's slots (codes, cards or mobile keys). Secrets stay inside; only digests leave. */
export class CredentialTable {
  private readonly slots = new Map<number, StoredCredential>();

  constructor(readonly slotCount: number) {}

  get used(): number {
    return this.slots.size;
  }

  get(slot: number): StoredCredential | undefined {
    return this.slots.get(slot);
  }

  put(slot: number, c: StoredCredential): void {
    this.slots.set(slot, { ...c, secret: Buffer.from(c.secret) });
  }

  delete(slot: number): boolean {
    return this.slots.delete(slot);
  }

  clear(): void {
    this.slots.clear();
  }

  /** The slot other than `except` that holds this secret (DUPLICATE_CREDENTIAL), or undefined. */
  findSecret(secret: Uint8Array, except?: number): number | undefined {
    for (const [slot, c] of this.slots) {
      if (slot !== except && c.secret.equals(secret)) return slot;
    }
    return undefined;
  }

  /** Used slots in ascending order. */
  entries(): [number, StoredCredential][] {
    return [...this.slots.entries()].sort((a, b) => a[0] - b[0]);
  }

  info(slot: number, c: StoredCredential): SlotInfo {
    return { slot, validFrom: c.validFrom, validUntil: c.validUntil, flags: c.flags, secretDigest: secretDigest(c.secret) };
  }

  digest(): Buffer {
    return tableDigest(this.entries().map(([slot, c]) => this.info(slot, c)));
  }
}

/** validFrom <= lockTime < validUntil, a bound of 0 being open (§3). */
export function withinWindow(c: Pick<StoredCredential, "validFrom" | "validUntil">, lockTime: number): boolean {
  return (c.validFrom === 0 || c.validFrom <= lockTime) && (c.validUntil === 0 || lockTime < c.validUntil);
}
