import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProfiles, parseProfile, scanProfiles } from "../../../src/profiles/loader.js";
import { profileSchemaText } from "../../../src/profiles/generate-schema.js";

const DIR = join(import.meta.dirname, "../../../device-profiles");

const good = {
  id: "x",
  vendor: "V",
  model: "M",
  link: "serial-rs485",
  serial: { baudRate: 19200, parity: "none", dataBits: 8, stopBits: 1 },
  responseTimeoutMs: 200,
  retries: 2,
  offlineAfterTimeouts: 3,
  pollIntervalMs: 1000,
  capabilities: ["doorCodes", "sealing"],
  slots: { doorCode: 10, keycard: 0, smartKey: 0 },
  code: { minLength: 4, maxLength: 8 },
  sealingRequired: true,
};

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return "(no error)";
};

describe("device-profiles/ (lint)", () => {
  it("every profile in the folder is valid", () => {
    const profiles = loadProfiles(DIR).list();
    expect(profiles.length).toBeGreaterThanOrEqual(4);
  });

  it("has the models the hub must support: RS-485 at 19200 (polled), USB/UART at 115200, BLE, a many-slot common door", () => {
    const all = loadProfiles(DIR).list();
    expect(all.some((p) => p.link === "serial-rs485" && p.serial?.baudRate === 19200 && p.pollIntervalMs > 0)).toBe(true);
    expect(all.some((p) => p.link === "serial-uart" && p.serial?.baudRate === 115200)).toBe(true);
    expect(all.some((p) => p.link === "ble" && p.ble !== undefined)).toBe(true);
    expect(all.some((p) => p.slots.doorCode >= 1000)).toBe(true);
  });

  it("the committed schema.json is the one generated from the zod schema", () => {
    expect(readFileSync(join(DIR, "schema.json"), "utf8")).toBe(profileSchemaText());
  });
});

describe("profile loader errors name the file and the field", () => {
  const parse = (obj: unknown, file = "device-profiles/x.json") => errorOf(() => parseProfile(JSON.stringify(obj), file));

  it("a bad enum value", () => {
    expect(parse({ ...good, serial: { ...good.serial, baudRate: 12345 } })).toBe(
      "device-profiles/x.json: serial.baudRate: expected one of 9600, 19200, 38400, 57600, 115200, 230400",
    );
  });

  it("a misspelt field, a missing field, a wrong type", () => {
    const { retries: _r, ...noRetries } = good;
    expect(parse({ ...good, retrys: 2 })).toContain("device-profiles/x.json: retrys: unknown field");
    expect(parse(noRetries)).toContain("device-profiles/x.json: retries: expected an integer 0..10");
    expect(parse({ ...good, capabilities: ["doorCodes", "teleport"] })).toContain("device-profiles/x.json: capabilities[1]: expected one of doorCodes");
  });

  it("cross-field rules: serial settings for serial links only, minLength <= maxLength, capabilities behind slots", () => {
    const { serial: _s, ...noSerial } = good;
    expect(parse(noSerial)).toContain("serial: required for link serial-rs485");
    expect(parse({ ...good, link: "ble", ble: { idleDisconnectS: 30 } })).toContain("serial: only applies to serial links, not ble");
    expect(parse({ ...good, code: { minLength: 9, maxLength: 8 } })).toContain("code.minLength: must not exceed code.maxLength (8)");
    expect(parse({ ...good, slots: { doorCode: 10, keycard: 5, smartKey: 0 } })).toContain('slots.keycard: 5 slots need "keycards" in capabilities');
  });

  it("an id that is not the file name, and text that is not JSON", () => {
    expect(parse(good, "device-profiles/y.json")).toBe('device-profiles/y.json: id: expected "y" (the file name), got "x"');
    expect(errorOf(() => parseProfile("{ nope", "device-profiles/x.json"))).toMatch(/^device-profiles\/x\.json: not valid JSON/);
  });

  it("a bad file is refused whole; the good ones still load; the strict load fails naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "lb-profiles-"));
    writeFileSync(join(dir, "x.json"), JSON.stringify(good));
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ ...good, id: "bad", responseTimeoutMs: -1 }));
    const scan = scanProfiles(dir);
    expect(scan.profiles.list().map((p) => p.id)).toEqual(["x"]);
    expect(scan.errors).toHaveLength(1);
    expect(scan.errors[0]!.message).toContain("bad.json: responseTimeoutMs: expected an integer 10..30000 ms");
    expect(errorOf(() => loadProfiles(dir))).toContain("bad.json: responseTimeoutMs");
    expect(errorOf(() => scan.profiles.get("nope"))).toBe('no device profile "nope"');
  });
});
