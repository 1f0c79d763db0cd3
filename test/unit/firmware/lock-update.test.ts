// One lock's update against a scripted lock: a lock that lost its transfer gets FW_BEGIN again,
// a lock unreachable past the job's limit fails lock_offline, progress is stored and reported per 10 %.
import { createHash, randomBytes } from "node:crypto";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { BusSlots } from "../../../src/firmware/bus-slots.js";
import { LockUpdate } from "../../../src/firmware/lock-update.js";
import { DEFAULT_FIRMWARE_TIMING, type FirmwareLink, type FirmwareLocks } from "../../../src/firmware/ports.js";
import { LockNakError } from "../../../src/lock/errors.js";
import type { IdentInfo } from "../../../src/protocol/llp/commands.js";
import { systemClock } from "../../../src/shared/clock.js";
import { LockBridgeError } from "../../../src/shared/errors.js";
import { tempStore } from "../../helpers/store.js";

const LOCK = "4c42000000000001";
const image = randomBytes(10_000);
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

/** A lock that takes 1,000-byte chunks in order; `script` may make a request fail instead. */
function scriptedLock(script: (cmd: string, offset?: number) => Error | undefined = () => undefined) {
  const lock = { transfer: null as null | { offset: number }, firmware: "1.0.0", pending: null as string | null, calls: [] as string[] };
  const fail = (cmd: string, offset?: number) => {
    lock.calls.push(offset === undefined ? cmd : `${cmd}@${offset}`);
    const e = script(cmd, offset);
    if (e) throw e;
  };
  const nak = (name: "INVALID_STATE", expectedOffset?: number) =>
    new LockNakError(LOCK, "FW_CHUNK", { code: 8, name, ...(expectedOffset !== undefined ? { expectedOffset } : {}) });
  const link: FirmwareLink = {
    ident: () => {
      fail("IDENT");
      return Promise.resolve({ firmware: lock.firmware } as IdentInfo);
    },
    fwBegin: (_size, _sha, version) => {
      fail("FW_BEGIN");
      lock.transfer = { offset: 0 };
      lock.pending = version;
      return Promise.resolve({ maxChunk: 1000 });
    },
    fwChunk: (offset, data) => {
      fail("FW_CHUNK", offset);
      if (!lock.transfer) return Promise.reject(nak("INVALID_STATE"));
      if (offset !== lock.transfer.offset) return Promise.reject(nak("INVALID_STATE", lock.transfer.offset));
      lock.transfer.offset += data.length;
      return Promise.resolve();
    },
    fwCommit: () => {
      fail("FW_COMMIT");
      lock.transfer = null;
      lock.firmware = lock.pending ?? lock.firmware;
      return Promise.resolve();
    },
    fwAbort: () => Promise.resolve(),
  };
  return { lock, link };
}

function rig(link: FirmwareLink, maxOfflineMs = 60_000) {
  const t = tempStore();
  cleanups.push(() => t.cleanup());
  const jobs = t.store.firmwareJobs;
  jobs.create({ jobId: "j", version: "2.0.0", url: "https://x/fw", sha256: createHash("sha256").update(image).digest("hex"), size: image.length, model: null, maxOfflineMs }, [LOCK]);
  const events: Record<string, unknown>[] = [];
  const locks: FirmwareLocks = {
    runTask: (_id, fn) => fn(link),
    inService: () => true,
    online: () => true,
    busOf: () => "serial:/dev/x",
    models: () => ({ ident: null, profile: null }),
    recheck: () => undefined,
    settled: () => true,
  };
  const update = new LockUpdate(
    { locks, jobs, slots: new BusSlots(), report: { event: (type, f) => void events.push({ type, ...f }), lockChanged: () => undefined }, clock: systemClock, log: pino({ level: "silent" }), timing: { ...DEFAULT_FIRMWARE_TIMING, retryMs: 20 }, stop: new AbortController().signal },
    jobs.job("j")!,
    image,
    LOCK,
  );
  return { update, jobs, events };
}

describe("LockUpdate", () => {
  it("applies: every chunk once, progress per 10 %, state stored as it goes", async () => {
    const { lock, link } = scriptedLock();
    const { update, jobs, events } = rig(link);
    await update.run();
    expect(lock.firmware).toBe("2.0.0");
    expect(lock.calls.filter((c) => c.startsWith("FW_CHUNK"))).toHaveLength(10);
    expect(events.filter((e) => e.type === "firmware.progress").map((e) => e.percent)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(events.at(-1)).toMatchObject({ type: "firmware.applied", version: "2.0.0", tablesChecked: true });
    expect(jobs.lock("j", LOCK)).toMatchObject({ state: "applied", offset: image.length, percent: 100 });
  });

  it("a lock that lost its transfer (INVALID_STATE without an offset) gets FW_BEGIN again", async () => {
    let dropped = false;
    const s = scriptedLock((cmd, offset) => {
      if (cmd === "FW_CHUNK" && offset === 5000 && !dropped) {
        dropped = true;
        s.lock.transfer = null; // the lock restarted: RAM lost
      }
      return undefined;
    });
    const { update } = rig(s.link);
    await update.run();
    expect(s.lock.calls.filter((c) => c === "FW_BEGIN")).toHaveLength(2);
    expect(s.lock.firmware).toBe("2.0.0");
  });

  it("a lock unreachable longer than the job allows fails lock_offline", async () => {
    const s = scriptedLock((cmd, offset) => (cmd === "FW_CHUNK" && (offset ?? 0) >= 3000 ? new LockBridgeError("lock_timeout", "no answer") : undefined));
    const { update, jobs, events } = rig(s.link, 200);
    await update.run();
    expect(events.at(-1)).toMatchObject({ type: "firmware.failed", reason: "lock_offline" });
    expect(jobs.lock("j", LOCK)).toMatchObject({ state: "failed", reason: "lock_offline", offset: 3000 });
    expect(s.lock.firmware).toBe("1.0.0");
  });
});
