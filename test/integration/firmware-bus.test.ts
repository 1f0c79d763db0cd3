/**
 * Issue 15, "Scheduling", end to end: the real hub, three mortise locks updated on one socat
 * pseudo-terminal RS-485 bus that honours the wire time (19,200 baud) while a guest's new code
 * is provisioned and used on a fourth lock of that bus, a remote unlock goes to a lock in the
 * middle of its transfer, and a lock on a second bus (a TCP serial server) is updated at the
 * same time. Sampled every 10 ms: never two transfers on the pty bus at once; the two buses did
 * overlap. The guest's delay is printed and bounded. Progress shows in the retained lock status
 * (`firmwareUpdate`) and in `lockbridge firmware status`, mid-job and at its end. And a corrupted
 * download is refused before any lock of the bus sees a byte.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadProfiles } from "../../src/profiles/index.js";
import { lockProfileFromDevice, SimLock, startPtyBus, startTcpBus } from "../../sim/index.js";
import { guestKey, serveImage, startFirmwareRig, until, type ImageServer } from "../helpers/firmware-rig.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";
import { spawnLockbridge } from "../helpers/process.js";
import { REPO_ROOT } from "../helpers/store.js";

const PROFILE = "rs485-mortise";
const mortise = lockProfileFromDevice(loadProfiles(path.join(REPO_ROOT, "device-profiles")).get(PROFILE));
const image = randomBytes(6_000);
const sha256 = createHash("sha256").update(image).digest("hex");
const lockId = (n: number) => `4c4200000000b${n.toString(16).padStart(3, "0")}`;

let broker: Mosquitto;
let server: ImageServer;
beforeAll(async () => {
  broker = await startMosquitto();
  server = await serveImage(image);
});
afterAll(async () => {
  await broker?.close();
  await server?.close();
});

async function firmwareStatus(dir: string, args: string[]): Promise<string> {
  const cli = spawnLockbridge(["firmware", "status", ...args], { env: { LOCKBRIDGE_DATA_DIR: dir } });
  const exit = await cli.waitForExit(20_000);
  expect(exit.code, cli.stderr()).toBe(0);
  return cli.stdout.join("\n");
}

describe("firmware scheduling on a shared bus", () => {
  it("one transfer at a time per bus, buses in parallel; a guest's new code on the same bus and a remote unlock are not held up", async () => {
    const ptyLocks = [1, 2, 3, 4].map((n) => new SimLock({ lockId: lockId(n), address: n, profile: mortise, fwRestartMs: 500 }));
    const tcpLock = new SimLock({ lockId: lockId(9), address: 9, profile: mortise, fwRestartMs: 500 });
    const pty = await startPtyBus(ptyLocks, { wireBaud: 19_200 });
    const tcp = await startTcpBus([tcpLock]);
    const rig = await startFirmwareRig(broker, "fwbus");
    try {
      const all = [...ptyLocks.map((l, i) => ({ l, n: i + 1, link: { type: "serial", path: pty.hubPath, address: i + 1 } })), { l: tcpLock, n: 9, link: { type: "tcp", host: tcp.host, port: tcp.port, address: 9 } }];
      for (const { l, n, link } of all) {
        await rig.send({ cmd: "lock.commission", lockId: lockId(n), profile: PROFILE, link, setupKey: l.setupKey });
        await rig.send({ cmd: "door.upsert", doorId: `room-${100 + n}`, name: `${100 + n}`, lockId: lockId(n), kind: "room", linkedDoorIds: [], protectConfiguration: false });
      }
      tcpLock.setSlow(250);
      const statuses: Record<string, unknown>[] = [];
      rig.cloud.onMessage((m) => {
        if (m.topic.includes("/status/locks/")) statuses.push(m.payload as Record<string, unknown>);
      });
      await rig.cloud.watch([rig.cloud.topics.lockStatusAll]);
      const updated = [1, 2, 3, 9];
      await rig.send({ cmd: "firmware.update", jobId: "fw-bus", lockIds: updated.map(lockId), version: "3.1.0", url: server.url, sha256, size: image.length });

      // Sample who holds a transfer: never two on the pty bus; the TCP bus alongside.
      let maxOnPty = 0;
      let overlapped = false;
      const sampler = setInterval(() => {
        const onPty = ptyLocks.filter((l) => l.firmwareOffset !== null).length;
        maxOnPty = Math.max(maxOnPty, onPty);
        if (onPty > 0 && tcpLock.firmwareOffset !== null) overlapped = true;
      }, 10);
      try {
        // A guest's new code for room-104 while room-10x is transferring on the same bus.
        await until("a transfer on the pty bus", () => ptyLocks.some((l) => (l.firmwareOffset ?? 0) > 0) || undefined, 60_000, 5);
        const t0 = Date.now();
        await rig.send(guestKey("k-104", "room-104", "731904"));
        // The guest tries the code every 20 ms: each try is an ACCESS_DENIED in the lock's log
        // until the code arrives, so this also shows the drain does not starve the grant.
        await until("the guest's code works on room-104", () => ptyLocks[3]!.enterCode("731904").granted, 30_000, 20);
        const guestDelayMs = Date.now() - t0;

        // A remote unlock of a lock in the middle of its own transfer goes first.
        const busy = ptyLocks.findIndex((l) => (l.firmwareOffset ?? 0) > 0 && (l.firmwareOffset ?? 0) < image.length - 2000);
        let unlockMs: number | undefined;
        if (busy >= 0) {
          const t1 = Date.now();
          await rig.send({ cmd: "door.unlock", doorId: `room-${101 + busy}`, seconds: 3 });
          unlockMs = Date.now() - t1;
        }
        // Mid-job: the CLI shows the job running, some lock transferring with its progress.
        const mid = await firmwareStatus(rig.dir, ["--json"]);
        const midJob = (JSON.parse(mid) as { jobs: { jobId: string; endedAt: string | null; locks: { state: string }[] }[] }).jobs[0]!;
        expect(midJob.jobId).toBe("fw-bus");
        // The CLI lists the job and each lock's state (the job may be over already on a fast machine).
        expect(midJob.locks).toHaveLength(4);
        for (const l of midJob.locks) expect(["queued", "transferring", "committing", "restarting", "verifying", "applied"]).toContain(l.state);
        console.log(`firmware on a 19,200-baud bus: guest's new code usable after ${guestDelayMs} ms; remote unlock mid-transfer ${unlockMs ?? "n/a"} ms`);
        // 0.2-0.9 s; up to 2.5 s with three busy loops competing for the two cores. It was ~20 s
        // or more under load while the lock's event drain starved the grant (fixed in the worker).
        expect(guestDelayMs).toBeLessThan(10_000);
        if (unlockMs !== undefined) expect(unlockMs).toBeLessThan(5_000);

        for (const n of updated) {
          await until(`lock ${n} updated`, () => rig.events().find((e) => e.type === "firmware.applied" && e.lockId === lockId(n)), 120_000, 50);
        }
      } finally {
        clearInterval(sampler);
      }
      expect(maxOnPty).toBe(1);
      expect(overlapped).toBe(true);
      for (const n of updated) expect(all.find((x) => x.n === n)!.l.firmware).toBe("3.1.0");
      expect(ptyLocks[3]!.firmware).toBe(mortise.firmware);
      expect(ptyLocks[3]!.enterCode("731904").granted).toBe(true);
      expect(rig.events().some((e) => e.type === "firmware.failed")).toBe(false);
      // Per lock: ten progress events, 10 % apart; the lock status carried the update while it ran.
      for (const n of updated) {
        const percents = rig.events().filter((e) => e.type === "firmware.progress" && e.lockId === lockId(n)).map((e) => e.percent as number);
        expect(percents.at(-1)).toBe(100);
        expect(percents.length).toBeLessThanOrEqual(10);
      }
      const during = statuses.filter((st) => st.lockId === lockId(1) && st.firmwareUpdate !== undefined).map((st) => (st.firmwareUpdate as { state: string }).state);
      expect(during).toEqual(expect.arrayContaining(["transferring"]));
      await until("job ended", () => rig.hub.stdout.some((l) => l.includes("firmware job ended")) || undefined, 20_000, 50);
      const text = await firmwareStatus(rig.dir, []);
      expect(text).toContain("Job fw-bus: firmware 3.1.0");
      expect(text).toContain("4/4 applied");
      for (const n of updated) expect(text).toMatch(new RegExp(`${lockId(n)}\\s+applied\\s+100%`));
    } finally {
      await rig.close();
      await pty.close();
      await tcp.close();
    }
  }, 240_000);

  it("a corrupted download is refused before any lock sees a byte; nothing is kept in the data dir", async () => {
    const locks = [1, 2].map((n) => new SimLock({ lockId: lockId(0x20 + n), address: n, profile: mortise }));
    const pty = await startPtyBus(locks, { wireBaud: 19_200 });
    const bad = Buffer.from(image);
    bad[100] = bad[100]! ^ 0xff; // one byte damaged on the way
    const badServer = await serveImage(bad);
    const rig = await startFirmwareRig(broker, "fwbad");
    try {
      for (const [i, l] of locks.entries()) {
        await rig.send({ cmd: "lock.commission", lockId: lockId(0x21 + i), profile: PROFILE, link: { type: "serial", path: pty.hubPath, address: i + 1 }, setupKey: l.setupKey });
      }
      await rig.send({ cmd: "firmware.update", jobId: "fw-bad", lockIds: [lockId(0x21), lockId(0x22)], version: "3.2.0", url: badServer.url, sha256, size: image.length });
      for (const n of [0x21, 0x22]) {
        const failed = await until(`lock ${n} failed`, () => rig.events().find((e) => e.type === "firmware.failed" && e.lockId === lockId(n)), 30_000, 50);
        expect(failed).toMatchObject({ jobId: "fw-bad", reason: "image_invalid" });
      }
      for (const l of locks) expect(l.executionCount("FW_BEGIN") + l.executionCount("FW_CHUNK")).toBe(0);
      const fwDir = path.join(rig.dir, "firmware");
      expect(fs.existsSync(fwDir) ? fs.readdirSync(fwDir) : []).toEqual([]);
    } finally {
      await rig.close();
      await pty.close();
      await badServer.close();
    }
  }, 120_000);
});
