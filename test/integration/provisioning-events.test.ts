/**
 * Priorities, lock events, clock, remote unlock, at-risk, restarts, firmware and
 * decommissioning, end to end over simulated locks.
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { CredentialKind, type LlpRequest } from "../../src/protocol/llp/index.js";
import { DEFAULT_BEHAVIORS, type Behavior } from "../../sim/index.js";
import { codeOf, keyPayload, localDate, withProperty } from "../helpers/property.js";

/** Records the credential writes and unlocks a lock executes, in order. */
function recordingBehaviors(log: string[]): Behavior[] {
  const recording = (inner: Behavior): Behavior => ({
    ...inner,
    handle(req: LlpRequest, ctx) {
      if (req.cmd === "PUT_CREDENTIAL") log.push(`put:${req.slot}:${Buffer.from(req.secret).toString()}`);
      if (req.cmd === "DELETE_CREDENTIAL") log.push(`del:${req.slot}`);
      if (req.cmd === "UNLOCK") log.push("unlock");
      return inner.handle(req, ctx);
    },
  });
  return DEFAULT_BEHAVIORS.map((b) => (b.name === "credentials" || b.name === "unlock" ? recording(b) : b));
}

describe("priorities", () => {
  it("a checked-out guest's code leaves the door before the next guest's goes on; new keys go by arrival", async () => {
    const writes: string[] = [];
    await withProperty({ rooms: 1, commons: [], simLock: () => ({ behaviors: recordingBehaviors(writes) }) }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-old", ["room-101"], { source: "pms", pms: { provider: "mews", reservationId: "R1" } }));
      const old = codeOf(await p.waitForKey("k-old", (x) => x.state === "active"));
      await p.settle();
      p.sim("room-101").setOffline(true);
      await p.waitFor("lock offline", () => p.engine.statuses.lockStatus(p.lockIdOf("room-101"))?.online === false || undefined);
      // While it is offline: a late arrival first, then an early one, then the old guest checks out.
      await p.ok("key.upsert", keyPayload(p, "k-late", [{ doorId: "room-101", from: localDate(p, 1), to: localDate(p, 3), arrivalTime: "18:00" }]));
      await p.ok("key.upsert", keyPayload(p, "k-early", [{ doorId: "room-101", from: localDate(p, 0), to: localDate(p, 2), arrivalTime: "15:00" }]));
      await p.ok("key.checkin", { keyId: "k-old", checkedIn: false });
      const late = p.store.credentials.currentOf("k-late", "doorCode")!.value;
      const early = p.store.credentials.currentOf("k-early", "doorCode")!.value;
      writes.length = 0;
      p.sim("room-101").setOffline(false);
      await p.waitForKey("k-late", (x) => x.state === "inactive" && x.doors[0]?.reasons[0] === "access_period_not_started");
      await p.waitForKey("k-old", (x) => x.state === "revoked");
      const order = writes.map((w) => (w.startsWith("del") ? "revoke old" : w.endsWith(early) ? "early" : w.endsWith(late) ? "late" : w));
      expect(order.slice(0, 3)).toEqual(["revoke old", "early", "late"]);
      expect(p.sim("room-101").enterCode(old).granted).toBe(false);
    });
  });

  it("a remote unlock goes ahead of queued provisioning work", async () => {
    const writes: string[] = [];
    await withProperty({ rooms: 1, commons: ["lobby"], simLock: (d) => (d === "lobby" ? { behaviors: recordingBehaviors(writes) } : {}) }, async (p) => {
      p.sim("lobby").setSlow(30);
      for (let i = 0; i < 25; i++) await p.ok("key.upsert", keyPayload(p, `k-${i}`, ["room-101"]));
      await new Promise((r) => setTimeout(r, 150));
      const res = await p.send("door.unlock", { doorId: "lobby", seconds: 5 });
      expect(res).toMatchObject({ ok: true });
      expect(p.sim("lobby").unlocked).toBe(true);
      await p.waitForKey("k-24", (x) => x.state === "active", 30_000);
      const at = writes.indexOf("unlock");
      const puts = writes.filter((w) => w.startsWith("put")).length;
      // The unlock went out while most of the lobby's 25 credentials were still queued.
      expect(at).toBeGreaterThan(-1);
      expect(writes.slice(at + 1).filter((w) => w.startsWith("put")).length).toBeGreaterThan(puts / 2);
      await p.waitFor("door.remote_unlock", () => p.events("door.remote_unlock").find((e) => e.doorId === "lobby"));
    });
  });
});

