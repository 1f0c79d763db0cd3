/**
 * Issue 15, the firmware bridge against simulated locks on TCP buses (the property harness:
 * real engine, real lock layer, real store, the hub restarted in process):
 * job state per lock in the store, the verified image kept 0600 in the data dir and fetched
 * once for every lock, removed when the job ends; progress per 10 %; a link that drops
 * mid-transfer resumes at the lock's offset; a hub restarted mid-transfer resumes without
 * FW_BEGIN, and one restarted while the lock applies the image goes on to applied; an image the lock finds damaged fails and the lock keeps working on its old
 * firmware; a table wiped by the update comes back; a model mismatch and a lock offline longer
 * than the job allows fail that lock while the job goes on.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CredentialKind } from "../../src/protocol/llp/index.js";
import { keyPayload, withProperty, type Property } from "../helpers/property.js";

const image = randomBytes(120_000);
const sha256 = createHash("sha256").update(image).digest("hex");

/** An image source that counts downloads. */
function source(img = image) {
  const calls: string[] = [];
  return { calls, fetchImage: (url: string) => (calls.push(url), Promise.resolve(Buffer.from(img))) };
}

const job = (p: Property, jobId: string, doors: string[], extra: Record<string, unknown> = {}) => ({
  jobId, lockIds: doors.map((d) => p.lockIdOf(d)), version: "2.0.0", url: "https://fw.example.com/fw.bin", sha256, size: image.length, ...extra,
});

const outcome = (p: Property, jobId: string, lockId: string) =>
  p.events("firmware.applied").find((e) => e.jobId === jobId && e.lockId === lockId) ?? p.events("firmware.failed").find((e) => e.jobId === jobId && e.lockId === lockId);

const fastTiming = { retryMs: 100, applyTimeoutMs: 20_000, settleTimeoutMs: 20_000 };

