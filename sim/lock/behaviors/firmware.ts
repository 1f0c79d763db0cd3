import { createHash } from "node:crypto";
import { Capability, MAX_FW_CHUNK, NakCode } from "../../../src/protocol/llp/index.js";
import { ack, nak, type Behavior } from "../context.js";

/**
 * FW_BEGIN / FW_CHUNK / FW_COMMIT / FW_ABORT. The image is hashed as it arrives (chunks
 * come in order), so the lock never holds it: 500 simulated locks stay small.
 */
export const firmwareBehavior: Behavior = {
  name: "firmware",
  handles: ["FW_BEGIN", "FW_CHUNK", "FW_COMMIT", "FW_ABORT"],
  handle(req, ctx) {
    const fw = ctx.state.fw;
    if ((ctx.profile.capabilities & Capability.FIRMWARE_UPDATE) === 0) return nak(NakCode.NOT_SUPPORTED);
    switch (req.cmd) {
      case "FW_BEGIN": {
        if (req.version.length === 0) return nak(NakCode.MALFORMED);
        if (req.size === 0) return nak(NakCode.MALFORMED);
        if (req.size > ctx.options.fwMaxSize) return nak(NakCode.MEMORY_FULL);
        // A new FW_BEGIN replaces any unfinished transfer (the hub restarts from zero).
        fw.transfer = { size: req.size, sha256: Buffer.from(req.sha256), version: req.version, offset: 0, hash: createHash("sha256") };
        return ack("FW_BEGIN", { maxChunk: Math.min(ctx.options.fwMaxChunk, MAX_FW_CHUNK) });
      }
      case "FW_CHUNK": {
        const t = fw.transfer;
        if (!t) return nak(NakCode.INVALID_STATE);
        if (req.offset !== t.offset) return nak(NakCode.INVALID_STATE, { expectedOffset: t.offset });
        if (req.data.length === 0 || req.data.length > Math.min(ctx.options.fwMaxChunk, MAX_FW_CHUNK)) return nak(NakCode.MALFORMED);
        if (t.offset + req.data.length > t.size) return nak(NakCode.MALFORMED);
        // A damaged flash write (fault): the lock's own hash no longer matches at FW_COMMIT.
        t.hash.update(ctx.options.fwCorruptImage && t.offset === 0 ? Buffer.concat([Buffer.from([req.data[0]! ^ 0xff]), req.data.subarray(1)]) : req.data);
        t.offset += req.data.length;
        return ack("FW_CHUNK", null);
      }
      case "FW_COMMIT": {
        const t = fw.transfer;
        if (!t || t.offset !== t.size) return nak(NakCode.INVALID_STATE, t ? { expectedOffset: t.offset } : {});
        fw.transfer = null;
        if (!t.hash.digest().equals(t.sha256)) return nak(NakCode.VERIFY_FAILED);
        fw.pendingVersion = t.version;
        ctx.restart(ctx.options.fwRestartMs);
        return ack("FW_COMMIT", null);
      }
      case "FW_ABORT":
        fw.transfer = null;
        return ack("FW_ABORT", null);
      default:
        return nak(NakCode.UNKNOWN_COMMAND);
    }
  },
};
