/**
 * Fuzz: the hub's config file and the simulator's property files, from the shipped examples
 * with fields deleted or set to hostile values, and with their text corrupted. Properties:
 * each loads, or is refused with a LockBridgeError config_invalid whose message names the
 * file or field; never another error, and the file itself is left as it was.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { parse as parseYaml } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { isLockBridgeError } from "../../src/shared/errors.js";
import { loadProperty } from "../../sim/fleet/property.js";
import { REPO_ROOT } from "../helpers/store.js";
import { mutate, mutationArb } from "./mutate.js";
import { FUZZ_TIMEOUT_MS, fuzzParams } from "./runs.js";

const dir = mkdtempSync(join(tmpdir(), "lockbridge-fuzz-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG_TEXT = readFileSync(join(REPO_ROOT, "systemd/config.example.yaml"), "utf8");
const PROPERTY_TEXT = readFileSync(join(REPO_ROOT, "sim/properties/demo.yaml"), "utf8");

const textMutation = fc.record({ at: fc.nat(), cut: fc.nat({ max: 40 }), insert: fc.string({ maxLength: 12 }) });

/** The document as a file: mutated YAML/JSON, or the shipped text with a splice. */
const fileArb = (text: string) =>
  fc.oneof(
    fc.record({ ext: fc.constantFrom(".yaml", ".json"), mutations: fc.array(mutationArb, { minLength: 1, maxLength: 4 }) }).map(({ ext, mutations }) => {
      const doc: unknown = parseYaml(text);
      for (const m of mutations) mutate(doc, m);
      return { ext, content: ext === ".json" ? JSON.stringify(doc) : JSON.stringify(doc, null, 1) };
    }),
    textMutation.map(({ at, cut, insert }) => {
      const i = at % text.length;
      return { ext: ".yaml", content: text.slice(0, i) + insert + text.slice(i + cut) };
    }),
  );

/** Loaded, or refused as config_invalid naming where. */
async function loadsOrRefuses(load: () => unknown, file: string): Promise<void> {
  const before = readFileSync(file);
  try {
    await load();
  } catch (e) {
    if (!isLockBridgeError(e, "config_invalid")) throw e;
    expect(e.message).toMatch(/\S/);
    // Where: the error names a field path or the file, and the message says it.
    expect(e.path, e.message).toBeTruthy();
    expect(e.message).toContain(e.path);
  }
  expect(readFileSync(file).equals(before)).toBe(true);
}

let n = 0;
function writeCase(ext: string, content: string): string {
  const file = join(dir, `case-${n++ % 8}${ext}`);
  writeFileSync(file, content);
  return file;
}

describe("fuzz: config and property files", () => {
  it("hub config: mutated and corrupted files load or are refused as config_invalid", async () => {
    await fc.assert(
      fc.asyncProperty(fileArb(CONFIG_TEXT), async ({ ext, content }) => {
        const file = writeCase(ext, content);
        await loadsOrRefuses(() => loadConfig({ file, env: {}, cwd: dir, hostname: "fuzz" }), file);
      }),
      fuzzParams(500),
    );
  }, FUZZ_TIMEOUT_MS);

  it("sim property: mutated and corrupted files load or are refused as config_invalid", async () => {
    await fc.assert(
      fc.asyncProperty(fileArb(PROPERTY_TEXT), async ({ ext, content }) => {
        const file = writeCase(ext, content);
        await loadsOrRefuses(() => loadProperty(file), file);
      }),
      fuzzParams(500),
    );
  }, FUZZ_TIMEOUT_MS);
});
