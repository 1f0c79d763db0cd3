/**
 * `lockbridge` sub-commands. Exit codes come from exit-codes.ts; usage errors name the
 * problem and exit 64, configuration errors name the config path and exit 2.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { stringify as toYaml } from "yaml";
import { ConfigError, DEMO_HUB_ID, displayUrl, loadConfig, packageRoot, redactConfig, type Config } from "../config/index.js";
import { createHub } from "../hub.js";
import { errorMessage, isLockBridgeError, LockBridgeError } from "../shared/errors.js";
import { createLogger, wantsPrettyLogs, type Logger } from "../shared/logger.js";
import { backupStoreFile, STORE_FILE } from "../store/index.js";
import { systemdNotifier } from "../systemd/notify.js";
import { EXIT, type ExitCode } from "./exit-codes.js";

const USAGE = `Usage: lockbridge <command> [options]

Commands:
  run [--config FILE] [--demo]       run the hub (--demo: also the simulated property)
  config check FILE [--connect]      validate a config file (+ environment), print the effective config;
                                     --connect also tries the broker with its TLS and credentials
  store backup FILE [--config FILE]  write a consistent online backup of the hub's store to FILE
  status                             the hub on one screen: cloud link, locks by bus, keys needing attention
  locks|doors|keys list|show [ID]    the property's inventory (keys list --search TEXT --state STATE)
  events [--follow] [--type T] [--door D] [--key K]   the hub's events as readable lines
  diagnose --key KEYID | --door DOORID                why a guest cannot get in, with the fix
  lock commission|decommission|replace ...            installer actions (lockbridge lock for usage)
  firmware status [--job JOBID]      firmware jobs: each lock's state (queued, transferring, ... applied, failed) and progress
  api token [--rotate] [--url]       the installer token (--url: the web console's address with it; --rotate: a new one)
  doctor                             check the installation: pass/warn/fail with the fix per line
  scan [--bus PATH|HOST:PORT] [--addresses 1-32] [--ble]   serial ports, locks answering IDENT, BLE locks
  ctl <command> ...                  talk to a running hub over MQTT (as the cloud would)
  sim <command> ...                  the simulator (see README)
  version                            print the version
  help                               print this help

Environment: LOCKBRIDGE_CONFIG, LOCKBRIDGE_DATA_DIR, LOCKBRIDGE_MQTT_URL, LOCKBRIDGE_HUB_ID,
LOCKBRIDGE_LOG_LEVEL and more: see docs/configuration.md.
`;

/** Hard limit for a clean stop after SIGTERM/SIGINT; systemd's TimeoutStopSec is above it. */
export const STOP_DEADLINE_MS = 5000;

class UsageError extends LockBridgeError {
  constructor(message: string) {
    super("cli_usage", message);
  }
}

export async function main(argv: string[]): Promise<number> {
  // `lockbridge status | head`: a closed pipe ends the command quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(EXIT.ok);
      throw e;
    });
  }
  let code: ExitCode;
  try {
    code = await dispatch(argv);
  } catch (e) {
    if (isLockBridgeError(e, "cli_usage")) {
      process.stderr.write(`lockbridge: ${e.message}\nRun "lockbridge help" for usage.\n`);
      code = EXIT.usage;
    } else if (e instanceof ConfigError) {
      process.stderr.write(`lockbridge: invalid configuration\n${e.issues.map((i) => `  ${i.path}: ${i.message}\n`).join("")}`);
      code = EXIT.badConfig;
    } else {
      process.stderr.write(`lockbridge: ${errorMessage(e)}\n`);
      code = EXIT.failure;
    }
  }
  process.exitCode = code;
  return code;
}

async function dispatch(argv: string[]): Promise<ExitCode> {
  const [command, ...rest] = argv;
  switch (command) {
    case "run": {
      const { values } = parse("run", rest, { config: { type: "string" }, demo: { type: "boolean" } }, 0);
      return run(values.config as string | undefined, values.demo === true);
    }
    case "config": {
      const [sub, ...args] = rest;
      if (sub !== "check") throw new UsageError(sub === undefined ? "config: missing sub-command (check)" : `config: unknown sub-command "${sub}"`);
      const { values, positionals } = parse("config check", args, { connect: { type: "boolean" } }, 1, "a FILE argument");
      return configCheck(positionals[0]!, values.connect === true);
    }
    case "store": {
      const [sub, ...args] = rest;
      if (sub !== "backup") throw new UsageError(sub === undefined ? "store: missing sub-command (backup)" : `store: unknown sub-command "${sub}"`);
      const { values, positionals } = parse("store backup", args, { config: { type: "string" } }, 1, "a FILE argument");
      return storeBackup(positionals[0]!, values.config as string | undefined);
    }
    // The installer's tools are loaded when asked for, not by every `run`: the hub's process
    // then holds none of their code (docs/performance.md, "Memory").
    case "ctl":
      return (await (await import("./ctl.js")).runCtl(rest)) as ExitCode;
    case "status":
      return (await import("./property-commands.js")).statusCommand(rest);
    case "locks":
    case "doors":
    case "keys":
      return (await import("./property-commands.js")).inventoryCommand(command, rest);
    case "events":
      return (await import("./property-commands.js")).eventsCommand(rest);
    case "diagnose":
      return (await import("./property-commands.js")).diagnoseCommand(rest);
    case "lock":
      return (await import("./lock-commands.js")).lockCommand(rest);
    case "firmware":
      return (await import("./firmware-commands.js")).firmwareCommand(rest);
    case "doctor":
      return (await import("./doctor.js")).doctorCommand(rest);
    case "api":
      return (await import("./api-token.js")).apiCommand(rest);
    case "scan":
      return (await import("./scan.js")).scanCommand(rest);
    case "version":
    case "--version":
      parse("version", rest, {}, 0);
      process.stdout.write(`lockbridge ${packageVersion()}\n`);
      return EXIT.ok;
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return EXIT.ok;
    case undefined:
      throw new UsageError("missing command");
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** node:util parseArgs, strict, with its errors turned into usage errors. */
function parse(command: string, args: string[], options: NonNullable<ParseArgsConfig["options"]>, positionals: number, form?: string) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: positionals > 0, strict: true });
  } catch (e) {
    throw new UsageError(`${command}: ${errorMessage(e).split("\n")[0]!}`);
  }
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(`${command}: expected ${form ?? "no arguments"}, got ${parsed.positionals.length === 0 ? "none" : parsed.positionals.map((p) => `"${p}"`).join(" ")}`);
  }
  return parsed;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}

