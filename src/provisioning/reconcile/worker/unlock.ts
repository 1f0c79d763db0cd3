/**
 * Remote unlocks (door.unlock) and one-off tasks (firmware chunks) as queue items of one
 * lock. An unlock is never deferred: refused at once when the lock is offline or out of
 * service, `expired` once its deadline passed, cancelled while still queued if its command
 * ran out of time. A queued unlock fails the moment the lock goes offline.
 */
import { LockBridgeError, errorMessage } from "../../../shared/errors.js";
import { isDiskFull } from "../../../store/index.js";
import { classifyLockError } from "../lock-errors.js";
import type { LockLinkPort } from "../ports.js";
import type { WorkClass } from "../work-queue.js";
import type { UnlockOp, WorkerContext } from "./context.js";

function notInService(ctx: WorkerContext): LockBridgeError {
  return new LockBridgeError("lock_offline", `lock ${ctx.lockId} is not in service`);
}

export function queueUnlock(ctx: WorkerContext, seconds: number, deadlineMs: number, signal?: AbortSignal): Promise<void> {
  if (ctx.replaced || ctx.stopped) return Promise.reject(notInService(ctx));
  if (ctx.o.link.online === false) return Promise.reject(new LockBridgeError("lock_offline", `lock ${ctx.lockId} is offline`));
  return new Promise((resolve, reject) => {
    const settle = (err?: Error): void => (err ? reject(err) : resolve());
    const id = `unlock:${++ctx.opSeq}`;
    // Cancelled while still queued (its command timed out): taken off the queue, never sent.
    signal?.addEventListener("abort", () => {
      if (ctx.queue.remove(id)) settle(unlockCancelled(ctx.lockId));
    }, { once: true });
    ctx.queue.push({ id, class: "unlock", order: ctx.o.clock.now(), payload: { type: "unlock", seconds, deadlineMs, settle, signal } });
    ctx.kick();
  });
}

export function queueTask<T>(ctx: WorkerContext, fn: (port: LockLinkPort) => Promise<T>, cls: WorkClass): Promise<T> {
  if (ctx.replaced || ctx.stopped) return Promise.reject(notInService(ctx));
  return new Promise<T>((resolve, reject) => {
    const run = async (port: LockLinkPort): Promise<void> => {
      try {
        resolve(await fn(port));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    };
    ctx.queue.push({ id: `task:${++ctx.opSeq}`, class: cls, order: ctx.o.clock.now(), payload: { type: "task", run, fail: reject } });
    ctx.kick();
  });
}

/** Sends the UNLOCK; a link failure (not a NAK) also fails the loop's step, so it backs off. */
export async function execUnlock(ctx: WorkerContext, op: UnlockOp): Promise<void> {
  if (op.signal?.aborted) return op.settle(unlockCancelled(ctx.lockId));
  if (ctx.o.clock.now() > op.deadlineMs) {
    op.settle(new LockBridgeError("expired", "the remote unlock expired before the lock could be asked"));
    return;
  }
  try {
    await ctx.o.link.unlock(op.seconds);
    op.settle();
  } catch (e) {
    if (isDiskFull(e)) {
      // The hub could not store the counters to seal the UNLOCK: nothing was sent, the door did
      // not open; the command layer answers it as a full disk (send again once there is room).
      op.settle(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
    const f = classifyLockError(e);
    if (f.kind === "nak") op.settle(new LockBridgeError("lock_rejected", `lock ${ctx.lockId} refused the unlock (${f.nak ?? "unknown"})`));
    else if (f.kind === "unreachable") op.settle(new LockBridgeError("lock_offline", `lock ${ctx.lockId} did not answer`));
    else op.settle(new LockBridgeError("lock_rejected", `lock ${ctx.lockId} unlock failed: ${errorMessage(e)}`));
    if (f.kind !== "nak") throw e;
  }
}

/** Fails every queued unlock (and, when the worker stops or the lock was replaced, every task). */
export function failUnlocks(ctx: WorkerContext, err: LockBridgeError, tasksToo = false): void {
  for (const item of ctx.queue.toArray()) {
    if (item.payload.type === "unlock") {
      ctx.queue.remove(item.id);
      item.payload.settle(err);
    } else if (tasksToo && item.payload.type === "task") {
      ctx.queue.remove(item.id);
      item.payload.fail(err);
    }
  }
}

/** A queued unlock whose command ran out of time: the door was not opened. */
function unlockCancelled(lockId: string): LockBridgeError {
  return new LockBridgeError("lock_offline", `lock ${lockId} could not be asked before the command's time ran out: the door was not opened`);
}
