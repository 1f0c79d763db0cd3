/**
 * The demo hook: runs the simulated property as a child process (`lockbridge sim demo`),
 * pointed at the hub through the environment. The hub never imports sim/.
 *
 * Two services: the starter runs last (the property commissions itself through the broker
 * and the cloud sync), the stopper runs right after the broker, so at shutdown the property
 * stops only once the hub closed its lock links (no "link lost" warnings on a clean stop).
 * The simulator's machine-readable ready line (kilobytes of JSON) becomes one short log line.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { SIGNING_KEY_ENV } from "../cloud/index.js";
import { packageRoot } from "../config/index.js";
import { errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";

interface ServiceLike {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface DemoTarget {
  brokerUrl: () => string | undefined;
  hubId: string;
  /** The simulator's own data (its state, the demo's cloud key). */
  simDataDir: string;
  /** The demo cloud's private key: the simulated cloud signs its commissioning with it. */
  signingKeyFile: string | undefined;
}

export function demoPropertyServices(target: DemoTarget, log: Logger): { starter: ServiceLike; stopper: ServiceLike } {
  let child: ChildProcess | undefined;
  const starter: ServiceLike = {
    name: "demo-property",
    async start() {
      const root = packageRoot();
      const simAvailable = existsSync(join(root, "sim", "cli.ts")) || existsSync(join(root, "dist", "sim", "cli.js"));
      if (!simAvailable) {
        log.warn("demo property not available yet: the simulator (sim/) is not built; the hub runs alone");
        return;
      }
      // --commission: the simulator acts as the cloud once (site, locks, doors) so the demo
      // property is ready to take keys; the hub's BLE locks are reached through its BLE proxy.
      const proc = spawn(process.execPath, [join(root, "bin", "lockbridge.js"), "sim", "demo", "--commission"], {
        stdio: ["ignore", "pipe", "inherit"],
        // Its own process group: Ctrl-C on the terminal reaches the hub only, which stops the
        // property after its lock links (the stopper below), not before them.
        detached: true,
        env: {
          ...process.env,
          LOCKBRIDGE_MQTT_URL: target.brokerUrl() ?? "",
          LOCKBRIDGE_HUB_ID: target.hubId,
          LOCKBRIDGE_DATA_DIR: target.simDataDir,
          // An explicitly configured key's private half, if any, comes from the caller's environment.
          ...(target.signingKeyFile !== undefined && { [SIGNING_KEY_ENV]: target.signingKeyFile }),
        },
      });
      child = proc;
      createInterface({ input: proc.stdout! }).on("line", (line) => {
        const ready = readyLine(line);
        if (ready) log.info(ready, "demo property ready");
        else process.stdout.write(`${line}\n`);
      });
      proc.on("exit", (code, signal) => {
        if (child === proc) log.error({ exitCode: code, signal }, "demo property exited on its own");
        child = undefined;
      });
      proc.on("error", (err) => log.error({ err: errorMessage(err) }, "demo property failed to start"));
      log.info({ pid: proc.pid }, "demo property started");
    },
    stop: async () => undefined,
  };
  const stopper: ServiceLike = {
    name: "demo-property-stop",
    start: async () => undefined,
    async stop() {
      const proc = child;
      if (!proc || proc.exitCode !== null) return;
      child = undefined;
      const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
  return { starter, stopper };
}

/** The simulator's ready JSON, summarised: name, doors, buses. */
function readyLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const r = JSON.parse(line) as { ready?: unknown; name?: unknown; doors?: unknown[]; tcpBuses?: unknown[]; bleLocks?: unknown[] };
    if (r.ready !== true) return undefined;
    return { property: r.name, doors: r.doors?.length ?? 0, tcpBuses: r.tcpBuses?.length ?? 0, bleLocks: r.bleLocks?.length ?? 0 };
  } catch {
    return undefined;
  }
}