describe("firmware bridge", () => {
  it("stores the job per lock, keeps the verified image 0600 in the data dir for every lock, reports per 10 %, removes the image at the end", async () => {
    const src = source();
    await withProperty({ rooms: 2, commons: [], fetchImage: src.fetchImage, firmwareTiming: fastTiming, simLock: () => ({ fwRestartMs: 300 }) }, async (p) => {
      for (const d of p.rooms) p.sim(d).setSlow(2);
      const res = await p.ok("firmware.update", job(p, "fw-a", p.rooms));
      expect(res.accepted).toEqual(p.rooms.map((d) => p.lockIdOf(d)));
      const dir = path.join(p.dataDir, "firmware");
      // Mid-transfer: the job and its locks are in the store, the image sits in the data dir, owner-only.
      const transferring = await p.waitFor("a lock transferring", () => p.store.firmwareJobs.locks("fw-a").find((l) => l.state === "transferring" && l.offset > 0));
      expect(transferring.maxChunk).toBe(1000);
      const files = fs.readdirSync(dir);
      expect(files).toHaveLength(1);
      expect(fs.statSync(path.join(dir, files[0]!)).mode & 0o777).toBe(0o600);
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      expect(p.engine.statuses.lockStatus(transferring.lockId)).toBeTruthy();
      for (const d of p.rooms) await p.waitFor(`${d} done`, () => outcome(p, "fw-a", p.lockIdOf(d)), 60_000);
      for (const d of p.rooms) {
        const lockId = p.lockIdOf(d);
        expect(outcome(p, "fw-a", lockId)).toMatchObject({ type: "firmware.applied", version: "2.0.0", tablesChecked: true });
        expect(p.sim(d).firmware).toBe("2.0.0");
        expect(p.events("firmware.progress").filter((e) => e.lockId === lockId).map((e) => e.percent)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
        expect(p.sim(d).executionCount("FW_BEGIN")).toBe(1);
      }
      expect(src.calls).toHaveLength(1); // one download for both locks
      await p.waitFor("job ended", () => p.store.firmwareJobs.job("fw-a")?.endedAt !== null || undefined);
      expect(fs.readdirSync(dir)).toEqual([]);
      expect(p.store.firmwareJobs.locks("fw-a").map((l) => l.state)).toEqual(["applied", "applied"]);
    });
  }, 90_000);

  it("a link that drops mid-transfer resumes at the lock's offset, without FW_BEGIN again", async () => {
    await withProperty({ rooms: 1, commons: [], fetchImage: source().fetchImage, firmwareTiming: fastTiming, simLock: () => ({ fwRestartMs: 300 }) }, async (p) => {
      const lock = p.sim("room-101");
      lock.setSlow(3);
      await p.ok("firmware.update", job(p, "fw-drop", ["room-101"]));
      await p.waitFor("a third sent", () => (lock.firmwareOffset ?? 0) > image.length / 3 || undefined, 30_000);
      lock.setOffline(true);
      const cut = lock.firmwareOffset!;
      await new Promise((r) => setTimeout(r, 1500));
      lock.setOffline(false);
      const done = await p.waitFor("done", () => outcome(p, "fw-drop", p.lockIdOf("room-101")), 60_000);
      expect(done).toMatchObject({ type: "firmware.applied" });
      expect(lock.executionCount("FW_BEGIN")).toBe(1);
      // Every chunk once, plus at most the one refused at a stale offset around the cut.
      expect(lock.executionCount("FW_CHUNK")).toBeLessThanOrEqual(Math.ceil(image.length / 1000) + 2);
      expect(cut).toBeGreaterThan(0);
    });
  }, 90_000);

  it("a hub restarted mid-transfer resumes at the lock's expected offset", async () => {
    await withProperty({ rooms: 1, commons: [], fetchImage: source().fetchImage, firmwareTiming: fastTiming, simLock: () => ({ fwRestartMs: 300 }) }, async (p) => {
      const lock = p.sim("room-101");
      lock.setSlow(3);
      await p.ok("firmware.update", job(p, "fw-restart", ["room-101"]));
      await p.waitFor("half sent", () => (lock.firmwareOffset ?? 0) > image.length / 2 || undefined, 30_000);
      await p.restartHub();
      const done = await p.waitFor("done", () => outcome(p, "fw-restart", p.lockIdOf("room-101")), 60_000);
      expect(done).toMatchObject({ type: "firmware.applied" });
      expect(lock.executionCount("FW_BEGIN")).toBe(1);
      expect(lock.executionCount("FW_CHUNK")).toBeLessThanOrEqual(Math.ceil(image.length / 1000) + 2);
    });
  }, 90_000);

  it("a hub restarted while the lock applies the image (stored restarting, or committing with FW_COMMIT already taken) goes on to applied", async () => {
    for (const stored of ["restarting", "committing"] as const) {
      await withProperty({ rooms: 1, commons: [], fetchImage: source().fetchImage, firmwareTiming: fastTiming, simLock: () => ({ fwRestartMs: 1500 }) }, async (p) => {
        const lock = p.sim("room-101");
        const lockId = p.lockIdOf("room-101");
        await p.ok("firmware.update", job(p, `fw-${stored}`, ["room-101"]));
        await p.waitFor("restarting", () => p.store.firmwareJobs.lock(`fw-${stored}`, lockId)?.state === "restarting" || undefined, 30_000);
        // "committing": as if the hub died after sending FW_COMMIT, before it stored the step.
        if (stored === "committing") p.store.firmwareJobs.updateLock(`fw-${stored}`, lockId, { state: "committing" });
        await p.restartHub();
        expect(await p.waitFor("done", () => outcome(p, `fw-${stored}`, lockId), 60_000)).toMatchObject({ type: "firmware.applied", version: "2.0.0" });
        expect(lock.firmware).toBe("2.0.0");
        expect(lock.executionCount("FW_BEGIN")).toBe(1);
      });
    }
  }, 120_000);

  it("a lock that answers BUSY while it restarts is waited for, then applied", async () => {
    await withProperty({ rooms: 1, commons: [], fetchImage: source().fetchImage, firmwareTiming: fastTiming, simLock: () => ({ fwRestartMs: 1500, fwRestartAnswer: "busy" }) }, async (p) => {
      await p.ok("firmware.update", job(p, "fw-busy", ["room-101"]));
      expect(await p.waitFor("done", () => outcome(p, "fw-busy", p.lockIdOf("room-101")), 60_000)).toMatchObject({ type: "firmware.applied", version: "2.0.0" });
      expect(p.sim("room-101").executionCount("FW_COMMIT")).toBe(1);
    });
  }, 60_000);

  it("an image the lock finds damaged: firmware.failed (verify_failed), old firmware, the guest's code still works; the other lock is updated", async () => {
    await withProperty(
      { rooms: 2, commons: [], fetchImage: source().fetchImage, firmwareTiming: fastTiming, simLock: (d) => ({ fwRestartMs: 300, fwCorruptImage: d === "room-101" }) },
      async (p) => {
        await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"]));
        const k = await p.waitForKey("k-1", (s) => s.state === "active");
        const code = (k as unknown as { doorCode: { code: string } }).doorCode.code;
        await p.ok("firmware.update", job(p, "fw-bad", p.rooms));
        const bad = await p.waitFor("failed", () => outcome(p, "fw-bad", p.lockIdOf("room-101")), 60_000);
        expect(bad).toMatchObject({ type: "firmware.failed", reason: "verify_failed" });
        expect(p.sim("room-101").firmware).not.toBe("2.0.0");
        expect(p.sim("room-101").enterCode(code).granted).toBe(true);
        expect(await p.waitFor("other", () => outcome(p, "fw-bad", p.lockIdOf("room-102")), 60_000)).toMatchObject({ type: "firmware.applied" });
        await p.ok("door.unlock", { doorId: "room-101", seconds: 3 });
      },
    );
  }, 90_000);

  it("a table wiped by the update is found by TABLE_DIGEST and provisioned again before firmware.applied", async () => {
    await withProperty({ rooms: 1, commons: [], fetchImage: source().fetchImage, firmwareTiming: fastTiming, simLock: () => ({ fwRestartMs: 300, fwWipesTables: true }) }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"]));
      const k = await p.waitForKey("k-1", (s) => s.state === "active");
      const code = (k as unknown as { doorCode: { code: string } }).doorCode.code;
      await p.ok("firmware.update", job(p, "fw-wipe", ["room-101"]));
      const done = await p.waitFor("done", () => outcome(p, "fw-wipe", p.lockIdOf("room-101")), 60_000);
      expect(done).toMatchObject({ type: "firmware.applied", tablesChecked: true });
      expect(p.sim("room-101").table(CredentialKind.DOOR_CODE)!.used).toBe(1);
      expect(p.sim("room-101").enterCode(code).granted).toBe(true);
    });
  }, 90_000);

  it("a model mismatch fails that lock before any byte; a lock offline longer than the job allows fails; the job goes on and ends", async () => {
    await withProperty({ rooms: 2, commons: [], fetchImage: source().fetchImage, firmwareTiming: fastTiming, simLock: () => ({ fwRestartMs: 300 }) }, async (p) => {
      const mismatch = await p.ok("firmware.update", job(p, "fw-model", ["room-101"], { model: "OTHER-MODEL" }));
      expect(mismatch.accepted).toHaveLength(1);
      expect(await p.waitFor("mismatch", () => outcome(p, "fw-model", p.lockIdOf("room-101")))).toMatchObject({ type: "firmware.failed", reason: "model_mismatch" });
      expect(p.sim("room-101").executionCount("FW_BEGIN")).toBe(0);

      p.sim("room-102").setOffline(true);
      await p.waitFor("room-102 offline", () => p.engine.statuses.lockStatus(p.lockIdOf("room-102"))?.online === false || undefined, 30_000);
      await p.ok("firmware.update", job(p, "fw-off", p.rooms, { maxOfflineS: 2 }));
      expect(await p.waitFor("offline", () => outcome(p, "fw-off", p.lockIdOf("room-102")), 30_000)).toMatchObject({ type: "firmware.failed", reason: "lock_offline" });
      expect(await p.waitFor("applied", () => outcome(p, "fw-off", p.lockIdOf("room-101")), 60_000)).toMatchObject({ type: "firmware.applied" });
      await p.waitFor("job ended", () => p.store.firmwareJobs.job("fw-off")?.endedAt !== null || undefined);
    });
  }, 90_000);
});
