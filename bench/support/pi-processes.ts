/**
 * The processes of the Pi benchmark, each started as a user would: the simulator
 * (`lockbridge sim run PROPERTY --ephemeral`), the compiled hub (`LOCKBRIDGE_RUNTIME=dist
 * lockbridge run`, optionally under `taskset -c 0`), `lockbridge sim commission`, and the
 * baseline: Node with the hub's dependencies loaded and nothing else.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { CloudClient } from "../../src/cloud/index.js";
import { readProc, sleep, type ProcSample } from "./pi-proc.js";
import type { SnapshotDoor } from "./pi-property.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = path.join(ROOT, "bin", "lockbridge.js");

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** The last 8 KB of stdout + stderr, for error messages. */
  tail(): string;
  /** SIGTERM, SIGKILL after 10 s; resolves on exit. */
  stop(): Promise<void>;
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-8192));
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  if (proc.pid === undefined) throw new Error(`cannot start ${cmd}`);
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  return {
    proc,
    pid: proc.pid,
    tail: () => tail,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The Node flags of the systemd unit's ExecStart (systemd/lockbridge.service): the hub is
 * measured as the unit runs it, and the two cannot drift apart. PI_BENCH_UNIT_FLAGS=false
 * (`--unit-flags false`) measures bare Node instead.
 */
export function unitNodeFlags(): string[] {
  if (process.env.PI_BENCH_UNIT_FLAGS === "false") return [];
  const unit = fs.readFileSync(path.join(ROOT, "systemd", "lockbridge.service"), "utf8");
  const exec = /^ExecStart=(.*)$/m.exec(unit);
  if (!exec) throw new Error("systemd/lockbridge.service has no ExecStart");
  const words = exec[1]!.trim().split(/\s+/).slice(1); // after the node binary
  const flags: string[] = [];
  for (const w of words) {
    if (!w.startsWith("--")) break;
    flags.push(w);
  }
  return flags;
}

/**
 * The glibc malloc tunables (MALLOC_*) of the unit's `Environment=` lines: they shape the
 * process's native memory as the Node flags shape V8's, so the hub and its deps-only baseline
 * get them too (not with PI_BENCH_UNIT_FLAGS=false).
 */
export function unitMallocEnv(): Record<string, string> {
  if (process.env.PI_BENCH_UNIT_FLAGS === "false") return {};
  const unit = fs.readFileSync(path.join(ROOT, "systemd", "lockbridge.service"), "utf8");
  const out: Record<string, string> = {};
  for (const line of unit.matchAll(/^Environment=(.*)$/gm)) {
    for (const m of line[1]!.matchAll(/(?:^|\s)(MALLOC_[A-Z_]+)=(\S+)/g)) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Environment without the developer's LOCKBRIDGE_* settings, plus `extra`. */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("LOCKBRIDGE_")) out[k] = v;
  return { ...out, ...extra };
}

function firstLine(child: Child, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${what}: no line within ${timeoutMs} ms\n${child.tail()}`)), timeoutMs);
    child.proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.proc.once("exit", (code) => reject(new Error(`${what} exited (${code})\n${child.tail()}`)));
  });
}

export interface SimReady {
  name: string;
  controlPort: number;
  tcpBuses: { id: string; port: number }[];
  doors: SnapshotDoor[];
}

export async function startSim(propertyFile: string): Promise<{ child: Child; ready: SimReady }> {
  const child = start(process.execPath, [BIN, "sim", "run", propertyFile, "--ephemeral"], env({}));
  const ready = JSON.parse(await firstLine(child, 120_000, "simulator")) as SimReady;
  return { child, ready };
}

/** `lockbridge sim commission`: the simulator's own way in, whatever a lock needs (setup keys...). */
export async function commission(sim: SimReady, mqttUrl: string, hubId: string, signKeyFile: string): Promise<void> {
  const child = start(process.execPath, [BIN, "sim", "commission", "--mqtt", mqttUrl, "--hub-id", hubId, "--sign-key", signKeyFile, "--control", String(sim.controlPort)], env({}));
  const code = await new Promise<number | null>((r) => child.proc.once("exit", (c) => r(c)));
  if (code !== 0) throw new Error(`sim commission exited ${code}\n${child.tail()}`);
}

export interface HubOptions {
  dataDir: string;
  mqttUrl: string;
  hubId: string;
  commandPublicKey: string;
  pinned?: boolean;
}

/**
 * Starts the compiled hub and measures the time until it serves: its retained state online
 * (a new bootId) and a `status.get` answered over MQTT.
 */
export async function startHub(o: HubOptions, cloud: CloudClient): Promise<{ hub: Child; serveMs: number; atServe: ProcSample }> {
  const online = new Promise<void>((resolve) => {
    const off = cloud.onMessage((m) => {
      const p = m.payload as { online?: unknown } | undefined;
      if (m.topic === cloud.topics.state && p?.online === true) {
        off();
        resolve();
      }
    });
  });
  const hubEnv = env({
    ...unitMallocEnv(),
    LOCKBRIDGE_RUNTIME: "dist",
    LOCKBRIDGE_DATA_DIR: o.dataDir,
    LOCKBRIDGE_MQTT_URL: o.mqttUrl,
    LOCKBRIDGE_HUB_ID: o.hubId,
    LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY: o.commandPublicKey,
    LOCKBRIDGE_BLE_ENABLED: "false",
    LOCKBRIDGE_API_PORT: "0",
    LOCKBRIDGE_LOG_LEVEL: "warn",
  });
  // The unit's Node flags, then PI_BENCH_NODE_FLAGS (or `--node-flags`): more flags, for a
  // trial (--max-old-space-size=...) or a profiler (--cpu-prof).
  const flags = [...unitNodeFlags(), ...(process.env.PI_BENCH_NODE_FLAGS ?? "").split(/\s+/).filter(Boolean)];
  const t0 = performance.now();
  const hub = o.pinned ? start("taskset", ["-c", "0", process.execPath, ...flags, BIN, "run"], hubEnv) : start(process.execPath, [...flags, BIN, "run"], hubEnv);
  const died = new Promise<never>((_, reject) => hub.proc.once("exit", (code) => reject(new Error(`hub exited (${code})\n${hub.tail()}`))));
  await Promise.race([online, died]);
  const r = await Promise.race([cloud.send({ cmd: "status.get" }, { timeoutMs: 120_000 }), died]);
  if (!r?.ok) throw new Error(`status.get: ${JSON.stringify(r)}`);
  const serveMs = performance.now() - t0;
  return { hub, serveMs, atServe: readProc(hub.pid) };
}

/** Node with mqtt, better-sqlite3 (its addon opened), pino and zod loaded, idling (the unit's Node flags). */
export async function depsOnlyBaseline(): Promise<{ readyMs: number; sample: ProcSample }> {
  const script = [
    'import "mqtt";',
    'import Database from "better-sqlite3";',
    'import "pino";',
    'import "zod";',
    'new Database(":memory:").close();',
    'process.stdout.write("ready\\n");',
    "setInterval(() => {}, 1 << 30);",
  ].join("\n");
  const t0 = performance.now();
  // With the unit's flags too, so that the ratio shows the hub's own memory, not the flags'.
  const child = start(process.execPath, [...unitNodeFlags(), "--input-type=module", "-e", script], env(unitMallocEnv()));
  try {
    await firstLine(child, 60_000, "deps-only node");
    const readyMs = performance.now() - t0;
    await sleep(3000); // as the hub's idle figure: after it settled
    return { readyMs, sample: readProc(child.pid) };
  } finally {
    await child.stop();
  }
}
