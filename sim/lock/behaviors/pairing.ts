import { NakCode } from "../../../src/protocol/llp/index.js";
import { ack, nak, type Behavior } from "../context.js";

/**
 * PAIR: accepted only with no link key or in pairing mode (the button). Otherwise
 * INVALID_STATE ("not valid now"): the hub must ask someone to press the button.
 * A new key starts both counters afresh (a counter is never reused *for a key*).
 */
export const pairingBehavior: Behavior = {
  name: "pairing",
  handles: ["PAIR"],
  handle(req, ctx) {
    if (req.cmd !== "PAIR") return nak(NakCode.UNKNOWN_COMMAND);
    const s = ctx.state;
    if (s.linkKey && !s.pairingMode) return nak(NakCode.INVALID_STATE);
    s.linkKey = Buffer.from(req.linkKey);
    s.hubCounter = 0;
    s.lockCounter = 0;
    s.pairingMode = false;
    return ack("PAIR", null);
  },
};
