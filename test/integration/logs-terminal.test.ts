/**
 * The hub's logs as a person sees them: readable lines in a real pseudo-terminal (`script`),
 * JSON lines in a pipe (and under systemd, where JOURNAL_STREAM is set).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LOCKBRIDGE_BIN, REPO_ROOT } from "../helpers/process.js";

const dir = mkdtempSync(join(tmpdir(), "lb-logs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function env(name: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("LOCKBRIDGE_") && k !== "JOURNAL_STREAM") e[k] = v;
  return { ...e, LOCKBRIDGE_DATA_DIR: join(dir, name), LOCKBRIDGE_MQTT_EMBEDDED_PORT: "0", LOCKBRIDGE_API_PORT: "0", LOCKBRIDGE_BLE_ENABLED: "false", TERM: "xterm", ...extra };
}

/** Runs the hub for 8 seconds (then SIGINT; starting under tsx on a loaded machine can take 4), in a pty when `tty`; returns what it printed. */
function runHub(name: string, tty: boolean, extra: NodeJS.ProcessEnv = {}): Promise<string> {
  const hub = `timeout -s INT 8 '${process.execPath}' '${LOCKBRIDGE_BIN}' run`;
  const [cmd, args] = tty ? ["script", ["-q", "-e", "-c", hub, "/dev/null"]] : ["sh", ["-c", hub]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env: env(name, extra), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", () => resolve(out));
  });
}

describe("hub logs", () => {
  it("are readable lines on a terminal: time, level, message; no JSON", async () => {
    const out = await runHub("tty", true);
    expect(out).toMatch(/\d{2}:\d{2}:\d{2}\.\d{3}.*INFO.*hub started/);
    expect(out).toMatch(/INFO.*hub stopped/);
    expect(out).not.toContain('{"level"');
  }, 30_000);

  it("are JSON lines in a pipe and under systemd", async () => {
    const out = await runHub("pipe", false);
    const started = out.split("\n").find((l) => l.includes('"hub started"'));
    expect(JSON.parse(started!)).toMatchObject({ level: "info", msg: "hub started" });
    const journal = await runHub("journal", true, { JOURNAL_STREAM: "8:1234" });
    expect(journal).toContain('"msg":"hub started"');
  }, 30_000);
});
