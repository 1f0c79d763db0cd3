/** Command schemas (paths of the first bad field, defaults, normalisation) and canonical JSON. */
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../../src/cloud/canonical.js";
import { COMMAND_SCHEMAS, firstIssue } from "../../../src/cloud/schemas.js";

const env = { id: "c-1", ts: "2026-12-01T12:00:00Z" };
const pathOf = (cmd: keyof typeof COMMAND_SCHEMAS, body: Record<string, unknown>) => {
  const r = COMMAND_SCHEMAS[cmd].safeParse({ ...env, cmd, ...body });
  return r.success ? "ok" : firstIssue(r.error).path;
};

describe("command schemas", () => {
  const key = { keyId: "k-1", version: 1, source: "manual", doors: [] };

  it.each([
    ["key.upsert", { ...key, version: -1 }, "version"],
    ["key.upsert", { ...key, source: "pms" }, "pms"],
    ["key.upsert", { ...key, keyId: "a/b" }, "keyId"],
    ["key.upsert", { ...key, doors: [{ doorId: "d", accessPeriod: { from: "2026-12-04", to: "2026-12-01" }, arrivalTime: "15:00", departureTime: "10:00" }] }, "doors[0].accessPeriod.to"],
    ["key.upsert", { ...key, doors: [{ doorId: "d", accessPeriod: { from: "2026-12-01", to: "2026-12-04" }, arrivalTime: "25:00", departureTime: "10:00" }] }, "doors[0].arrivalTime"],
    ["key.upsert", { ...key, doorCode: { enabled: true, assignment: "strict" } }, "doorCode.code"],
    ["key.upsert", { ...key, smartKey: { enabled: true, publicKey: "AAAA" } }, "smartKey.publicKey"],
    ["key.upsert", { ...key, keycard: { enabled: true, cardId: "c", colour: "red" } }, "keycard.colour"],
    ["site.configure", { siteId: "s", timezone: "Mars/Olympus" }, "timezone"],
    ["site.configure", { siteId: "s", timezone: "UTC", doorCodeLength: 13 }, "doorCodeLength"],
    ["door.unlock", { doorId: "d", seconds: 0 }, "seconds"],
    ["door.upsert", { doorId: "d", name: "D", kind: "suite" }, "kind"],
    ["lock.commission", { lockId: "4c42000000000001", profile: "p", link: { type: "usb" } }, "link.type"],
    ["lock.commission", { lockId: "4c42000000000001", profile: "p", link: { type: "tcp", host: "h", port: 70000, address: 1 } }, "link.port"],
    ["keycards.upsert", { cards: [{ cardId: "c", uid: "XYZ" }] }, "cards[0].uid"],
    ["diagnose", { keyId: "k", doorId: "d" }, "keyId"],
    ["firmware.update", { jobId: "j", lockIds: ["4c42000000000001"], version: "1", url: "ftp://x/y", sha256: "0".repeat(64), size: 1 }, "url"],
    ["status.get", { verbose: true }, "verbose"],
  ] as const)("%s: %j -> path %s", (cmd, body, path) => {
    expect(pathOf(cmd, body)).toBe(path);
  });

  it("fills defaults and normalises ids", () => {
    const k = COMMAND_SCHEMAS["key.upsert"].parse({ ...env, cmd: "key.upsert", keyId: "k", version: 2, source: "pms", pms: { provider: "mews", reservationId: "R1" }, doors: [] });
    expect(k).toMatchObject({ checkedIn: false, doorCode: { enabled: false }, keycard: { enabled: false }, smartKey: { enabled: false } });
    expect(COMMAND_SCHEMAS["key.upsert"].parse({ ...env, cmd: "key.upsert", keyId: "k", version: 2, source: "manual", doors: [] }).checkedIn).toBe(true);
    const d = COMMAND_SCHEMAS["door.upsert"].parse({ ...env, cmd: "door.upsert", doorId: "d", name: "D", kind: "room", lockId: "4C42ABCDEF000001" });
    expect(d).toMatchObject({ lockId: "4c42abcdef000001", linkedDoorIds: [], protectConfiguration: false });
    const s = COMMAND_SCHEMAS["site.configure"].parse({ ...env, cmd: "site.configure", siteId: "s", timezone: "Europe/Prague" });
    expect(s).toMatchObject({ credentialTypes: { doorCode: true, keycard: true, smartKey: true }, doorCodeLength: 6, doorHeldOpenSeconds: 120, atRiskMinutes: 60 });
  });
});

describe("canonical JSON", () => {
  it("sorts keys recursively, drops whitespace, keeps arrays in order and writes numbers as JSON does", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: "é" }, e: 1.0, f: -0.5e-10 })).toBe('{"a":{"c":"é","d":[3,1]},"b":1,"e":1,"f":-5e-11}');
    expect(canonicalJson([{ z: null, y: true }])).toBe('[{"y":true,"z":null}]');
  });
});
