import { NakCode } from "../../../src/protocol/llp/index.js";
import { ack, nak, type Behavior } from "../context.js";

/** READ_EVENTS, ACK_EVENTS over the lock's ring. */
export const eventsBehavior: Behavior = {
  name: "events",
  handles: ["READ_EVENTS", "ACK_EVENTS"],
  handle(req, ctx) {
    switch (req.cmd) {
      case "READ_EVENTS":
        if (req.max < 1 || req.max > 32) return nak(NakCode.MALFORMED);
        return ack("READ_EVENTS", ctx.events.read(req.fromSeq, req.max));
      case "ACK_EVENTS":
        ctx.events.ack(req.uptoSeq);
        return ack("ACK_EVENTS", null);
      default:
        return nak(NakCode.UNKNOWN_COMMAND);
    }
  },
};
