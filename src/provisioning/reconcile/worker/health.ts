/**
 * The lock's health from STATUS: battery, door state (and the door.held_open timer), the
 * clock (set at commissioning, after CLOCK_LOST, on drift, daily: clock-policy.ts) and the
 * event head (a head behind the acknowledged seq means the lock's log restarted).
 */
import type { StatusInfo } from "../../../protocol/llp/commands.js";
import { StatusFlag } from "../../../protocol/llp/constants.js";
import { assessClock, DEFAULT_CLOCK_POLICY } from "../clock-policy.js";
import { allKindsNeedVerify, doorField, type WorkerContext } from "./context.js";
import { confirmPairing } from "./identity.js";
import { formatInstant } from "../../../shared/instant.js";

export async function pollStatus(ctx: WorkerContext): Promise<void> {
  const { o, lockId } = ctx;
  const status = await o.link.status();
  ctx.needs.status = false;
  confirmPairing(ctx);
  const now = o.clock.now();
  const doorOpen = (status.flags & StatusFlag.DOOR_OPEN) !== 0;
  setDoorOpen(ctx, doorOpen);
  const action = assessClock(status, now, ctx.lastClockSetMs, o.clockPolicy ?? DEFAULT_CLOCK_POLICY);
  const lost = action.set && action.why === "clock_lost";
  o.hooks.health(lockId, { online: true, lastSeen: now, battery: status.battery, doorOpen, clockDriftS: lost ? null : action.driftS });
  // A lock that says it lost power (clock not set) may have lost its tables too, and its
  // CLOCK_LOST event may be unread or gone: check them.
  if (lost) allKindsNeedVerify(ctx);
  if (action.set) {
    await o.link.setTime(Math.floor(o.clock.now() / 1000));
    ctx.lastClockSetMs = o.clock.now();
    if (action.why === "drift") {
      o.hooks.emit([{ type: "lock.clock_drift", at: formatInstant(now), lockId, ...doorField(ctx), driftS: action.driftS }]);
      o.log.info({ lockId, driftS: action.driftS }, "lock clock drifted: corrected");
    }
    // Reported drift is what was measured; after the set the lock is on time.
    if (lost) o.hooks.health(lockId, { clockDriftS: 0 });
  }
  checkEventHead(ctx, status);
}

function checkEventHead(ctx: WorkerContext, status: StatusInfo): void {
  const last = ctx.o.store.lastEventSeq(ctx.lockId);
  if (status.eventHead < last) {
    // The lock's log restarted (factory reset or a new lock body): read it from the start.
    ctx.o.log.warn({ lockId: ctx.lockId, eventHead: status.eventHead, acknowledged: last }, "lock event log restarted");
    ctx.o.store.resetEventSeq(ctx.lockId);
    ctx.needs.events = true;
  } else if (status.eventHead > last) {
    ctx.needs.events = true;
  }
}

/** door.held_open: a timer from the Clock, started when the door is seen open (event or STATUS). */
export function setDoorOpen(ctx: WorkerContext, open: boolean): void {
  const { o, lockId } = ctx;
  if (open === ctx.doorOpen) return;
  ctx.doorOpen = open;
  o.hooks.health(lockId, { doorOpen: open });
  ctx.heldOpenTimer?.cancel();
  ctx.heldOpenTimer = undefined;
  if (!open) return;
  const seconds = o.doorHeldOpenSeconds();
  const openedAt = o.clock.now();
  ctx.heldOpenTimer = o.clock.setTimeout(() => {
    ctx.heldOpenTimer = undefined;
    if (!ctx.doorOpen || ctx.stopped) return;
    o.hooks.emit([{ type: "door.held_open", at: formatInstant(o.clock.now()), lockId, ...doorField(ctx), openSince: formatInstant(openedAt), seconds }]);
  }, seconds * 1000);
}
