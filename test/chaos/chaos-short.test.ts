/**
 * The short chaos run of CI (issue 10): two minutes, four rooms (one on a socat pty bus, one
 * BLE deadbolt behind the simulator's proxy, whose keys are phones' smart keys) and the lobby,
 * seed 42, a fault every ~15 s of the kinds chaos/faults.ts draws (hub SIGKILLs, also
 * mid-snapshot, broker restarts and stops, lock faults, lock replaced), keycard, smart key and
 * snapshot traffic, guests trying their credentials during the run (chaos/guests.ts), and the
 * end checks of chaos/invariants.ts. The long run is `npm run chaos` (docs/reliability.md).
 */
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../../chaos/procs.js";
import { runChaos } from "../../chaos/run.js";

describe("chaos (short)", () => {
  beforeAll(() => {
    // The harness runs the compiled hub, as a user would.
    const b = spawnSync("npm", ["run", "build"], { cwd: REPO, encoding: "utf8" });
    expect(b.status, b.stderr).toBe(0);
  }, 180_000);

  it("2 minutes of hotel traffic with hub SIGKILLs and broker restarts: no invariant violated", async () => {
    const lines: string[] = [];
    const report = await runChaos({ minutes: 2, locks: 4, seed: 42, faultEverySec: 15, log: (l) => lines.push(l) });
    expect(report.violations, JSON.stringify(report, null, 2)).toEqual([]);
    // It did what it says: commands applied, events delivered, faults injected, doors tried.
    expect(report.commands.applied).toBeGreaterThan(20);
    expect(report.events.received).toBeGreaterThan(0);
    expect(Object.values(report.faults).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5);
    // Any kind of hub SIGKILL (plain, mid-snapshot, mid-pairing): which come first depends on timing under load.
    expect(report.hubSigkills).toBeGreaterThanOrEqual(1);
    expect(report.ptyLocks).toBe(1);
    expect(report.bleLocks).toBe(1);
    expect(report.snapshots.completed).toBeGreaterThanOrEqual(1);
    expect(report.doorChecks).toBeGreaterThan(0);
    // Guests tried their credentials during the run (chaos/guests.ts), and none was judged a violation.
    expect(report.guests.tries).toBeGreaterThan(0);
    expect(report.guests.violations, JSON.stringify(report.guests, null, 2)).toEqual({ deniedInsideWindow: 0, revokedOpened: 0, retiredOpened: 0, openedOutsideWindow: 0 });
  }, 900_000);
});
