import { CredentialKind, NakCode } from "../../../src/protocol/llp/index.js";
import { ack, nak, type Behavior, type LockContext, type Outcome } from "../context.js";
import type { CredentialTable } from "../credential-table.js";

const MAX_READ_SLOTS = 32;

function isDigits(b: Uint8Array): boolean {
  for (const x of b) if (x < 0x30 || x > 0x39) return false;
  return true;
}

/** Secret shape per kind (§3): code digits of the lock's length range, card UID 4..10 bytes, Ed25519 key 32 bytes. */
export function secretShapeOk(ctx: LockContext, kind: number, secret: Uint8Array): boolean {
  switch (kind) {
    case CredentialKind.DOOR_CODE:
      return isDigits(secret) && secret.length >= ctx.profile.codeMinLen && secret.length <= ctx.profile.codeMaxLen;
    case CredentialKind.KEYCARD:
      return secret.length >= 4 && secret.length <= 10;
    case CredentialKind.MOBILE_KEY:
      return secret.length === 32;
    default:
      return false;
  }
}

/** Kind 1..3 known, else MALFORMED; a kind the lock lacks is NOT_SUPPORTED. */
function tableOf(ctx: LockContext, kind: number): { table: CredentialTable } | { refused: Outcome } {
  if (kind < CredentialKind.DOOR_CODE || kind > CredentialKind.MOBILE_KEY) return { refused: nak(NakCode.MALFORMED) };
  const table = ctx.table(kind);
  return table ? { table } : { refused: nak(NakCode.NOT_SUPPORTED) };
}

/** PUT_CREDENTIAL, DELETE_CREDENTIAL, READ_SLOTS, TABLE_DIGEST. */
export const credentialsBehavior: Behavior = {
  name: "credentials",
  handles: ["PUT_CREDENTIAL", "DELETE_CREDENTIAL", "READ_SLOTS", "TABLE_DIGEST"],
  handle(req, ctx) {
    switch (req.cmd) {
      case "PUT_CREDENTIAL": {
        const r = tableOf(ctx, req.kind);
        if ("refused" in r) return r.refused;
        const t = r.table;
        if (req.slot >= t.slotCount) return nak(NakCode.SLOT_OUT_OF_RANGE);
        if (!secretShapeOk(ctx, req.kind, req.secret)) return nak(NakCode.MALFORMED);
        const other = t.findSecret(req.secret, req.slot);
        if (other !== undefined) return nak(NakCode.DUPLICATE_CREDENTIAL, { conflictingSlot: other });
        if (ctx.state.memoryFull && !t.get(req.slot)) return nak(NakCode.MEMORY_FULL);
        t.put(req.slot, { validFrom: req.validFrom, validUntil: req.validUntil, flags: req.flags, secret: Buffer.from(req.secret) });
        return ack("PUT_CREDENTIAL", null);
      }
      case "DELETE_CREDENTIAL": {
        const r = tableOf(ctx, req.kind);
        if ("refused" in r) return r.refused;
        const t = r.table;
        if (req.slot >= t.slotCount) return nak(NakCode.SLOT_OUT_OF_RANGE);
        t.delete(req.slot);
        return ack("DELETE_CREDENTIAL", null);
      }
      case "READ_SLOTS": {
        const r = tableOf(ctx, req.kind);
        if ("refused" in r) return r.refused;
        const t = r.table;
        if (req.count < 1 || req.count > MAX_READ_SLOTS) return nak(NakCode.MALFORMED);
        if (req.firstSlot >= t.slotCount) return nak(NakCode.SLOT_OUT_OF_RANGE);
        const last = Math.min(req.firstSlot + req.count, t.slotCount);
        const out = [];
        for (let s = req.firstSlot; s < last; s++) {
          const c = t.get(s);
          if (c) out.push(t.info(s, c));
        }
        return ack("READ_SLOTS", out);
      }
      case "TABLE_DIGEST": {
        const r = tableOf(ctx, req.kind);
        if ("refused" in r) return r.refused;
        const t = r.table;
        return ack("TABLE_DIGEST", { used: t.used, digest: t.digest() });
      }
      default:
        return nak(NakCode.UNKNOWN_COMMAND);
    }
  },
};
