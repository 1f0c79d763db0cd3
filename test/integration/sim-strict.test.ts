/**
 * The simulator checks its arguments and property files as strictly as the hub: impossible
 * faults are refused (not "applied"), bad property files report every problem once in plain
 * words, and `sim code` exits 1 when the lock says no.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlServer, type ControlServer } from "../../sim/control/server.js";
import { Fleet } from "../../sim/fleet/fleet.js";
import { parseProperty } from "../../sim/fleet/property.js";
import { runLockbridge } from "../helpers/process.js";

let fleet: Fleet;
let control: ControlServer;
const dir = mkdtempSync(join(tmpdir(), "lb-sim-strict-"));
beforeAll(async () => {
  fleet = await Fleet.start(parseProperty({ name: "Strict Inn", buses: [{ id: "b" }], rooms: [{ doorId: "r1", name: "Room 1", link: { bus: "b", address: 1 } }] }), { ephemeralPorts: true });
  control = await startControlServer(fleet);
});
afterAll(async () => {
  await control?.close();
  await fleet?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sim = (args: string[]) => runLockbridge(["sim", ...args], { env: { LOCKBRIDGE_SIM_CONTROL: String(control.port) } });

describe("simulator strictness", () => {
  it("refuses fault flaky 2 and battery 150, naming the range; applies sane values", async () => {
    const flaky = await sim(["fault", "r1", "flaky", "2"]);
    expect(flaky.code).toBe(1);
    expect(flaky.stderr).toContain('flaky drop: expected a number from 0 to 1 (a probability), got 2');
    expect(flaky.stdout).not.toContain("applied");
    const battery = await sim(["fault", "r1", "battery", "150"]);
    expect(battery.code).toBe(1);
    expect(battery.stderr).toContain("battery: expected a number from 0 to 100 %, got 150");
    expect(fleet.find("r1").lock.battery).toBe(100);
    const ok = await sim(["fault", "r1", "battery", "15"]);
    expect(ok.code).toBe(0);
    expect(fleet.find("r1").lock.battery).toBe(15);
  });

  it("sim code exits 1 on ACCESS DENIED", async () => {
    const r = await sim(["code", "r1", "000000"]);
    expect(r.stdout).toMatch(/^ACCESS DENIED: unknown credential/);
    expect(r.code).toBe(1);
  });

  it("sim check refuses an unknown time zone and an unknown profile, each problem once in plain words", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "name: Bad Inn\ntimezone: Europe/Nowhere\nbuses: [{ id: b }]\nrooms:\n  - { doorId: r1, name: Room 1, link: { bus: b, address: 1 }, profile: no-such-lock }\n  - { doorId: r2, name: 5, link: { bus: b, address: 2 } }\n");
    const r = await sim(["check", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('timezone: unknown time zone "Europe/Nowhere": expected an IANA name');
    expect(r.stderr).toContain("rooms[1].name: expected a string, got a number");
    expect(r.stderr.match(/Europe\/Nowhere/g)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/Invalid input/);
    const profile = join(dir, "profile.yaml");
    writeFileSync(profile, "name: Inn\nbuses: [{ id: b }]\nrooms:\n  - { doorId: r1, name: Room 1, link: { bus: b, address: 1 }, profile: no-such-lock }\n");
    const p = await sim(["check", profile]);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/r1: profile "no-such-lock": cannot read .*no-such-lock\.json/);
    expect(p.stderr.match(/no-such-lock"/g)).toHaveLength(1);
  });
});