describe("remote unlock", () => {
  it("expired, offline and unknown doors are refused; nothing opens", async () => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      const late = await p.send("door.unlock", { doorId: "room-101", seconds: 5, ts: new Date(p.clock.now() - 60_000).toISOString() });
      expect(late).toMatchObject({ ok: false, error: { code: "expired" } });
      expect(p.sim("room-101").unlocked).toBe(false);
      const unknown = await p.send("door.unlock", { doorId: "nope", seconds: 5 });
      expect(unknown).toMatchObject({ ok: false, error: { code: "unknown_door" } });
      p.sim("room-101").setOffline(true);
      const offline = await p.send("door.unlock", { doorId: "room-101", seconds: 5 });
      expect(offline).toMatchObject({ ok: false, error: { code: "lock_offline" } });
      p.sim("room-101").setOffline(false);
      let opened = false;
      for (let i = 0; i < 100 && !opened; i++) {
        opened = (await p.send("door.unlock", { doorId: "room-101", seconds: 3 })).ok;
        if (!opened) await new Promise((r) => setTimeout(r, 100));
      }
      expect(opened).toBe(true);
      expect(p.sim("room-101").unlocked).toBe(true);
    });
  });
});

describe("lock events", () => {
  it("door opened, held open past the site's limit, closed; battery and tamper are reported", async () => {
    await withProperty({ rooms: 1, commons: [], site: { doorHeldOpenSeconds: 30 } }, async (p) => {
      const lock = p.sim("room-101");
      const lockId = p.lockIdOf("room-101");
      lock.openDoor();
      await p.waitFor("door.opened", () => p.events("door.opened").find((e) => e.lockId === lockId));
      await p.waitFor("door open seen", () => p.engine.statuses.lockStatus(lockId)?.doorOpen === true || undefined);
      expect(p.events("door.held_open")).toHaveLength(0);
      p.clock.jump(31_000);
      const held = await p.waitFor("door.held_open", () => p.events("door.held_open").find((e) => e.doorId === "room-101"));
      expect(held.seconds).toBe(30);
      lock.closeDoor();
      await p.waitFor("door.closed", () => p.events("door.closed").find((e) => e.lockId === lockId));
      lock.setBattery(5);
      lock.tamper();
      await p.waitFor("battery low", () => p.events("lock.battery_low").find((e) => e.lockId === lockId && e.battery === 5));
      await p.waitFor("tamper", () => p.events("lock.tamper").find((e) => e.lockId === lockId));
      // Only once every event is in the outbox does the lock get to forget it.
      await p.waitFor("acknowledged", () => p.store.locks.get(lockId)!.lastEventSeq >= 4 || undefined);
    });
  });

  it("a gap in the lock's event seq (ring overflow while offline) is reported as lock.events_lost", async () => {
    await withProperty({ rooms: 1, commons: [], simLock: () => ({ eventCapacity: 4 }) }, async (p) => {
      const lock = p.sim("room-101");
      lock.setOffline(true);
      for (let i = 0; i < 10; i++) lock.enterCode("000000");
      lock.setOffline(false);
      const lost = await p.waitFor("lock.events_lost", () => p.events("lock.events_lost").find((e) => e.lockId === p.lockIdOf("room-101")));
      expect(lost.count).toBeGreaterThanOrEqual(6);
      await p.waitFor("the 4 kept events", () => p.events("access.denied").filter((e) => e.lockId === p.lockIdOf("room-101")).length === 4 || undefined);
      expect(p.events("access.denied")[0]).toMatchObject({ reason: "unknown_credential", credential: "doorCode" });
    });
  });

  it("a drifting lock clock is reported (lock.clock_drift) and corrected", async () => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      const lock = p.sim("room-101");
      lock.setDrift(100_000); // 10 % fast
      p.clock.jump(10 * 60_000); // 60 s ahead by now; the poll is due
      const drift = await p.waitFor("lock.clock_drift", () => p.events("lock.clock_drift").find((e) => e.lockId === p.lockIdOf("room-101")));
      expect(drift.driftS as number).toBeGreaterThan(30);
      await p.waitFor("clock corrected", () => Math.abs(lock.time - Math.floor(p.clock.now() / 1000)) <= 2 || undefined);
    });
  });
});