async function configCheck(file: string, connect: boolean): Promise<ExitCode> {
  let config: Config;
  try {
    config = loadConfig({ file, env: process.env });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`config invalid: ${file}\n${e.issues.map((i) => `  ${i.path}: ${i.message}\n`).join("")}`);
    return EXIT.badConfig;
  }
  process.stdout.write(`config OK\n${toYaml(redactConfig(config))}`);
  if (!connect) return EXIT.ok;
  // --connect: one real attempt with the configured TLS material and credentials.
  const { probeBroker } = await import("../cloud/probe.js");
  const probe = await probeBroker(config);
  if (probe.ok) {
    process.stdout.write(`broker: ${probe.detail}\n`);
    return EXIT.ok;
  }
  process.stderr.write(`broker: ${probe.detail}\n  fix: ${probe.fix ?? "check mqtt.url"}\n`);
  return EXIT.failure;
}

/** Backs up the store of the configured data dir; works beside a running hub (WAL reader). */
async function storeBackup(file: string, configFile: string | undefined): Promise<ExitCode> {
  const config = loadConfig({ file: configFile, env: process.env });
  const storePath = join(config.dataDir, STORE_FILE);
  try {
    const result = await backupStoreFile(storePath, resolve(file));
    process.stdout.write(`backup written: ${result.file} (${result.bytes} bytes, schema version ${result.schemaVersion}, ${result.ms} ms)\n`);
    return EXIT.ok;
  } catch (e) {
    process.stderr.write(`lockbridge store backup: ${errorMessage(e)}\n`);
    return EXIT.failure;
  }
}

/** Runs the hub until SIGTERM/SIGINT; resolves with the exit code once stopped. */
async function run(configFile: string | undefined, demo: boolean): Promise<ExitCode> {
  const config = loadConfig({ file: configFile, env: process.env, ...(demo && { defaultHubId: DEMO_HUB_ID }) });
  const log = createLogger({ level: config.log.level, base: { hubId: config.hubId }, pretty: wantsPrettyLogs(process.stdout, process.env) });
  installCrashHandlers(log);

  // Listen before starting: a signal during start-up stops the hub right after it.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  const hub = createHub(config, log, { demo });
  void stopSignal.then(() => hub.requestStop());
  const systemd = systemdNotifier(process.env, log);
  try {
    await hub.start();
  } catch (e) {
    log.fatal({ err: e }, "hub failed to start");
    process.exit(EXIT.failure);
  }
  systemd.ready(`hub ${config.hubId} started`);
  systemd.startWatchdog();
  log.info(
    {
      // hubId is on every line (logger base)
      dataDir: config.dataDir,
      mqttUrl: hub.brokerUrl === undefined ? undefined : displayUrl(hub.brokerUrl),
      embeddedBroker: config.mqtt.url === undefined,
      version: packageVersion(),
      pid: process.pid,
      startupMs: Math.round(process.uptime() * 1000),
    },
    "hub started",
  );

  const signal = await stopSignal;
  log.info({ signal }, "stopping hub");
  systemd.stopping(`stopping on ${signal}`);
  // A second signal, or a stop that hangs past the deadline, ends the process at once.
  const force = (reason: string) => {
    log.error({ reason }, "hub did not stop cleanly; exiting");
    process.exit(EXIT.failure);
  };
  process.once("SIGTERM", () => force("second SIGTERM"));
  process.once("SIGINT", () => force("second SIGINT"));
  const deadline = setTimeout(() => force(`stop deadline of ${STOP_DEADLINE_MS} ms passed`), STOP_DEADLINE_MS);
  try {
    await hub.stop();
  } catch (e) {
    log.error({ err: e }, "hub stopped with errors");
    process.exit(EXIT.failure);
  }
  clearTimeout(deadline);
  systemd.close();
  log.info("hub stopped");
  // Exit explicitly: a leftover handle must not keep a stopped hub alive.
  process.exit(EXIT.ok);
}

/** No silent death: anything that escapes is logged, then the process exits with EXIT.failure. */
function installCrashHandlers(log: Logger): void {
  process.on("unhandledRejection", (reason) => {
    log.fatal({ err: reason }, "unhandled promise rejection");
    process.exit(EXIT.failure);
  });
  process.on("uncaughtException", (err) => {
    log.fatal({ err }, "uncaught exception");
    process.exit(EXIT.failure);
  });
}
