/**
 * src/provisioning's folders import one way (docs/architecture.md): desired <- reconcile <-
 * status <- commands <- the root (engine, service, wiring), and nothing imports the root.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../../../src/provisioning");
const ORDER = ["desired", "reconcile", "status", "commands", "root"];

function folderOf(file: string): string | undefined {
  const rel = path.relative(ROOT, file);
  if (rel.startsWith("..")) return undefined;
  const parts = rel.split(path.sep);
  return parts.length > 1 ? parts[0] : "root";
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("provisioning layers", () => {
  it("every import between its folders points inward", () => {
    const wrong: string[] = [];
    for (const file of sources(ROOT)) {
      const from = folderOf(file)!;
      for (const m of fs.readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
        const to = folderOf(path.resolve(path.dirname(file), m[1]!));
        if (to === undefined || to === from) continue;
        if (!ORDER.includes(to) || ORDER.indexOf(to) > ORDER.indexOf(from)) wrong.push(`${path.relative(ROOT, file)} -> ${m[1]}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