describe("key.at_risk", () => {
  it("raised before arrival when a door is not ready, not for ready keys", async () => {
    await withProperty({ rooms: 2, commons: [] }, async (p) => {
      p.sim("room-101").setOffline(true);
      const soon = { from: localDate(p, 0), to: localDate(p, 2), arrivalTime: "13:40" }; // 13:00 local now: arrival in 40 min
      await p.ok("key.upsert", keyPayload(p, "k-risk", [{ doorId: "room-101", ...soon }]));
      await p.ok("key.upsert", keyPayload(p, "k-fine", [{ doorId: "room-102", ...soon }]));
      const ev = await p.waitFor("key.at_risk", () => p.events("key.at_risk").find((e) => e.keyId === "k-risk"));
      expect(Date.parse(ev.at as string)).toBeLessThan(Date.parse(ev.arrival as string));
      expect(ev.doors).toEqual([{ doorId: "room-101", state: "pending", reasons: ["lock_offline"] }]);
      await p.waitForKey("k-fine", (x) => x.state === "inactive");
      await new Promise((r) => setTimeout(r, 2500));
      expect(p.events("key.at_risk").filter((e) => e.keyId === "k-fine")).toHaveLength(0);
      expect(p.events("key.at_risk").filter((e) => e.keyId === "k-risk")).toHaveLength(1);
    });
  });

  it("a ready key that stops being ready inside the horizon is judged again, before arrival", async () => {
    await withProperty({ rooms: 1, commons: [], engine: { verifyIntervalMs: 1000, atRiskGraceMs: 500 } }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-1", [{ doorId: "room-101", from: localDate(p, 0), to: localDate(p, 2), arrivalTime: "13:50" }]));
      await p.waitForKey("k-1", (x) => x.state === "inactive" && x.doors[0]?.reasons[0] === "access_period_not_started");
      await new Promise((r) => setTimeout(r, 1500));
      expect(p.events("key.at_risk")).toHaveLength(0); // ready: judged and not at risk
      // The lock loses its memory and refuses to take the code again.
      p.sim("room-101").table(1)!.clear();
      p.sim("room-101").setMemoryFull(true);
      const ev = await p.waitFor("key.at_risk", () => p.events("key.at_risk").find((e) => e.keyId === "k-1"));
      expect(ev.doors).toEqual([{ doorId: "room-101", state: "failed", reasons: ["lock_memory_full"] }]);
      expect(Date.parse(ev.at as string)).toBeLessThan(Date.parse(ev.arrival as string));
    });
  });

  it("a key arriving later is judged when it enters the horizon (timer from the Clock)", async () => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      p.sim("room-101").setOffline(true);
      await p.ok("key.upsert", keyPayload(p, "k-1", [{ doorId: "room-101", from: localDate(p, 0), to: localDate(p, 2), arrivalTime: "17:00" }]));
      await new Promise((r) => setTimeout(r, 2500));
      expect(p.events("key.at_risk")).toHaveLength(0);
      p.clock.jump(3 * 3600_000 + 5 * 60_000); // 16:05 local: inside the 60-minute horizon
      const ev = await p.waitFor("key.at_risk", () => p.events("key.at_risk").find((e) => e.keyId === "k-1"));
      expect(Date.parse(ev.at as string)).toBeLessThan(Date.parse(ev.arrival as string));
    });
  });
});

describe("windows over time", () => {
  it("a window that starts turns inactive into active; one that ends takes the code off the lock", async () => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-1", [{ doorId: "room-101", from: localDate(p, 0), to: localDate(p, 0), arrivalTime: "14:00", departureTime: "16:00" }]));
      const s = await p.waitForKey("k-1", (x) => x.state === "inactive");
      expect(s.doors[0]?.reasons).toEqual(["access_period_not_started"]);
      p.clock.jump(3600_000 + 1000); // 14:00:01 local
      await p.waitForKey("k-1", (x) => x.state === "active");
      expect(p.sim("room-101").enterCode(codeOf(s)).granted).toBe(true);
      p.clock.jump(2 * 3600_000); // past 16:00
      await p.waitForKey("k-1", (x) => x.state === "inactive" && x.doors[0]?.reasons[0] === "access_period_ended");
      await p.waitFor("removed from the lock", () => p.sim("room-101").table(CredentialKind.DOOR_CODE)!.used === 0 || undefined);
    });
  });
});

describe("restarts", () => {
  it("slots stay stable across a hub restart; nothing is rewritten; pending work resumes", async () => {
    await withProperty({ rooms: 1, commons: ["lobby"] }, async (p) => {
      for (let i = 0; i < 5; i++) await p.ok("key.upsert", keyPayload(p, `k-${i}`, ["room-101"]));
      await p.waitForKey("k-4", (x) => x.state === "active");
      await p.settle();
      const slotsBefore = p.store.slots.forLock(p.lockIdOf("lobby")).map((r) => [r.slot, r.desired?.credentialId]);
      const puts = p.sim("lobby").executionCount("PUT_CREDENTIAL");
      p.sim("room-101").setOffline(true);
      await p.ok("key.upsert", keyPayload(p, "k-new", ["room-101"]));
      await p.restartHub();
      expect(p.store.slots.forLock(p.lockIdOf("lobby")).filter((r) => r.desired?.credentialId !== undefined && slotsBefore.some(([, c]) => c === r.desired?.credentialId)).map((r) => [r.slot, r.desired?.credentialId])).toEqual(slotsBefore);
      await p.waitForKey("k-new", (x) => x.doors.find((d) => d.doorId === "lobby")?.state === "active");
      expect(p.sim("lobby").executionCount("PUT_CREDENTIAL")).toBe(puts + 1);
      p.sim("room-101").setOffline(false);
      const s = await p.waitForKey("k-new", (x) => x.state === "active");
      expect(p.sim("room-101").enterCode(codeOf(s)).granted).toBe(true);
    });
  });
});

