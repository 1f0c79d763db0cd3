/**
 * The installer CLI as a person runs it, against a real hub and simulated locks: in a pipe
 * (plain lines, no escape codes) and in a real pseudo-terminal (`script`), where progress
 * redraws one line and states are coloured.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiHub, type ApiHub } from "../helpers/api-hub.js";
import { freePort, LOCKBRIDGE_BIN, REPO_ROOT } from "../helpers/process.js";

let h: ApiHub;
beforeAll(async () => {
  h = await startApiHub({ rooms: 3 });
  await h.configureSite();
}, 30_000);
afterAll(async () => h?.close());

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("LOCKBRIDGE_")) e[k] = v;
  return { ...e, LOCKBRIDGE_DATA_DIR: h.config.dataDir, NO_COLOR: undefined };
}

/** Runs a child to its end without blocking this process (the hub under test lives here). */
function run(cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env: { ...env(), ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The CLI with stdout and stderr as pipes. */
const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => run(process.execPath, [LOCKBRIDGE_BIN, ...args], extraEnv);

/** The CLI in a real pseudo-terminal (util-linux script); `output` is what the terminal showed. */
async function tty(args: string[]) {
  const command = [process.execPath, LOCKBRIDGE_BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const r = await run("script", ["-q", "-e", "-c", command, "/dev/null"], { TERM: "xterm" });
  return { code: r.code, output: r.stdout };
}

const bus = () => h.fleet.ready(null).tcpBuses[0]!;
/** The setup key as printed on the lock's label (groups of 4 hex digits), as an installer types it. */
const label = (lockId: string) => h.fleet.find(lockId).lock.setupKey!.match(/.{4}/g)!.join(" ");

describe("installer CLI", async () => {
  it("lock commission in a pipe: one plain line per step, a summary, exit 0", async () => {
    const r = await cli(["lock", "commission", "4c4200000000a101", "--profile", "rs485-mortise", "--tcp", `127.0.0.1:${bus().port}`, "--address", "1", "--setup-key", label("4c4200000000a101")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`commissioning 4c4200000000a101 on 127.0.0.1:${bus().port} address 1: IDENT, pairing, clock\n`);
    expect(r.stdout).toMatch(/^lock 4c4200000000a101 commissioned \(.+\): its keys are being delivered/);
    expect(r.stdout + r.stderr).not.toContain("\x1b[");
  });

  it("lock commission in a terminal: the step redraws in place and ends ticked", async () => {
    const r = await tty(["lock", "commission", "4c4200000000a102", "--profile", "rs485-mortise", "--tcp", `127.0.0.1:${bus().port}`, "--address", "2", "--setup-key", label("4c4200000000a102")]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("\r\x1b[K");
    expect(r.output).toMatch(/✓ commissioning 4c4200000000a102 on [^\n]+\r?\n/);
    expect(r.output).toContain("lock 4c4200000000a102 commissioned");
  });

  it("a refused action names the cause, exits 1 and leaves no lock behind", async () => {
    const taken = await cli(["lock", "commission", "4c4200000000a103", "--profile", "rs485-mortise", "--tcp", `127.0.0.1:${bus().port}`, "--address", "1"]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/lockbridge lock commission: lock 4c4200000000a101 already uses address 1 on 127\.0\.0\.1:\d+; decommission it, or use lock replace .*\(invalid_payload\)/);
    const missing = await cli(["lock", "commission", "4c4200000000a103", "--profile", "rs485-mortise", "--serial", "/dev/ttyLB-missing", "--address", "3"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/lockbridge lock commission: .*cannot open \/dev\/ttyLB-missing.* \(lock_offline\)/);
    // A PAIR_KX lock without the setup key from its label: refused before any pairing, naming the field.
    const noKey = await cli(["lock", "commission", "4c4200000000a103", "--profile", "rs485-mortise", "--tcp", `127.0.0.1:${bus().port}`, "--address", "3"]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/pairs with PAIR_KX: setupKey is required \(32 hex digits from the lock's label\)/);
    expect(h.fleet.find("4c4200000000a103").lock.linkKey).toBeNull();
    const list = await cli(["locks", "list", "--json"]);
    expect(list.stdout).not.toContain("4c4200000000a103");
  });

  it("status: one screen with the hub, the cloud link, locks by bus and progress; coloured only on a terminal", async () => {
    const r = await cli(["status"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Hub hub-api-test \(lockbridge [^)]+\): ready\n/);
    expect(r.stdout).toContain("Cloud: connected to embedded (127.0.0.1)");
    expect(r.stdout).toMatch(new RegExp(`tcp 127\\.0\\.0\\.1:${bus().port}\\n\\s+ADDR\\s+LOCK\\s+DOOR\\s+STATE`));
    expect(r.stdout).toMatch(/\n\s+1\s+4c4200000000a101\s+Room 101\s+online\s+100 %/);
    expect(r.stdout).toMatch(/Provisioning: 0 of 0 credentials on their locks; 0 locks offline/);
    expect(r.stdout).not.toContain("\x1b[");
    const t = await tty(["status"]);
    expect(t.output).toContain("\x1b[32monline\x1b[0m");
  });

  it("locks show / doors list / keys list, and --json for scripts", async () => {
    const show = await cli(["locks", "show", "4c4200000000a101"]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^lockId: 4c4200000000a101\nstate: commissioned\n/);
    const doors = await cli(["doors", "list"]);
    expect(doors.stdout).toMatch(/room-101\s+Room 101\s+room\s+4c4200000000a101\s+online\s+0/);
    const json = await cli(["locks", "list", "--json"]);
    expect((JSON.parse(json.stdout) as { locks: unknown[] }[])[0]!.locks).toHaveLength(2);
    const unknown = await cli(["locks", "show", "4c42ffffffffffff"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no lock 4c42ffffffffffff on this hub");
  });

  it("events: readable lines, one per event", async () => {
    const r = await cli(["events", "--type", "lock", "--since", "0"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d{2}:\d{2}:\d{2}(\.\d+)?\s+#\d+\s+lock\.online\s+room-101 4c4200000000a101/m);
  });

  it("events --follow: live readable lines until interrupted", async () => {
    const child = spawn(process.execPath, [LOCKBRIDGE_BIN, "events", "--follow", "--type", "lock"], { cwd: REPO_ROOT, env: env(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    // It says on stderr once it follows (a loaded machine may take seconds to start it).
    for (let i = 0; i < 600 && !err.includes("following the hub's events"); i++) await new Promise((r) => setTimeout(r, 50));
    expect(err).toBe("following the hub's events (Ctrl-C to stop)\n");
    h.fleet.find("room-102").lock.setOffline(true);
    for (let i = 0; i < 200 && !out.includes("lock.offline"); i++) await new Promise((r) => setTimeout(r, 50));
    h.fleet.find("room-102").lock.setOffline(false);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(out).toMatch(/^\d{2}:\d{2}:\d{2}(\.\d+)?\s+#\d+\s+lock\.offline\s+room-102 4c4200000000a102$/m);
  });

  it("diagnose --door names findings with a fix", async () => {
    h.fleet.find("room-101").lock.setBattery(15);
    const r = await cli(["diagnose", "--door", "room-101"]);
    expect(r.stdout + r.stderr).toMatch(/fix: /);
  });

  it("scan --bus: the locks answering IDENT, the hub's own addresses skipped and left alone", async () => {
    const r = await cli(["scan", "--bus", `127.0.0.1:${bus().port}`, "--addresses", "1-5", "--timeout", "150"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("skipping addresses 1, 2: locks this hub already has\n");
    expect(r.stdout).toMatch(/^ADDR\s+LOCK\s+MODEL/);
    expect(r.stdout).toMatch(/\n3\s+4c4200000000a103\s+NV-M485/);
    expect(r.stdout).not.toMatch(/4c4200000000a10[12]/);
    expect(r.stdout).toContain(`Commission one with: lockbridge lock commission 4c4200000000a103 --profile PROFILE --tcp 127.0.0.1:${bus().port} --address 3`);
    const status = await (await h.get("/api/locks/4c4200000000a101")).json();
    expect(status).toMatchObject({ online: true, state: "commissioned" });
  });

  it("scan --ble without a radio says so plainly", async () => {
    const r = await cli(["scan", "--ble", "--seconds", "1"], { LOCKBRIDGE_BLE_PROXY: `127.0.0.1:${await freePort()}` });
    expect(r.stdout).toMatch(/^no BLE adapter: /);
    expect(r.code).toBe(1);
  });

  it("no hub at the address: a clear message, exit 1", async () => {
    const port = await freePort();
    const r = await cli(["status"], { LOCKBRIDGE_DATA_DIR: join(h.dir, "nowhere"), LOCKBRIDGE_API_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no hub answers at http://127.0.0.1:${port} (is it running?`);
  });
});
