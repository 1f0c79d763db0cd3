import { NakCode, StatusFlag } from "../../../src/protocol/llp/index.js";
import { ack, nak, type Behavior, type LockContext } from "../context.js";

/** STATUS flags byte (§3), also advertised over BLE (§6). */
export function statusFlags(ctx: LockContext): number {
  const s = ctx.state;
  let f = 0;
  if (s.doorOpen) f |= StatusFlag.DOOR_OPEN;
  if (s.boltThrown) f |= StatusFlag.BOLT_THROWN;
  if (s.tamper) f |= StatusFlag.TAMPER;
  if (ctx.clock.notSet) f |= StatusFlag.CLOCK_NOT_SET;
  if (s.battery < ctx.options.lowBatteryThreshold) f |= StatusFlag.LOW_BATTERY;
  if (s.pairingMode) f |= StatusFlag.PAIRING_MODE;
  return f;
}

/** IDENT, STATUS, SET_TIME. */
export const identityBehavior: Behavior = {
  name: "identity",
  handles: ["IDENT", "STATUS", "SET_TIME"],
  handle(req, ctx) {
    switch (req.cmd) {
      case "IDENT":
        return ack("IDENT", {
          protocolVersion: 1,
          lockId: ctx.state.lockId.toString("hex"),
          model: ctx.profile.model,
          firmware: ctx.state.firmware,
          capabilities: ctx.profile.capabilities,
          codeSlots: ctx.profile.codeSlots,
          cardSlots: ctx.profile.cardSlots,
          mobileKeySlots: ctx.profile.mobileKeySlots,
          codeMinLen: ctx.profile.codeMinLen,
          codeMaxLen: ctx.profile.codeMaxLen,
        });
      case "STATUS":
        return ack("STATUS", {
          battery: ctx.state.battery,
          flags: statusFlags(ctx),
          lockTime: ctx.clock.nowSec(),
          eventHead: ctx.events.head,
        });
      case "SET_TIME":
        ctx.clock.set(req.time);
        return ack("SET_TIME", null);
      default:
        return nak(NakCode.UNKNOWN_COMMAND);
    }
  },
};
