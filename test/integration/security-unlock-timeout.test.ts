/**
 * Issue 9, "a door.unlock whose handler timed out can still open the door after the cloud was
 * told `internal`": with the lock's loop busy past the command's budget, the queued unlock is
 * cancelled with the answer; when the lock frees up, no UNLOCK reaches it and the door stays
 * shut. A later unlock in time opens it (the lock keeps working). Real engine, sim locks on TCP.
 */
import { describe, expect, it } from "vitest";
import type { HandlerFor } from "../../src/cloud/registry.js";
import type { LlpRequest } from "../../src/protocol/llp/index.js";
import { DEFAULT_BEHAVIORS, type Behavior } from "../../sim/index.js";
import { withProperty } from "../helpers/property.js";

function countingUnlocks(seen: { unlocks: number }): Behavior[] {
  return DEFAULT_BEHAVIORS.map((b) =>
    b.name !== "unlock"
      ? b
      : {
          ...b,
          handle(req: LlpRequest, ctx) {
            if (req.cmd === "UNLOCK") seen.unlocks++;
            return b.handle(req, ctx);
          },
        },
  );
}

describe("door.unlock past its budget", () => {
  it("is cancelled with its answer: the door never opens later; the next unlock works", async () => {
    const seen = { unlocks: 0 };
    await withProperty({ rooms: 1, commons: ["lobby"], simLock: (d) => (d === "lobby" ? { behaviors: countingUnlocks(seen) } : {}) }, async (p) => {
      await p.settle();
      const unlock = p.registry.get("door.unlock") as unknown as HandlerFor<"door.unlock">;
      p.registry.register("door.unlock", { ...unlock, timeoutMs: 400 });

      // The lobby's loop is busy (a long exchange, like a firmware chunk on a slow link).
      let release!: () => void;
      const busy = p.engine.fleet.worker(p.lockIdOf("lobby"))!.runTask(() => new Promise<void>((r) => (release = r)));
      await new Promise((r) => setTimeout(r, 50));

      const res = await p.send("door.unlock", { doorId: "lobby", seconds: 5 });
      expect(res).toMatchObject({ ok: false, error: { code: "lock_offline", message: expect.stringContaining("not opened") } });

      release();
      await busy;
      await p.settle();
      await new Promise((r) => setTimeout(r, 500));
      expect(seen.unlocks).toBe(0);
      expect(p.sim("lobby").unlocked).toBe(false);
      expect(p.events("door.remote_unlock")).toEqual([]);

      expect(await p.send("door.unlock", { doorId: "lobby", seconds: 5 })).toMatchObject({ ok: true });
      expect(seen.unlocks).toBe(1);
      expect(p.sim("lobby").unlocked).toBe(true);
    });
  });
});
