/**
 * `lockbridge run` as a real child process: it starts its embedded broker, answers MQTT,
 * stops cleanly on SIGTERM/SIGINT, and tells bad config (2), bad CLI usage (64) and
 * runtime failure (1) apart by exit code.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectAsync, type MqttClient } from "mqtt";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/exit-codes.js";
import { STOP_DEADLINE_MS } from "../../src/cli/main.js";
import { openStore, PID_FILE, SCHEMA_VERSION, STORE_FILE } from "../../src/store/index.js";
import { freePort, REPO_ROOT, runLockbridge, spawnLockbridge, spawnNode, type RunningProcess } from "../helpers/process.js";

const tmp = mkdtempSync(join(tmpdir(), "lb-lifecycle-"));
const running: RunningProcess[] = [];
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.endAsync(true);
  for (const proc of running.splice(0)) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.kill("SIGKILL");
      await proc.waitForExit();
    }
  }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function startHub(name: string, args: string[] = []) {
  const dataDir = join(tmp, name, "data");
  const port = await freePort();
  const proc = spawnLockbridge(["run", ...args], {
    cwd: tmp,
    env: { LOCKBRIDGE_DATA_DIR: dataDir, LOCKBRIDGE_MQTT_EMBEDDED_PORT: String(port), LOCKBRIDGE_HUB_ID: `hub-${name}` },
  });
  running.push(proc);
  const started = await proc.waitForLog("hub started");
  return { proc, started, dataDir, port };
}

function parseLog(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function stopWithin(proc: RunningProcess, signal: NodeJS.Signals) {
  const t0 = performance.now();
  proc.kill(signal);
  const exit = await proc.waitForExit(STOP_DEADLINE_MS + 5000);
  return { exit, ms: performance.now() - t0 };
}

describe("lockbridge run", () => {
  it("starts the embedded broker, serves MQTT, and exits 0 on SIGTERM within the deadline", async () => {
    const { proc, started, dataDir, port } = await startHub("sigterm");
    expect(started).toMatchObject({ hubId: "hub-sigterm", dataDir, mqttUrl: `mqtt://127.0.0.1:${port}`, embeddedBroker: true });
    expect(statSync(join(dataDir, STORE_FILE)).isFile()).toBe(true);

    // A real client round trip through the hub's broker proves it is up.
    const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000 });
    clients.push(client);
    await client.subscribeAsync("lockbridge/v1/hub-sigterm/probe", { qos: 1 });
    const received = new Promise<string>((resolve) => client.once("message", (_topic, payload) => resolve(payload.toString())));
    await client.publishAsync("lockbridge/v1/hub-sigterm/probe", "ping", { qos: 1 });
    expect(await received).toBe("ping");

    // The client stays connected: the stop must not wait for it.
    const { exit, ms } = await stopWithin(proc, "SIGTERM");
    expect(exit).toEqual({ code: EXIT.ok, signal: null });
    expect(ms).toBeLessThan(STOP_DEADLINE_MS);
    await proc.waitForLog("hub stopped");
    expect(proc.stderr()).toBe("");
    expect(existsSync(join(dataDir, PID_FILE))).toBe(false); // the data dir was released

    // The broker is really gone.
    await expect(connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 2000 })).rejects.toThrow();
  });

  it("exits 0 on SIGINT", async () => {
    const { proc } = await startHub("sigint");
    const { exit } = await stopWithin(proc, "SIGINT");
    expect(exit).toEqual({ code: EXIT.ok, signal: null });
  });

  it("--demo runs the simulated property and commissions its 16 locks into the hub (or says the simulator is missing)", async () => {
    const { proc, dataDir } = await startHub("demo", ["--demo"]);
    // The demo checks signatures like a real hub: its own key pair, the private half owner-only.
    expect((statSync(join(dataDir, "demo", "demo-cloud-signing-key.pem")).mode & 0o777).toString(8)).toBe("600");
    if (existsSync(join(__dirname, "..", "..", "sim", "cli.ts"))) {
      await proc.waitForLog("demo property started");
      // The hub itself answers lock.commission for every lock of the demo property: 12 rooms,
      // lobby and gym on TCP buses, two BLE suites through the simulator's BLE proxy.
      const commissioned = new Set<string>();
      await proc.waitForLine((l) => {
        const rec = parseLog(l);
        if (rec?.msg === "command answered" && rec.cmd === "lock.commission" && rec.ok === true && typeof rec.id === "string") commissioned.add(rec.id);
        return commissioned.size === 16;
      }, 60_000);
    } else {
      await proc.waitForLine((l) => l.includes("demo property not available yet"));
    }
    const { exit } = await stopWithin(proc, "SIGTERM");
    expect(exit.code).toBe(EXIT.ok);
    if (!existsSync(join(__dirname, "..", "..", "sim", "cli.ts"))) return;
    // Readable in a log: JSON in a pipe, a short ready line, "lock online" once per lock,
    // no connection-refused burst, and nothing alarming on a clean stop.
    const lines = proc.stdout;
    expect(lines.filter((l) => l.startsWith("{")).every((l) => l.length < 1024), "every JSON line under 1 KB").toBe(true);
    const online = lines.map(parseLog).filter((r) => r?.msg === "lock online").map((r) => String(r!.lockId));
    expect(online.length).toBe(16);
    expect(new Set(online).size).toBe(16);
    expect(lines.filter((l) => l.includes("ECONNREFUSED")).length).toBeLessThanOrEqual(4);
    const stopAt = lines.findIndex((l) => parseLog(l)?.msg === "stopping hub");
    const afterStop = lines.slice(stopAt).map(parseLog).filter((r) => r?.level === "warn" || r?.level === "error");
    expect(afterStop.map((r) => r!.msg)).toEqual([]);
  });

  it("refuses a second hub on the same data dir (exit 1) and leaves the first one running", async () => {
    const first = await startHub("owner");
    const second = await runLockbridge(["run"], {
      cwd: tmp,
      env: { LOCKBRIDGE_DATA_DIR: first.dataDir, LOCKBRIDGE_MQTT_EMBEDDED_PORT: String(await freePort()) },
    });
    expect(second.code).toBe(EXIT.failure);
    expect(second.stdout).toContain(`data dir ${first.dataDir} is in use by pid ${first.proc.child.pid}`);
    const { exit } = await stopWithin(first.proc, "SIGTERM");
    expect(exit.code).toBe(EXIT.ok);
  });

  it("store backup writes a sound copy of a running hub's store", async () => {
    const { proc, dataDir } = await startHub("backup");
    const file = join(tmp, "copies", "hub.db");
    mkdirSync(join(tmp, "copies"));
    const result = await runLockbridge(["store", "backup", file], { cwd: tmp, env: { LOCKBRIDGE_DATA_DIR: dataDir } });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain(`backup written: ${file}`);
    const copy = openStore(file);
    try {
      expect(copy.schemaVersion()).toBe(SCHEMA_VERSION);
      expect(copy.integrityCheck()).toEqual(["ok"]);
    } finally {
      copy.close();
    }
    expect((await stopWithin(proc, "SIGTERM")).exit.code).toBe(EXIT.ok);
  });

  it("store backup fails with exit 1 when the data dir holds no store", async () => {
    const result = await runLockbridge(["store", "backup", join(tmp, "none.db")], { cwd: tmp, env: { LOCKBRIDGE_DATA_DIR: join(tmp, "empty") } });
    expect(result.code).toBe(EXIT.failure);
    expect(result.stderr).toContain("there is no LockBridge store at");
  });

  it("exits 1 (runtime failure) when the embedded broker's port is taken", async () => {
    const port = await freePort();
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
    try {
      const result = await runLockbridge(["run"], {
        cwd: tmp,
        env: { LOCKBRIDGE_DATA_DIR: join(tmp, "taken"), LOCKBRIDGE_MQTT_EMBEDDED_PORT: String(port) },
      });
      expect(result.code).toBe(EXIT.failure);
      expect(result.stdout).toMatch(/"msg":"hub failed to start"/);
      expect(result.stdout).toContain(`127.0.0.1:${port} is in use (EADDRINUSE; another broker?)`);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });
});

describe("no silent death", () => {
  it("logs an unhandled promise rejection and exits 1", async () => {
    // The real `run` command, plus a trigger that rejects a promise nobody handles.
    const script = [
      `const { main } = await import(${JSON.stringify(join(REPO_ROOT, "src", "cli", "main.ts"))});`,
      `process.once("SIGUSR2", () => { Promise.reject(new Error("boom from nowhere")); });`,
      `await main(["run"]);`,
    ].join("\n");
    const proc = spawnNode(["--import", "tsx/esm", "--input-type=module", "-e", script], {
      cwd: REPO_ROOT,
      env: { LOCKBRIDGE_DATA_DIR: join(tmp, "crash"), LOCKBRIDGE_MQTT_EMBEDDED_PORT: "0" },
    });
    running.push(proc);
    await proc.waitForLog("hub started");
    proc.kill("SIGUSR2");
    const exit = await proc.waitForExit();
    expect(exit).toEqual({ code: EXIT.failure, signal: null });
    const fatal = await proc.waitForLog("unhandled promise rejection");
    expect(fatal).toMatchObject({ level: "fatal", err: { message: "boom from nowhere" } });
  });
});

describe("exit codes for bad input", () => {
  it("exits 2 naming the config path for a bad config file", async () => {
    const file = join(tmp, "bad.yaml");
    writeFileSync(file, "mqtt:\n  tls:\n    ca: 5\nlog:\n  level: loud\n");
    const result = await runLockbridge(["run", "--config", file], { cwd: tmp });
    expect(result.code).toBe(EXIT.badConfig);
    expect(result.stderr).toContain("mqtt.tls.ca: expected a file path string");
    expect(result.stderr).toContain("log.level: expected one of");
  });

  it("exits 2 naming the variable for a bad environment override", async () => {
    const result = await runLockbridge(["run"], { cwd: tmp, env: { LOCKBRIDGE_MQTT_URL: "http://cloud" } });
    expect(result.code).toBe(EXIT.badConfig);
    expect(result.stderr).toContain("mqtt.url (from LOCKBRIDGE_MQTT_URL): expected an mqtt://");
  });

  it.each([
    { args: ["run", "--verbose"], problem: "Unknown option '--verbose'" },
    { args: ["launch"], problem: 'unknown command "launch"' },
    { args: [], problem: "missing command" },
    { args: ["config", "check"], problem: "config check: expected a FILE argument, got none" },
    { args: ["config", "lint", "x.yaml"], problem: 'config: unknown sub-command "lint"' },
    { args: ["run", "extra"], problem: "run: Unexpected argument 'extra'" },
  ])("exits 64 for `lockbridge $args`", async ({ args, problem }) => {
    const result = await runLockbridge(args, { cwd: tmp });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(problem);
  });
});

describe("other commands", () => {
  it("config check prints config OK and the effective config with secrets hidden", async () => {
    const file = join(tmp, "good.yaml");
    writeFileSync(file, "hubId: lobby\nmqtt:\n  url: mqtts://broker.example:8883\n  username: hub\n  password: pw-s3cret\n");
    const result = await runLockbridge(["config", "check", file], { cwd: tmp });
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout.split("\n")[0]).toBe("config OK");
    expect(result.stdout).toContain("hubId: lobby");
    expect(result.stdout).toContain("url: mqtts://broker.example:8883");
    expect(result.stdout).not.toContain("pw-s3cret");
  });

  it("config check exits 2 and lists the errors", async () => {
    const file = join(tmp, "unknown-key.yaml");
    writeFileSync(file, "mqtt:\n  host: broker\n");
    const result = await runLockbridge(["config", "check", file], { cwd: tmp });
    expect(result.code).toBe(EXIT.badConfig);
    expect(result.stderr).toContain("mqtt.host: unknown key");
  });

  it("version prints the package version", async () => {
    const result = await runLockbridge(["version"], { cwd: tmp });
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/^lockbridge \d+\.\d+\.\d+/);
  });
});
