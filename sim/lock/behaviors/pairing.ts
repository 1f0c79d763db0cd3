import { Capability, derivePairKx, NakCode } from "../../../src/protocol/llp/index.js";
import { ack, nak, type Behavior, type LockContext } from "../context.js";

/**
 * PAIR: accepted only with no link key or in pairing mode (the button). Otherwise
 * INVALID_STATE ("not valid now"): the hub must ask someone to press the button. A model that
 * pairs with PAIR_KX refuses the legacy PAIR (NOT_SUPPORTED): its key never travels in clear.
 *
 * PAIR_KX (LLP v1.1 §8): accepted with no link key, in pairing mode, or sealed under the
 * current key (rotation); a fresh X25519 key pair per pairing, the link key and confirm derived
 * with the label's setup key. A new key starts both counters afresh (a counter is never reused
 * *for a key*).
 */
export const pairingBehavior: Behavior = {
  name: "pairing",
  handles: ["PAIR", "PAIR_KX"],
  handle(req, ctx) {
    const s = ctx.state;
    const kx = (ctx.profile.capabilities & Capability.PAIR_KX) !== 0;
    if (req.cmd === "PAIR") {
      if (kx) return nak(NakCode.NOT_SUPPORTED);
      if (s.linkKey && !s.pairingMode) return nak(NakCode.INVALID_STATE);
      adopt(ctx, Buffer.from(req.linkKey));
      return ack("PAIR", null);
    }
    if (req.cmd !== "PAIR_KX") return nak(NakCode.UNKNOWN_COMMAND);
    if (!kx || !s.setupKey) return nak(NakCode.NOT_SUPPORTED);
    if (s.linkKey && !s.pairingMode && !ctx.requestSealed) return nak(NakCode.INVALID_STATE);
    const own = ctx.options.kxKeyPair();
    let derived;
    try {
      derived = derivePairKx(own.privateKey, { lockId: s.lockId, setupKey: s.setupKey, hubPub: req.hubPub, lockPub: own.publicKey });
    } catch {
      return nak(NakCode.MALFORMED); // a low-order hubPub: no agreement possible
    }
    adopt(ctx, derived.linkKey);
    return ack("PAIR_KX", { lockPub: own.publicKey, confirm: derived.confirm });
  },
};

function adopt(ctx: LockContext, key: Buffer): void {
  const s = ctx.state;
  s.linkKey = key;
  s.hubCounter = 0;
  s.lockCounter = 0;
  s.pairingMode = false;
}