describe("table verification across a restart", () => {
  it("a credential verified before a restart is still verified after it, one written since the last verification is not", async () => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"]));
      await p.waitForKey("k-1", (x) => x.state === "active");
      await p.settle();
      const lockId = p.lockIdOf("room-101");
      // The lock goes quiet: after the restart nothing can be verified again, only remembered.
      p.sim("room-101").setOffline(true);
      await p.restartHub();
      expect(p.keyStatus("k-1").state).toBe("active");
      // As if the code had been written after the table's last verification (a crash between
      // the lock's ACK and the next TABLE_DIGEST): after a restart it is not claimed verified.
      const slot = p.store.slots.forLock(lockId, "doorCode").find((r) => r.desired !== null);
      expect(slot).toBeDefined();
      p.store.lockFacts.setTableVerifiedAt(lockId, "doorCode", slot!.updatedAt - 1);
      await p.restartHub();
      expect(p.keyStatus("k-1")).toMatchObject({ state: "pending" });
      // Once the hub has found the lock silent, the article's words: pending, lock offline.
      await p.waitForKey("k-1", (x) => x.state === "pending" && x.doors[0]?.reasons.includes("lock_offline") === true);
      // Back online, the next TABLE_DIGEST verifies it again.
      p.sim("room-101").setOffline(false);
      await p.waitForKey("k-1", (x) => x.state === "active");
    });
  });
});

describe("firmware and decommissioning", () => {
  it("firmware.update sends the image chunk by chunk; progress then applied, IDENT shows the version", async () => {
    const image = Buffer.alloc(5000, 0x5a);
    const server = createServer((_req, res) => res.end(image));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      await withProperty({ rooms: 1, commons: [], simLock: () => ({ fwRestartMs: 300 }) }, async (p) => {
        const lockId = p.lockIdOf("room-101");
        const res = await p.ok("firmware.update", {
          jobId: "fw-1",
          lockIds: [lockId],
          version: "2.0.0",
          url: `http://127.0.0.1:${port}/fw.bin`,
          sha256: createHash("sha256").update(image).digest("hex"),
          size: image.length,
        });
        expect(res.accepted).toEqual([lockId]);
        const applied = await p.waitFor("firmware.applied", () => p.events("firmware.applied").find((e) => e.jobId === "fw-1"), 30_000);
        expect(applied).toMatchObject({ lockId, version: "2.0.0" });
        expect(p.events("firmware.progress").filter((e) => e.jobId === "fw-1").at(-1)).toMatchObject({ percent: 100 });
        expect(p.sim("room-101").firmware).toBe("2.0.0");
        await p.waitFor("lock status firmware", () => p.engine.statuses.lockStatus(lockId)?.firmware === "2.0.0" || undefined);
      });
    } finally {
      server.close();
    }
  });

  it("a bad image fails the job without touching the lock", async () => {
    const server = createServer((_req, res) => res.end(Buffer.alloc(100)));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      await withProperty({ rooms: 1, commons: [] }, async (p) => {
        const lockId = p.lockIdOf("room-101");
        await p.ok("firmware.update", { jobId: "fw-2", lockIds: [lockId], version: "9.9.9", url: `http://127.0.0.1:${port}/x`, sha256: "00".repeat(32), size: 100 });
        const failed = await p.waitFor("firmware.failed", () => p.events("firmware.failed").find((e) => e.jobId === "fw-2"));
        expect(failed).toMatchObject({ lockId, reason: "image_invalid" });
        expect(p.sim("room-101").executionCount("FW_BEGIN")).toBe(0);
      });
    } finally {
      server.close();
    }
  });

  it("lock.decommission with wipe empties the lock; its keys wait for a commissioned lock", async () => {
    await withProperty({ rooms: 1, commons: [] }, async (p) => {
      await p.ok("key.upsert", keyPayload(p, "k-1", ["room-101"]));
      await p.waitForKey("k-1", (x) => x.state === "active");
      await p.ok("lock.decommission", { lockId: p.lockIdOf("room-101"), wipe: true });
      expect(p.sim("room-101").table(CredentialKind.DOOR_CODE)!.used).toBe(0);
      const s = await p.waitForKey("k-1", (x) => x.state === "pending");
      expect(s.doors[0]?.reasons).toEqual(["not_commissioned"]);
      expect(p.engine.statuses.lockStatus(p.lockIdOf("room-101"))).toBeNull();
    });
  });
});
