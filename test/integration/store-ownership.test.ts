/**
 * One hub process per data dir, proven with real processes: a second owner is refused with
 * the holder's pid, and the kernel frees the lock when the holder is SIGKILLed.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isLockBridgeError } from "../../src/shared/errors.js";
import { PID_FILE, acquireDataDir } from "../../src/store/index.js";
import { collectLines, spawnHelper, tempDir, waitForLine } from "../helpers/store.js";

describe("data dir ownership", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it("refuses a second process with the owner's pid, and frees the dir when the owner is SIGKILLed", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);

    const owner = spawnHelper("store-owner.ts", [dir]);
    cleanups.push(() => owner.kill("SIGKILL"));
    const ownerExit = collectLines(owner, () => undefined);
    const ownedLine = await waitForLine(owner, (l) => l.startsWith("owned "));
    const ownerPid = Number(ownedLine.split(" ")[1]);
    expect(ownerPid).toBe(owner.pid);

    // A second hub process exits with the clear error.
    const second = spawnHelper("store-owner.ts", [dir]);
    const lines: string[] = [];
    const secondExit = await collectLines(second, (l) => lines.push(l));
    expect(secondExit.code).toBe(3);
    expect(lines).toEqual([`locked data dir ${dir} is in use by pid ${ownerPid}`]);

    // So is this process.
    try {
      acquireDataDir(dir);
      expect.unreachable();
    } catch (e) {
      expect(isLockBridgeError(e, "store_locked")).toBe(true);
      expect((e as Error).message).toBe(`data dir ${dir} is in use by pid ${ownerPid}`);
    }

    owner.kill("SIGKILL");
    expect((await ownerExit).signal).toBe("SIGKILL");
    // The dead owner's pid file is still there: a stale record must not block the next owner.
    expect(fs.readFileSync(path.join(dir, PID_FILE), "utf8").trim()).toBe(String(ownerPid));

    const next = spawnHelper("store-owner.ts", [dir]);
    cleanups.push(() => next.kill("SIGKILL"));
    const nextLines: string[] = [];
    const nextExit = collectLines(next, (l) => nextLines.push(l));
    await waitForLine(next, (l) => l.startsWith("owned "));
    expect(fs.readFileSync(path.join(dir, PID_FILE), "utf8").trim()).toBe(String(next.pid));
    next.stdin.end(); // clean release
    expect((await nextExit).code).toBe(0);
    expect(nextLines).toEqual([`owned ${next.pid}`, "released"]);
    expect(fs.existsSync(path.join(dir, PID_FILE))).toBe(false);

    const lease = acquireDataDir(dir);
    expect(lease.storePath).toBe(path.join(dir, "lockbridge.db"));
    expect(() => acquireDataDir(dir)).toThrow(/in use by pid/);
    lease.release();
    acquireDataDir(dir).release();
  });
});
