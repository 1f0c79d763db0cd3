/**
 * docs/mqtt-api.md cannot drift from the code: every command example parses through the
 * command's schema, every command of the contract has an example, every JSON block is
 * JSON, the signing example is recomputed (canonical bytes, Ed25519 signature, public key)
 * and accepted by the dispatcher, and the event types listed are the hub's.
 */
import { createPrivateKey, createPublicKey, sign } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { canonicalJson, signedBytes } from "../../../src/cloud/canonical.js";
import { EVENT_TYPES } from "../../../src/cloud/events.js";
import { COMMAND_NAMES, COMMAND_SCHEMAS, firstIssue, isCommandName } from "../../../src/cloud/schemas.js";
import { commandHarness } from "../../helpers/cloud.js";
import { REPO_ROOT } from "../../helpers/store.js";

const doc = fs.readFileSync(path.join(REPO_ROOT, "docs/mqtt-api.md"), "utf8");
const blocks = [...doc.matchAll(/```(\w+)([^\n]*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, tags: m[2]!.trim().split(/\s+/).filter(Boolean), body: m[3]!.trim() }));
const tagged = (lang: string, tag: string) => blocks.filter((b) => b.lang === lang && b.tags.includes(tag));
const one = (lang: string, tag: string) => {
  const found = tagged(lang, tag);
  expect(found, `exactly one \`\`\`${lang} ${tag} block`).toHaveLength(1);
  return found[0]!.body;
};

describe("docs/mqtt-api.md", () => {
  const commands = tagged("json", "cmd").map((b) => JSON.parse(b.body) as Record<string, unknown>);

  it("has an example for every command of the contract, and each one passes its schema", () => {
    expect(commands.length).toBeGreaterThanOrEqual(COMMAND_NAMES.length);
    const covered = new Set(commands.map((c) => c.cmd));
    expect(COMMAND_NAMES.filter((n) => !covered.has(n))).toEqual([]);
    for (const command of commands) {
      const name = String(command.cmd);
      expect(isCommandName(name), `${name} is a command`).toBe(true);
      const parsed = COMMAND_SCHEMAS[name as keyof typeof COMMAND_SCHEMAS].safeParse(command);
      expect(parsed.success ? "ok" : `${name} ${command.id}: ${JSON.stringify(firstIssue(parsed.error))}`).toBe("ok");
    }
  });

  it("has JSON in every json block, and responses of the response shape", () => {
    for (const b of blocks.filter((x) => x.lang === "json")) expect(() => JSON.parse(b.body), b.body.slice(0, 80)).not.toThrow();
    const responses = tagged("json", "res").map((b) => JSON.parse(b.body) as Record<string, unknown>);
    expect(responses.length).toBeGreaterThan(2);
    for (const r of responses) {
      expect(r).toMatchObject({ id: expect.any(String), cmd: expect.any(String), ok: expect.any(Boolean) });
      if (r.ok) expect(r).toMatchObject({ result: expect.any(Object), warnings: expect.any(Array) });
    }
  });

  it("has a signing example that the code reproduces byte for byte and the hub accepts", async () => {
    const seed = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex");
    expect(doc).toContain(seed.toString("hex"));
    const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
    const publicKey = createPublicKey(privateKey);
    const rawPublic = publicKey.export({ format: "der", type: "spki" }).subarray(12);
    expect(one("text", "public-key")).toBe(rawPublic.toString("base64"));

    const command = JSON.parse(one("json", "signing-example")) as Record<string, unknown>;
    expect(canonicalJson(command)).toBe(one("text", "canonical"));
    const sig = sign(null, signedBytes(command), privateKey).toString("base64");
    expect(sig).toBe(one("text", "sig"));

    const h = commandHarness({ commandKey: publicKey });
    try {
      h.clock.set(Date.parse(String(command.ts)) + 2000);
      const accepted = await h.send({ ...command, sig });
      expect(accepted).not.toMatchObject({ error: { code: "unauthorized" } });
      expect(accepted).not.toMatchObject({ error: { code: "invalid_payload" } });
      const tampered = await h.send({ ...command, id: "cmd-0002", sig });
      expect(tampered).toMatchObject({ ok: false, error: { code: "unauthorized", path: "sig" } });
    } finally {
      h.cleanup();
    }
  });

  it("states the canonical rules with an example the code reproduces", () => {
    expect(canonicalJson(JSON.parse(one("json", "canonical-input")))).toBe(one("text", "canonical-output"));
  });

  it("lists exactly the hub's event types", () => {
    const section = doc.slice(doc.indexOf("## 6. Events"), doc.indexOf("## 7. Statuses"));
    const listed = section.slice(section.indexOf("Types:")).match(/`([a-z_]+\.[a-z_]+)`/g)?.map((s) => s.slice(1, -1));
    expect(listed).toEqual([...EVENT_TYPES]);
  });
});
