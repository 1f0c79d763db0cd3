import { describe, expect, it } from "vitest";
import type { Door } from "../../../src/access/model.js";
import { diagnoseDoor, type DiagnosisLock } from "../../../src/diagnosis/index.js";
import { makeDoor, makeSite } from "../../helpers/access-fixtures.js";

const NOW = Date.parse("2026-12-02T12:00:00Z");
const doors: Door[] = [makeDoor("room-104")];
const lockId = doors[0]!.lockId!;
const lock = (over: Partial<DiagnosisLock> = {}): DiagnosisLock => ({ lockId, commissioned: true, online: true, ...over });
const diagnose = (l: DiagnosisLock) => diagnoseDoor({ site: makeSite(), doors, locks: [l], doorId: "room-104", nowMs: NOW });

describe("diagnose: lock health", () => {
  it("a lock at 15 % right after a tamper alarm is not 'in order'", () => {
    const f = diagnose(lock({ battery: 15, recentTamper: true }));
    expect(f.map((x) => x.code)).toEqual(["lock_battery_low", "lock_tamper"]);
    expect(f[0]).toMatchObject({ severity: "warning", message: `Lock ${lockId} battery is at 15 %.` });
    expect(f[1]?.fix).toMatch(/Inspect the lock/);
    expect(f.some((x) => x.code === "door_ok")).toBe(false);
  });

  it("security alerts, an unreliable link, memory nearly full and clock drift are named with their fix", () => {
    const f = diagnose(lock({ securityAlerts: ["replayed_frame"], linkErrors: { timeouts: 30, crcErrors: 4, retries: 12 }, link: "serial /dev/ttyUSB0 addr 4", slots: { doorCode: { used: 29, total: 32 } }, clockDriftS: 600 }));
    expect(f.map((x) => x.code).sort()).toEqual(["lock_clock_drift", "lock_link_errors", "lock_memory_low", "lock_security_alert"]);
    expect(f.find((x) => x.code === "lock_link_errors")?.message).toContain("30 timeouts, 4 CRC errors, 12 retries");
    expect(f.find((x) => x.code === "lock_link_errors")?.fix).toMatch(/termination/);
  });

  it("a replaced lock names the lock that answers instead and the command that fixes it", () => {
    const f = diagnose(lock({ commissioned: false, online: false, replaced: true, replacedBy: "4c42000000000999", link: "tcp 10.0.0.5:4001 addr 4" }));
    expect(f[0]).toMatchObject({ code: "lock_replaced", severity: "error" });
    expect(f[0]?.message).toContain("lock 4c42000000000999 answers at its link (tcp 10.0.0.5:4001 addr 4)");
    expect(f[0]?.fix).toMatch(new RegExp(`^lockbridge lock replace ${lockId} 4c42000000000999`));
    expect(f.map((x) => x.fix).join()).not.toContain(`lock.commission {lockId: "${lockId}"`);
  });

  it("a healthy lock is in order", () => {
    expect(diagnose(lock({ battery: 80 })).map((x) => x.code)).toEqual(["door_ok"]);
  });
});
