/**
 * `lockbridge doctor` on broken set-ups, run as an installer runs it (a real process): each
 * names the failure and its fix, and the command exits non-zero. Real parts: Mosquitto with
 * a password file, TLS files on disk, a store file with a lock on a serial port that is gone.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/index.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";
import { LOCKBRIDGE_BIN, REPO_ROOT } from "../helpers/process.js";

let dir: string;
let broker: Mosquitto;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lb-doctor-"));
  chmodSync(dir, 0o755);
  broker = await startMosquitto({ users: { "hub-doctor": "right-password" } });
}, 30_000);
afterAll(async () => {
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

function doctor(env: Record<string, string>, opts: { uid?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("LOCKBRIDGE_")) clean[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOCKBRIDGE_BIN, "doctor"], {
      cwd: REPO_ROOT,
      env: { ...clean, LOCKBRIDGE_HUB_ID: "hub-doctor", LOCKBRIDGE_BLE_ENABLED: "false", LOCKBRIDGE_API_PORT: "9", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(opts.uid !== undefined && { uid: opts.uid, gid: opts.uid }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The line of a check and the fix line under it. */
function lineOf(stdout: string, check: string): string {
  const lines = stdout.split("\n");
  const i = lines.findIndex((l) => new RegExp(`^(PASS|WARN|FAIL)  ${check}\\s`).test(l));
  expect(i, stdout).toBeGreaterThanOrEqual(0);
  return `${lines[i]}\n${lines[i + 1]?.startsWith(" ") ? lines[i + 1] : ""}`;
}

function dataDir(name: string): string {
  const d = join(dir, name);
  mkdirSync(d, { mode: 0o700 });
  return d;
}

describe("lockbridge doctor", () => {
  it("passes the broker with the right password and fails it with a wrong one, naming the fix", async () => {
    const env = { LOCKBRIDGE_DATA_DIR: dataDir("pw"), LOCKBRIDGE_MQTT_URL: broker.url, LOCKBRIDGE_MQTT_USERNAME: "hub-doctor" };
    const right = await doctor({ ...env, LOCKBRIDGE_MQTT_PASSWORD: "right-password" });
    expect(lineOf(right.stdout, "broker")).toMatch(/^PASS {2}broker\s+connected to mqtt:\/\/127\.0\.0\.1:\d+ as hub-doctor/);
    const wrong = await doctor({ ...env, LOCKBRIDGE_MQTT_PASSWORD: "wrong-password" });
    expect(wrong.code).toBe(1);
    expect(lineOf(wrong.stdout, "broker")).toMatch(/^FAIL {2}broker\s+mqtt:\/\/127\.0\.0\.1:\d+ refused the user name or password.*\n\s+fix: set mqtt\.username and LOCKBRIDGE_MQTT_PASSWORD/);
  }, 30_000);

  it("config check --connect tries the broker with the configured credentials", async () => {
    const config = join(dir, "connect.yaml");
    writeFileSync(config, `hubId: hub-doctor\nmqtt:\n  url: ${broker.url}\n  username: hub-doctor\n`);
    const run = (password: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [LOCKBRIDGE_BIN, "config", "check", config, "--connect"], { cwd: REPO_ROOT, env: { PATH: process.env.PATH, LOCKBRIDGE_MQTT_PASSWORD: password }, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
        child.on("close", (code) => resolve({ code, out }));
      });
    const right = await run("right-password");
    expect(right.code, right.out).toBe(0);
    expect(right.out).toMatch(/broker: connected to mqtt:\/\/127\.0\.0\.1:\d+ as hub-doctor/);
    const wrong = await run("nope");
    expect(wrong.code).toBe(1);
    expect(wrong.out).toMatch(/broker: mqtt:\/\/127\.0\.0\.1:\d+ refused the user name or password/);
  }, 30_000);

  it("fails on no command key with a cloud broker, naming the key to set", async () => {
    const r = await doctor({ LOCKBRIDGE_DATA_DIR: dataDir("key"), LOCKBRIDGE_MQTT_URL: broker.url, LOCKBRIDGE_MQTT_USERNAME: "hub-doctor", LOCKBRIDGE_MQTT_PASSWORD: "right-password" });
    expect(r.code).toBe(1);
    expect(lineOf(r.stdout, "command key")).toMatch(/^FAIL {2}command key\s+no cloud command key: the hub refuses to start without one.*\n\s+fix: set cloud\.commandPublicKey \(LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY\)/);
  }, 30_000);

  it("fails on a CA file that is not a certificate, naming the file", async () => {
    const ca = join(dir, "garbage-ca.pem");
    writeFileSync(ca, "not a certificate\n");
    const config = join(dir, "bad-ca.yaml");
    writeFileSync(config, `mqtt:\n  url: mqtts://127.0.0.1:${broker.port}\n  tls:\n    ca: ${ca}\n`);
    const r = await doctor({ LOCKBRIDGE_DATA_DIR: dataDir("ca"), LOCKBRIDGE_CONFIG: config });
    expect(r.code).toBe(1);
    expect(lineOf(r.stdout, "config")).toMatch(new RegExp(`^FAIL  config\\s+invalid: mqtt\\.tls\\.ca: expected a PEM certificate file, ${ca} does not parse as one.*\\n\\s+fix: fix the named keys`));
  }, 30_000);

  it("fails on a missing serial device that a commissioned lock uses, with the fix", async () => {
    const d = dataDir("serial");
    const store = openStore(join(d, "lockbridge.db"), { logger: pino({ level: "silent" }) });
    store.locks.upsert({ lockId: "4c42000000000001", profileId: "rs485-mortise", link: { type: "serial", path: "/dev/ttyLB-unplugged", address: 1 } });
    store.locks.setState("4c42000000000001", "commissioned");
    store.close();
    const r = await doctor({ LOCKBRIDGE_DATA_DIR: d });
    expect(r.code).toBe(1);
    expect(lineOf(r.stdout, "serial /dev/ttyLB-unplugged")).toMatch(/^FAIL {2}serial \/dev\/ttyLB-unplugged\s+missing serial device \/dev\/ttyLB-unplugged \(1 lock\(s\) use it\)\n\s+fix: plug the USB-RS485 adapter in/);
  }, 30_000);

  it("fails on a data dir the user running it cannot read, saying whom to run it as", async () => {
    const d = dataDir("private");
    const asRoot = process.getuid?.() === 0;
    // Root reads anything: run doctor as nobody then, as an installer without sudo would be.
    if (!asRoot) chmodSync(d, 0o000);
    const r = await doctor({ LOCKBRIDGE_DATA_DIR: d, HOME: "/tmp" }, asRoot ? { uid: 65534 } : {});
    if (!asRoot) chmodSync(d, 0o700);
    expect(r.code, r.stderr).toBe(1);
    expect(lineOf(r.stdout, "data dir")).toMatch(/^FAIL {2}data dir\s+.*(permission denied|not readable and writable).*\n\s+fix: run doctor as the hub's user \(sudo -u lockbridge lockbridge doctor\)/);
  }, 30_000);
});
