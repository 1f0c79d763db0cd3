/**
 * The console's words: every contract reason has the support article's wording (no code shown
 * raw), door states read "Pending: lock offline", and the hub's alert list is the same in the
 * server (alerts=1) and in the console's Events page (plain JS, no build step to share it).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ALERT_TYPES } from "../../../src/api/alerts.js";
import { credentialWords, doorWords, reasonWords } from "../../../src/api/key-words.js";
import { REPO_ROOT } from "../../helpers/process.js";

const REASONS = [
  "lock_offline", "provisioning_disabled", "not_checked_in", "access_period_not_started", "access_period_ended", "credential_type_disabled",
  "code_unavailable", "keycard_unavailable", "lock_memory_full", "not_supported", "lock_rejected", "not_commissioned",
];

describe("console words", () => {
  it("words every reason of the contract (mqtt-api.md §4) in plain language", () => {
    const spec = readFileSync(new URL("../../../../shared/spec/mqtt-api.md", import.meta.url), "utf8");
    const listed = /- Reasons: (.*)/.exec(spec)?.[1]?.match(/`([a-z_]+)`/g)?.map((r) => r.slice(1, -1)) ?? [];
    expect(listed.sort()).toEqual([...REASONS].sort());
    for (const r of listed) {
      const words = reasonWords(r);
      expect(words, r).not.toContain("_");
      expect(words.length, r).toBeGreaterThan(3);
    }
  });

  it("says door states as the support article does", () => {
    expect(doorWords("pending", ["lock_offline"])).toBe("Pending: lock offline");
    expect(doorWords("inactive", ["not_checked_in"])).toBe("Inactive: not checked in");
    expect(doorWords("pending", ["provisioning_disabled", "lock_offline"])).toBe("Pending: Allow Provisioning unchecked, lock offline");
    expect(doorWords("active", [])).toBe("Active");
    expect(credentialWords("smartKey", "ready")).toBe("Smart Key is ready to use");
    expect(credentialWords("doorCode", "unassigned", "lock_offline")).toBe("No Doorcode Assigned: lock offline");
  });

  it("lists the same hub alerts in the server and in the console", () => {
    const js = readFileSync(join(REPO_ROOT, "src/api/console/events.js"), "utf8");
    const block = /const ALERT_TYPES = new Set\(\[([\s\S]*?)\]\)/.exec(js)?.[1] ?? "";
    const inConsole = [...block.matchAll(/"([a-z_.]+)"/g)].map((m) => m[1]);
    expect(new Set(inConsole)).toEqual(new Set(ALERT_TYPES));
  });
});
