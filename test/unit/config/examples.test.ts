/** The shipped examples must stay valid: an operator copies them as they are. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ENV_OVERRIDES, loadConfig } from "../../../src/config/index.js";

const root = join(import.meta.dirname, "..", "..", "..");
const systemdDir = join(root, "systemd");

describe("systemd/ examples", () => {
  it("config.example.yaml passes validation", () => {
    const config = loadConfig({ file: join(systemdDir, "config.example.yaml"), env: {} });
    expect(config.hubId).toBe("hub-hotel-aurora");
    expect(config.mqtt.url).toBe("mqtts://mqtt.example.com:8883");
  });

  it("lockbridge.env.example names every environment override the hub reads", () => {
    const text = readFileSync(join(systemdDir, "lockbridge.env.example"), "utf8");
    for (const { name } of ENV_OVERRIDES) expect(text, name).toContain(`#${name}=`);
  });
});

// systemd-analyze rates the unit's sandbox (0 = locked down, 10 = exposed).
const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
const analyzeMissing = analyze.error !== undefined || analyze.status !== 0;

const skipNote = analyzeMissing ? " [SKIPPED: systemd-analyze not found on PATH]" : "";

describe("systemd/lockbridge.service", () => {
  it.skipIf(analyzeMissing)(`is rated at most 2.3 by systemd-analyze security${skipNote}`, () => {
    const result = spawnSync("systemd-analyze", ["security", "--offline=yes", join(systemdDir, "lockbridge.service")], {
      encoding: "utf8",
      env: { ...process.env, SYSTEMD_COLORS: "0" },
    });
    const match = /Overall exposure level for lockbridge\.service: (\d+\.\d+)/.exec(result.stdout);
    expect(match, result.stdout + result.stderr).not.toBeNull();
    expect(Number(match![1])).toBeLessThanOrEqual(2.3);
  });

  it.skipIf(analyzeMissing)(`passes systemd-analyze verify without warnings about its own keys${skipNote}`, () => {
    const result = spawnSync("systemd-analyze", ["verify", join(systemdDir, "lockbridge.service")], { encoding: "utf8" });
    const ownWarnings = result.stderr.split("\n").filter((line) => line.includes("lockbridge.service:"));
    expect(ownWarnings).toEqual([]);
  });
});
