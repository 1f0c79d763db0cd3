import { describe, expect, it } from "vitest";
import { COMMAND_SCHEMAS, firstIssue } from "../../../src/cloud/schemas.js";

const envelope = { id: "c-1", ts: "2026-12-01T12:00:00Z" };
function refuse(cmd: keyof typeof COMMAND_SCHEMAS, params: Record<string, unknown>) {
  const r = COMMAND_SCHEMAS[cmd].safeParse({ ...envelope, cmd, ...params });
  if (r.success) throw new Error("expected a refusal");
  return firstIssue(r.error, COMMAND_SCHEMAS[cmd]);
}

describe("refused payloads name the mistake", () => {
  it('{"checkedin": true} is a misspelt checkedIn, not a missing boolean', () => {
    const issue = refuse("key.checkin", { keyId: "k-1", checkedin: true });
    expect(issue).toEqual({ path: "checkedin", message: 'unknown field (did you mean "checkedIn"?)' });
  });

  it("a misspelt optional field deep in a key gets its suggestion too", () => {
    const issue = refuse("key.upsert", {
      keyId: "k-1",
      version: 1,
      source: "manual",
      checkedin: true,
      doors: [{ doorId: "room-101", accesPeriod: { from: "2026-12-01", to: "2026-12-03" }, arrivalTime: "14:00", departureTime: "10:00" }],
      doorCode: { enabled: false },
      keycard: { enabled: false },
      smartKey: { enabled: false },
    });
    // Both mistakes, each with its suggestion; the first is the path, the other listed after it.
    expect(["checkedin", "doors[0].accesPeriod"]).toContain(issue.path);
    expect(issue.message).toMatch(/^unknown field \(did you mean "(checkedIn|accessPeriod)"\?\); also /);
    expect(`${issue.path}: ${issue.message}`).toContain('checkedin: unknown field (did you mean "checkedIn"?)');
    expect(`${issue.path}: ${issue.message}`).toContain('doors[0].accesPeriod: unknown field (did you mean "accessPeriod"?)');
  });

  it("reports every error, not only the first", () => {
    const issue = refuse("key.checkin", { keyId: 5, checkedIn: "yes" });
    expect(issue.path).toBe("keyId");
    expect(issue.message).toMatch(/; also checkedIn: expected true or false/);
  });
});
