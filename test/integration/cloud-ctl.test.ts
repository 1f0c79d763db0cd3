/**
 * `lockbridge ctl` as an installer runs it: a real child process speaking the contract to a
 * hub through a real Mosquitto (send + wait, watch, signing, exit codes), and against a
 * whole `lockbridge run` on its embedded broker with no option at all.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloudKeyPair, eventually, startHubCloud, type HubCloud } from "../helpers/cloud.js";
import { freePort, startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";
import { LOCKBRIDGE_BIN, REPO_ROOT, spawnLockbridge } from "../helpers/process.js";

interface Ran {
  code: number | null;
  lines: Record<string, unknown>[];
  stderr: string;
}

function ctl(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000, onStderr?: (text: string) => void): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOCKBRIDGE_BIN, "ctl", ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
    let out = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr);
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`ctl ${args.join(" ")} did not exit: ${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, lines: out.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>) });
    });
  });
}

describe("lockbridge ctl against a hub through Mosquitto", () => {
  let broker: Mosquitto;
  let hub: HubCloud;
  const cloudKey = cloudKeyPair();
  const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lockbridge-ctl-")), "cloud.key");
  const common = () => ["--url", broker.url, "--hub", "hub-1", "--protocol", "5"];

  beforeAll(async () => {
    fs.writeFileSync(keyFile, cloudKey.privateKey.export({ format: "pem", type: "pkcs8" }));
    broker = await startMosquitto();
    hub = await startHubCloud({ url: broker.url, commandPublicKey: cloudKey.publicPem });
    await eventually(() => hub.cloud.connected, 10_000, "hub online");
  });
  afterAll(async () => {
    await hub?.stop();
    await broker?.close();
    fs.rmSync(path.dirname(keyFile), { recursive: true, force: true });
  });

  it("sends a command, waits, prints the response as a JSON line and exits 0", async () => {
    const ran = await ctl(["send", "site.configure", "--json", JSON.stringify({ siteId: "s1", timezone: "Europe/Prague" }), "--sign-key", keyFile, ...common()]);
    expect(ran.code).toBe(0);
    expect(ran.lines).toEqual([expect.objectContaining({ cmd: "site.configure", ok: true, result: {} })]);
    expect(hub.store.site.get()?.siteId).toBe("s1");
  });

  it("exits 1 with the hub's refusal, and 64 for a usage error", async () => {
    // The signing key from the environment (a PEM file path), as on a cloud operator's machine.
    const refused = await ctl(["send", "door.remove", "--json", '{"doorId":"nope"}', ...common()], { LOCKBRIDGE_CLOUD_SIGNING_KEY: keyFile });
    expect(refused.code).toBe(1);
    expect(refused.lines[0]).toMatchObject({ ok: false, error: { code: "unknown_door", path: "doorId" } });
    const usage = await ctl(["send", "door.remove", "--json", "{broken", ...common()]);
    expect(usage.code).toBe(64);
    expect(usage.stderr).toContain("--json: not valid JSON");
  });

  it("signs with --sign-key; unsigned state-changing commands are refused and change nothing", async () => {
    const unsignedSite = await ctl(["send", "site.configure", "--json", JSON.stringify({ siteId: "s-evil", timezone: "Europe/Prague" }), ...common()]);
    expect(unsignedSite.code).toBe(1);
    expect(unsignedSite.lines[0]).toMatchObject({ ok: false, error: { code: "unauthorized", path: "sig" } });
    expect(hub.store.site.get()?.siteId).not.toBe("s-evil");
    const unsigned = await ctl(["send", "door.unlock", "--json", '{"doorId":"room-101","seconds":3}', ...common()]);
    expect(unsigned.lines[0]).toMatchObject({ ok: false, error: { code: "unauthorized", path: "sig" } });
    const signed = await ctl(["send", "door.unlock", "--json", '{"doorId":"room-101","seconds":3}', "--sign-key", keyFile, ...common()]);
    // Past the signature check: the stand-in answers until the provisioning engine is plugged in.
    expect(signed.lines[0]).not.toMatchObject({ error: { code: "unauthorized" } });
  });

  it("watches events and statuses as JSON lines", async () => {
    let subscribed!: () => void;
    const ready = new Promise<void>((resolve) => (subscribed = resolve));
    const watching = ctl(["watch", "events", "status", "--count", "3", "--timeout", "20", ...common()], {}, 30_000, (err) => err.includes("watching") && subscribed());
    await ready;
    hub.cloud.events.emit({ type: "door.opened", doorId: "room-101" });
    hub.cloud.events.emit({ type: "door.closed", doorId: "room-101" });
    hub.cloud.status.keyChanged("k-none"); // a key that does not exist: empty retained payload
    const ran = await watching;
    expect(ran.code).toBe(0);
    expect(ran.lines).toHaveLength(3);
    const events = ran.lines.filter((l) => String(l.topic).endsWith("/evt")).map((l) => (l.payload as { type: string }).type);
    expect(events).toEqual(["door.opened", "door.closed"]);
    expect(ran.lines.find((l) => String(l.topic).endsWith("/status/keys/k-none"))).toMatchObject({ payload: null });
  });
});

describe("lockbridge ctl on the hub itself", () => {
  it("needs no option against `lockbridge run` on its embedded broker", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lockbridge-ctl-run-"));
    const port = await freePort();
    const env = { LOCKBRIDGE_DATA_DIR: dataDir, LOCKBRIDGE_MQTT_EMBEDDED_PORT: String(port), LOCKBRIDGE_HUB_ID: "hub-local", LOCKBRIDGE_LOG_LEVEL: "info" };
    const run = spawnLockbridge(["run"], { env });
    try {
      await run.waitForLog("connected to the MQTT broker", 20_000);
      const ran = await ctl(["send", "status.get"], env);
      expect(ran.code).toBe(0);
      expect(ran.lines[0]).toMatchObject({ ok: true, result: { hubId: "hub-local", connected: true, needsSnapshot: true } });
    } finally {
      run.kill("SIGTERM");
      await run.waitForExit(10_000);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
