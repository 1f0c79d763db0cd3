// FirmwareService.start: https only unless allowed, a redelivered jobId not started twice, locks out of service skipped.
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ImageCache } from "../../../src/firmware/image-cache.js";
import type { FirmwareLocks } from "../../../src/firmware/ports.js";
import { FirmwareService } from "../../../src/firmware/service.js";
import { isLockBridgeError } from "../../../src/shared/errors.js";
import { tempStore } from "../../helpers/store.js";

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function rig(allowHttp = false) {
  const t = tempStore();
  cleanups.push(() => {
    t.store.close();
    t.cleanup();
  });
  const inService = new Set(["4c42000000000001"]);
  const locks: FirmwareLocks = {
    runTask: () => new Promise(() => undefined), // never answers: the job just waits
    inService: (id) => inService.has(id),
    online: () => true,
    busOf: () => "serial:/dev/x",
    models: () => ({ ident: null, profile: null }),
    recheck: () => undefined,
    settled: () => true,
  };
  const events: Record<string, unknown>[] = [];
  const fetched: string[] = [];
  const svc = new FirmwareService({
    jobs: t.store.firmwareJobs,
    locks,
    images: new ImageCache(`${t.dir}/firmware`, (url) => (fetched.push(url), new Promise(() => undefined))),
    report: { event: (type, f) => void events.push({ type, ...f }), lockChanged: () => undefined },
    clock: t.clock,
    log: pino({ level: "silent" }),
    allowHttp,
  });
  return { svc, store: t.store, events, fetched };
}

const job = { jobId: "j1", lockIds: ["4c42000000000001", "4c42000000000002"], version: "2.0.0", url: "https://fw.example.com/a.bin", sha256: "ab".repeat(32), size: 10 };

describe("FirmwareService.start", () => {
  it("needs https:// unless allowed", () => {
    const { svc } = rig();
    let err: unknown;
    try {
      svc.start({ ...job, url: "http://fw.example.com/a.bin" });
    } catch (e) {
      err = e;
    }
    expect(isLockBridgeError(err, "invalid_payload")).toBe(true);
    expect(rig(true).svc.start({ ...job, url: "http://fw.example.com/a.bin" }).accepted).toEqual(["4c42000000000001"]);
  });

  it("stores the job with the locks in service queued; the same jobId again starts nothing new; it runs once the caller's transaction is over", async () => {
    const { svc, store, fetched } = rig();
    expect(svc.start(job)).toEqual({ accepted: ["4c42000000000001"], rejected: ["4c42000000000002"] });
    expect(store.firmwareJobs.locks("j1").map((l) => [l.lockId, l.state])).toEqual([["4c42000000000001", "queued"]]);
    expect(fetched).toHaveLength(0); // not inside the caller's transaction
    expect(svc.start(job).accepted).toEqual(["4c42000000000001"]);
    expect(store.firmwareJobs.openJobs()).toHaveLength(1);
    await new Promise((r) => setImmediate(r));
    expect(fetched).toHaveLength(1);
    expect(svc.lockView("4c42000000000001")).toMatchObject({ jobId: "j1", version: "2.0.0", state: "queued", percent: 0 });
    expect(svc.jobsView()[0]).toMatchObject({ jobId: "j1", endedAt: null, locks: [{ lockId: "4c42000000000001", state: "queued" }] });
  });

  it("refuses a job none of whose locks is in service", () => {
    const { svc } = rig();
    expect(() => svc.start({ ...job, lockIds: ["4c42000000000002"] })).toThrow(/none of the locks/);
  });
});
