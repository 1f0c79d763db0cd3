/**
 * One demo hub id everywhere, and README example dates that do not go stale: the README's
 * topics name the id `npm start` runs as, and its key example computes its access period.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEMO_HUB_ID, loadConfig } from "../../../src/config/index.js";
import { REPO_ROOT } from "../../helpers/process.js";

const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };

describe("README demo example", () => {
  it("uses the hub id that npm start (run --demo) takes when none is configured", () => {
    expect(pkg.scripts.start).toContain("run --demo");
    const topics = [...readme.matchAll(/lockbridge\/v1\/([A-Za-z0-9._-]+)\//g)].map((m) => m[1]);
    expect(topics.length).toBeGreaterThan(0);
    expect(new Set(topics)).toEqual(new Set([DEMO_HUB_ID]));
    expect(loadConfig({ env: {}, hostname: "pi", defaultHubId: DEMO_HUB_ID }).hubId).toBe(DEMO_HUB_ID);
    // No step of the example needs the reader to export an id first.
    expect(readme).not.toMatch(/export LOCKBRIDGE_HUB_ID=/);
  });

  it("computes the key's dates instead of fixing them", () => {
    const upsert = readme.split("\n").find((l) => l.includes("ctl send key.upsert"));
    expect(upsert).toBeDefined();
    expect(upsert).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    expect(readme).toMatch(/FROM=\$\(date \+%F\); TO=\$\(date -d '\+7 days' \+%F\)/);
  });
});
