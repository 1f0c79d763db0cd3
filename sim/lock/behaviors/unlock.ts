import { Capability, EventType, NakCode } from "../../../src/protocol/llp/index.js";
import { ack, nak, type Behavior } from "../context.js";

/** UNLOCK: release the latch for 1..30 s and log REMOTE_UNLOCK. */
export const unlockBehavior: Behavior = {
  name: "unlock",
  handles: ["UNLOCK"],
  handle(req, ctx) {
    if (req.cmd !== "UNLOCK") return nak(NakCode.UNKNOWN_COMMAND);
    if ((ctx.profile.capabilities & Capability.REMOTE_UNLOCK) === 0) return nak(NakCode.NOT_SUPPORTED);
    if (req.seconds < 1 || req.seconds > 30) return nak(NakCode.MALFORMED);
    ctx.releaseLatch(req.seconds);
    ctx.logEvent({ type: EventType.REMOTE_UNLOCK });
    ctx.drainBattery(ctx.options.batteryDrainPerUnlock);
    return ack("UNLOCK", null);
  },
};
