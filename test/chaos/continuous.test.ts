/**
 * The chaos run's checks made during the run (chaos/continuous.ts): each finds what it is for
 * (an unasked duplicate, a reused seq, a secret in a new log line, a resource over its bound),
 * once, with the second it was first seen; an open seq gap is measured, not a violation.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BOUNDS, ContinuousChecks } from "../../chaos/continuous.js";
import { EventLedger } from "../../chaos/event-ledger.js";
import type { GuestViolation } from "../../chaos/guests.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function rig() {
  const dataDir = mkdtempSync(join(tmpdir(), "lb-continuous-"));
  dirs.push(dataDir);
  const events = new EventLedger();
  const hubOutput: string[] = [];
  const secrets = { codes: new Set<string>(), uids: new Set<string>() };
  const resources = { peakRssMiB: 100, last: { rssMiB: 100, openFiles: 30 }, sample: () => undefined };
  const t0 = Date.now();
  const guests = { violations: [] as GuestViolation[] };
  const checks = new ContinuousChecks({ cloud: { events }, guests, secrets, hubOutput, resources, dataDir, startedAt: t0, log: () => undefined });
  return { events, hubOutput, secrets, resources, checks, t0, guests };
}

const evt = (seq: number, type = "lock.online") => JSON.stringify({ seq, type, at: "2026-11-29T07:00:00Z", lockId: "4c42000000000001" });

describe("continuous chaos checks", () => {
  it("a clean run has no violation; an open gap is measured until it closes", () => {
    const r = rig();
    r.events.record(evt(1));
    r.events.record(evt(3));
    r.checks.check(r.t0 + 1_000);
    r.checks.check(r.t0 + 21_000);
    r.events.record(evt(2));
    r.checks.check(r.t0 + 31_000);
    r.checks.check(r.t0 + 61_000);
    expect(r.checks.violations).toEqual([]);
    expect(r.checks.stop()).toMatchObject({ checks: 5, maxOpenGapS: 20, violations: 0, bounds: BOUNDS });
  });

  it("flags an unasked duplicate and a reused seq when they happen, once each", () => {
    const r = rig();
    r.events.record(evt(1));
    r.events.record(evt(1));
    r.checks.check(r.t0 + 12_000);
    r.events.record(evt(1, "door.opened"));
    r.checks.check(r.t0 + 22_000);
    r.checks.check(r.t0 + 32_000);
    expect(r.checks.violations).toEqual([
      // The sample (seq, when each copy came, in which session) follows in parentheses.
      expect.stringMatching(/^during the run \(12 s\): 1 events delivered twice within one hub session and cloud connection, unasked \(seq 1 /),
      "during the run (22 s): 1 seqs arrived again carrying another event",
    ]);
  });

  it("finds a door code or card UID in a log line written since the last check", () => {
    const r = rig();
    r.secrets.codes.add("48291637");
    r.secrets.uids.add("04a1b2c3d4e5f6");
    r.hubOutput.push(`{"msg":"command answered","id":"5b0e3c1a-9a4e-4d8e-a1d2-148291637b10"}`); // a code's digits inside a uuid: not a leak
    r.checks.check(r.t0 + 10_000);
    expect(r.checks.violations).toEqual([]);
    r.hubOutput.push(`{"msg":"slot written","code":"48291637"}`, `{"msg":"card","uid":"04A1B2C3D4E5F6"}`);
    r.checks.check(r.t0 + 20_000);
    expect(r.checks.violations).toEqual(["during the run (20 s): door codes in the hub's log", "during the run (20 s): card UIDs in the hub's log"]);
  });

  it("flags RSS and open files over their bounds", () => {
    const r = rig();
    r.resources.peakRssMiB = BOUNDS.rssMiB + 1;
    r.resources.last = { rssMiB: 300, openFiles: BOUNDS.openFiles + 1 };
    r.checks.check(r.t0 + 5_000);
    expect(r.checks.violations).toEqual([
      `during the run (5 s): hub RSS ${BOUNDS.rssMiB + 1} MiB over the bound of ${BOUNDS.rssMiB} MiB`,
      `during the run (5 s): hub has ${BOUNDS.openFiles + 1} open files, over the bound of ${BOUNDS.openFiles}`,
    ]);
  });

  it("flags a guest's violation with the second it happened, once per kind, the try as the sample", () => {
    const r = rig();
    r.checks.check(r.t0 + 10_000);
    const line = "deniedInsideWindow: live code of k-4 at room-2 denied (reason 1); expected to open: key v1 active at room-2";
    r.guests.violations.push({ kind: "deniedInsideWindow", atMs: r.t0 + 14_200, line }, { kind: "deniedInsideWindow", atMs: r.t0 + 17_000, line: "again" });
    r.checks.check(r.t0 + 20_000);
    r.guests.violations.push({ kind: "revokedOpened", atMs: r.t0 + 25_000, line: "revokedOpened: revoked card of k-2 at lobby opened" });
    r.checks.check(r.t0 + 30_000);
    expect(r.checks.violations).toEqual([`during the run (14 s): guest ${line}`, "during the run (25 s): guest revokedOpened: revoked card of k-2 at lobby opened"]);
  });
});
