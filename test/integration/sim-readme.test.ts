// The README's simulator example, end to end with real processes: the demo property
// (`lockbridge sim demo`), a real hub (`lockbridge run`) with its embedded broker and the
// BLE proxy, `lockbridge sim commission`, a key with a door code sent as the cloud, the code
// typed on room 101's keypad (`lockbridge sim code`), and access.granted arriving on MQTT.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { CloudClient, type ReceivedMessage } from "../../src/cloud/ctl-client.js";
import type { ReadyInfo } from "../../sim/fleet/fleet.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(repo, "bin/lockbridge.js");
const procs: ChildProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }
});

/** Start a child; resolve with the first stdout line that `pick` accepts. */
function start<T>(args: string[], env: Record<string, string>, pick: (line: string) => T | undefined): Promise<T> {
  const p = spawn(process.execPath, [bin, ...args], { cwd: repo, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  procs.push(p);
  let err = "";
  p.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise<T>((resolve, reject) => {
    createInterface({ input: p.stdout! }).on("line", (line) => {
      const v = pick(line);
      if (v !== undefined) resolve(v);
    });
    p.once("exit", (code) => reject(new Error(`${args.join(" ")} exited ${code}: ${err}`)));
  });
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { cwd: repo });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const localDate = (d: Date) => new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Prague" }).format(d);

describe("README simulator example", () => {
  it("provision a code through the hub, type it on the keypad, see access.granted on MQTT", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sim-readme-"));
    const ready = await start(["sim", "demo", "--ephemeral", "--state", join(dir, "sim-state.json")], {}, (l) =>
      l.startsWith("{\"ready\"") ? (JSON.parse(l) as ReadyInfo) : undefined,
    );
    const hubId = "readme-hub";
    const brokerUrl = await start(
      ["run"],
      {
        LOCKBRIDGE_DATA_DIR: join(dir, "hub"),
        LOCKBRIDGE_HUB_ID: hubId,
        LOCKBRIDGE_MQTT_EMBEDDED_PORT: "0",
        LOCKBRIDGE_BLE_PROXY: `127.0.0.1:${ready.bleProxyPort}`,
        LOCKBRIDGE_LOG_LEVEL: "info",
      },
      (l) => {
        try {
          const rec = JSON.parse(l) as { msg?: string; mqttUrl?: string };
          return rec.msg === "hub started" ? rec.mqttUrl : undefined;
        } catch {
          return undefined;
        }
      },
    );
    expect(brokerUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    const ctl = ["--control", String(ready.controlPort)];

    const commissioned = await run(["sim", "commission", ...ctl, "--mqtt", brokerUrl!, "--hub-id", hubId]);
    expect(commissioned.stderr).toContain("commissioned into hub readme-hub: 33 commands, 0 failed");
    expect(commissioned.code).toBe(0);

    const cloud = await CloudClient.connect({ url: brokerUrl!, hubId });
    try {
      const events: Record<string, unknown>[] = [];
      cloud.onMessage((m: ReceivedMessage) => {
        if (m.topic.endsWith("/evt")) events.push(m.payload as Record<string, unknown>);
      });
      await cloud.watch([cloud.topics.evt]);
      const until = async (pred: () => boolean, what: string) => {
        for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
        if (!pred()) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events)}`);
      };
      const now = new Date();
      const res = await cloud.send({
        cmd: "key.upsert",
        keyId: "k-1",
        version: 1,
        source: "manual",
        doors: [{
          doorId: "room-101",
          accessPeriod: { from: localDate(now), to: localDate(new Date(now.getTime() + 7 * 86_400_000)) },
          arrivalTime: "00:00", departureTime: "23:59", allowProvisioning: true, allowLinkedDoorsAccess: true,
        }],
        doorCode: { enabled: true, assignment: "strict", code: "482916" },
        keycard: { enabled: false },
        smartKey: { enabled: false },
      });
      expect(res?.ok).toBe(true);
      await until(() => events.some((e) => e.type === "credential.provisioned" && e.doorId === "room-101"), "credential.provisioned on room-101");

      // Before: an unknown code is denied at the door, and the hub reports that too.
      expect((await run(["sim", "code", "room-101", "111111", ...ctl])).stdout).toBe("ACCESS DENIED: unknown credential\n");
      const typed = await run(["sim", "code", "room-101", "482916", ...ctl]);
      expect(typed.stdout).toBe("ACCESS GRANTED (slot 0)\n");
      await until(() => events.some((e) => e.type === "access.granted" && e.doorId === "room-101"), "access.granted on room-101");
      expect(events.find((e) => e.type === "access.granted")).toMatchObject({
        doorId: "room-101", lockId: "4c42000000000101", keyId: "k-1", credential: "doorCode",
      });
      expect(events.some((e) => e.type === "access.denied" && e.doorId === "room-101")).toBe(true);
    } finally {
      await cloud.close();
    }
  });
});
