/**
 * `lockbridge sim ...` (bin/lockbridge.js routes here; also `npm run sim -- ...`).
 * `run`/`demo` start a fleet and its control endpoint; the other sub-commands act on a
 * running fleet through that endpoint.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { signingKeyFrom } from "../src/cloud/signing.js";
import { errorMessage, isLockBridgeError } from "../src/shared/errors.js";
import { ControlClient } from "./control/client.js";
import { FAULTS } from "./control/actions.js";
import { startControlServer } from "./control/server.js";
import { commissionIntoHub } from "./fleet/commission.js";
import { Fleet, propertyBaseDir, type ReadyInfo } from "./fleet/fleet.js";
import { checkProfiles, loadProperty } from "./fleet/property.js";
import { ed25519RawPublicKey } from "./lock/door.js";

/** Same numbers as the hub's CLI (src/cli/exit-codes.ts). */
const EXIT = { ok: 0, failure: 1, badConfig: 2, usage: 64 } as const;
export const DEFAULT_CONTROL_PORT = 47474;
export const DEMO_PROPERTY = fileURLToPath(new URL("./properties/demo.yaml", import.meta.url));

const USAGE = `Usage: lockbridge sim <command> [options]

Start a fleet:
  run PROPERTY [--state FILE] [--control PORT] [--ephemeral] [--commission]
                                  start the locks of a property file (YAML/JSON) and a control endpoint;
                                  prints one "ready" JSON line with the ports, runs until SIGINT/SIGTERM;
                                  --commission: then put the property into the hub over MQTT (as the cloud:
                                  site.configure, lock.commission, door.upsert) [--mqtt URL --hub-id ID --prefix P,
                                  default $LOCKBRIDGE_MQTT_URL $LOCKBRIDGE_HUB_ID $LOCKBRIDGE_MQTT_TOPIC_PREFIX;
                                  --sign-key FILE, default $LOCKBRIDGE_CLOUD_SIGNING_KEY: the cloud's Ed25519
                                  private key, which signs every command]
  demo [--state FILE] [--control PORT] [--ephemeral] [--commission]
                                  the same with the demo property (sim/properties/demo.yaml)
  check PROPERTY                  validate a property file
  commission [--mqtt URL --hub-id ID --sign-key FILE]   commission a running fleet into the hub (as --commission)

Act on a running fleet (LOCK is a doorId or a lockId; --control PORT, default ${DEFAULT_CONTROL_PORT} or $LOCKBRIDGE_SIM_CONTROL):
  list                            every lock: link, battery, flags, faults
  show LOCK                       one lock and its recent events
  code LOCK CODE                  a guest types CODE on the keypad
  card LOCK UID                   a guest presents a keycard (UID in hex)
  phone LOCK PRIVATE_KEY          a phone unlocks with a mobile key (Ed25519 seed, hex or base64, or @file)
  open LOCK | close LOCK          the door opens / closes (door sensor)
  bolt LOCK on|off                the guest throws / retracts the privacy deadbolt
  pair-button LOCK                press the pairing button (PAIR accepted for 2 minutes)
  fault LOCK FAULT [ARGS]         inject a fault:
${Object.entries(FAULTS).map(([k, v]) => `                                    ${k.padEnd(14)}${v}`).join("\n")}
  keygen                          a phone key pair: privateKey (hex seed) and publicKey (base64, for smartKey.publicKey)

Options: --json prints results as JSON.
`;

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  let code: number;
  try {
    code = await dispatch(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lockbridge sim: ${e.message}\nRun "lockbridge sim help" for usage.\n`);
      code = EXIT.usage;
    } else if (isLockBridgeError(e, "config_invalid") || isLockBridgeError(e, "profile_invalid")) {
      // Every problem once: the first is the message, the others listed under it.
      const issues = (e.context?.issues as string[] | undefined) ?? [];
      process.stderr.write(`lockbridge sim: ${e.message}\n${issues.slice(1).map((i) => `  also ${i}\n`).join("")}`);
      code = EXIT.badConfig;
    } else {
      process.stderr.write(`lockbridge sim: ${errorMessage(e)}\n`);
      code = EXIT.failure;
    }
  }
  process.exitCode = code;
  return code;
}

const commonOptions = {
  control: { type: "string" },
  json: { type: "boolean" },
} as const;

const fleetOptions = {
  state: { type: "string" },
  ephemeral: { type: "boolean" },
  commission: { type: "boolean" },
  mqtt: { type: "string" },
  "hub-id": { type: "string" },
  prefix: { type: "string" },
  "sign-key": { type: "string" },
} as const;

function commissionTarget(values: Record<string, unknown>): { url: string; hubId: string; prefix: string } {
  const url = (values.mqtt as string | undefined) ?? process.env.LOCKBRIDGE_MQTT_URL;
  const hubId = (values["hub-id"] as string | undefined) ?? process.env.LOCKBRIDGE_HUB_ID;
  if (!url || !hubId) throw new UsageError("commissioning needs the hub's broker and id: --mqtt URL --hub-id ID (or LOCKBRIDGE_MQTT_URL, LOCKBRIDGE_HUB_ID)");
  return { url, hubId, prefix: (values.prefix as string | undefined) ?? process.env.LOCKBRIDGE_MQTT_TOPIC_PREFIX ?? "lockbridge" };
}

async function commission(ready: ReadyInfo, values: Record<string, unknown>, skipLockIds: ReadonlySet<string>): Promise<number> {
  const target = commissionTarget(values);
  const log = (line: string) => process.stderr.write(`lockbridge sim: ${line}\n`);
  const signingKey = signingKeyFrom(values["sign-key"] as string | undefined, process.env);
  const report = await commissionIntoHub(ready, { ...target, skipLockIds, log, signingKey });
  log(`commissioned into hub ${target.hubId}: ${report.sent} commands, ${report.failed.length} failed`);
  return report.failed.length === 0 ? EXIT.ok : EXIT.failure;
}

function parse(argv: string[], withFleetOptions = false): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const options = withFleetOptions ? { ...commonOptions, ...fleetOptions } : commonOptions;
    // A negative number (clock-jump -30, drift -50, rssi -85) is a value, not an option.
    const NEG = "\u0000neg";
    const args = argv.map((a) => (/^-\d+(\.\d+)?$/.test(a) ? `${NEG}${a}` : a));
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals: positionals.map((p) => (p.startsWith(NEG) ? p.slice(NEG.length) : p)) };
  } catch (e) {
    throw new UsageError(errorMessage(e));
  }
}

function portOf(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--control: expected a port 0..65535, got "${String(value)}"`);
  return n;
}

function need(positionals: string[], n: number, what: string): string[] {
  if (positionals.length < n) throw new UsageError(`missing ${what}`);
  return positionals;
}

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

async function dispatch(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return EXIT.ok;
    case "run": {
      const { values, positionals } = parse(rest, true);
      const [file] = need(positionals, 1, "PROPERTY file");
      return runFleet(file!, values);
    }
    case "demo": {
      const { values, positionals } = parse(rest, true);
      if (positionals.length) throw new UsageError(`demo takes no arguments, got "${positionals.join(" ")}"`);
      let state = values.state as string | undefined;
      // Run by the hub (`lockbridge run --demo`): keep the property's state beside the hub's data.
      const dataDir = process.env.LOCKBRIDGE_DATA_DIR;
      if (!state && dataDir) {
        mkdirSync(dataDir, { recursive: true });
        state = join(dataDir, "sim-state.json");
      }
      return runFleet(DEMO_PROPERTY, { ...values, state });
    }
    case "check": {
      const { positionals, values } = parse(rest);
      const [file] = need(positionals, 1, "PROPERTY file");
      const p = await loadProperty(file!);
      // As strict as the hub: every lock's profile must resolve, as `sim run` will need it.
      checkProfiles(p, dirname(resolve(file!)));
      const n = p.rooms.length + p.commonDoors.length;
      print(values.json === true, { ok: true, name: p.name, locks: n }, `${file}: ok (${p.name}, ${n} locks)`);
      return EXIT.ok;
    }
    case "commission": {
      const { values, positionals } = parse(rest, true);
      if (positionals.length) throw new UsageError(`commission takes no arguments, got "${positionals.join(" ")}"`);
      const client = new ControlClient(portOf(values.control, portOf(process.env.LOCKBRIDGE_SIM_CONTROL, DEFAULT_CONTROL_PORT)));
      const ready = (await client.ready()) as ReadyInfo;
      return commission(ready, values, new Set());
    }
    case "keygen": {
      const { values } = parse(rest);
      const { privateKey } = generateKeyPairSync("ed25519");
      const seed = privateKey.export({ format: "der", type: "pkcs8" }).subarray(-32);
      const out = { privateKey: seed.toString("hex"), publicKey: ed25519RawPublicKey(seed).toString("base64") };
      print(values.json === true, out, `privateKey ${out.privateKey}\npublicKey  ${out.publicKey}`);
      return EXIT.ok;
    }
    default:
      return act(cmd, rest);
  }
}

async function runFleet(file: string, values: Record<string, unknown>): Promise<number> {
  const property = await loadProperty(file);
  const stateFile = values.state as string | undefined;
  const fleet = await Fleet.start(property, {
    baseDir: propertyBaseDir(file),
    ephemeralPorts: values.ephemeral === true,
    ...(stateFile ? { stateFile } : {}),
  });
  let control;
  try {
    const wanted = values.ephemeral === true ? 0 : portOf(values.control, property.control?.port ?? DEFAULT_CONTROL_PORT);
    control = await startControlServer(fleet, { port: wanted });
  } catch (e) {
    await fleet.close();
    throw e;
  }
  // The one line a parent process (the hub's --demo, a test) waits for.
  const ready = fleet.ready(control.port);
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.stderr.write(`lockbridge sim: ${property.name}: ${fleet.doors.size} locks running; control on 127.0.0.1:${control.port}\n`);
  if (values.commission === true) {
    // Locks paired in an earlier run (state file) are the hub's already.
    const paired = new Set(fleet.locks.filter((l) => l.linkKey !== null).map((l) => l.lockId));
    await commission(ready, values, paired).catch((e: unknown) => process.stderr.write(`lockbridge sim: commissioning failed: ${errorMessage(e)}\n`));
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await control.close();
  await fleet.close();
  return EXIT.ok;
}

async function act(cmd: string, rest: string[]): Promise<number> {
  const { values, positionals } = parse(rest);
  const json = values.json === true;
  const client = new ControlClient(portOf(values.control, portOf(process.env.LOCKBRIDGE_SIM_CONTROL, DEFAULT_CONTROL_PORT)));
  const accessText = (r: unknown) => {
    const a = r as { granted: boolean; kind: number; slot: number; reason?: number };
    const reasons = ["", "unknown credential", "outside validity window", "wrong code length"];
    return a.granted ? `ACCESS GRANTED (slot ${a.slot})` : `ACCESS DENIED: ${reasons[a.reason ?? 0] ?? a.reason}`;
  };
  // A script can test the outcome: exit 1 when the lock said no.
  const granted = (r: unknown) => ((r as { granted?: unknown }).granted === true ? EXIT.ok : EXIT.failure);
  switch (cmd) {
    case "list": {
      const r = (await client.list()) as { name: string; locks: Record<string, unknown>[] };
      const lines = r.locks.map((l) => {
        const f = l.faults as Record<string, unknown>;
        const faults = Object.entries(f).filter(([, v]) => v === true || (typeof v === "number" && v > 0)).map(([k]) => k);
        return `${String(l.doorId).padEnd(12)} ${String(l.lockId)}  ${String(l.link).padEnd(10)} ${String(l.model).padEnd(9)} fw ${String(l.firmware).padEnd(6)} battery ${String(l.battery).padStart(3)}%  ${l.paired ? "paired  " : "unpaired"}  events ${String(l.eventHead).padStart(4)}${faults.length ? `  FAULTS: ${faults.join(",")}` : ""}`;
      });
      print(json, r, `${r.name}\n${lines.join("\n")}`);
      return EXIT.ok;
    }
    case "show": {
      const [ref] = need(positionals, 1, "LOCK");
      const r = await client.show(ref!);
      print(json, r, JSON.stringify(r, null, 2));
      return EXIT.ok;
    }
    case "code": {
      const [ref, code] = need(positionals, 2, "LOCK and CODE");
      const r = await client.act(ref!, "code", { code: code! });
      print(json, r, accessText(r));
      return granted(r);
    }
    case "card": {
      const [ref, uid] = need(positionals, 2, "LOCK and UID");
      const r = await client.act(ref!, "card", { uid: uid! });
      print(json, r, accessText(r));
      return granted(r);
    }
    case "phone": {
      const [ref, key] = need(positionals, 2, "LOCK and PRIVATE_KEY");
      const privateKey = key!.startsWith("@") ? readFileSync(key!.slice(1), "utf8").trim() : key!;
      const r = await client.act(ref!, "phone", { privateKey });
      print(json, r, accessText(r));
      return granted(r);
    }
    case "open":
    case "close":
    case "pair-button": {
      const [ref] = need(positionals, 1, "LOCK");
      const r = await client.act(ref!, cmd);
      print(json, r, `${ref}: ${cmd === "pair-button" ? "pairing mode" : cmd === "open" ? "door open" : "door closed"}`);
      return EXIT.ok;
    }
    case "bolt": {
      const [ref, onOff] = need(positionals, 2, "LOCK and on|off");
      if (onOff !== "on" && onOff !== "off") throw new UsageError(`bolt: expected on or off, got "${onOff}"`);
      const r = await client.act(ref!, "bolt", { thrown: onOff === "on" });
      print(json, r, `${ref}: deadbolt ${onOff === "on" ? "thrown" : "retracted"}`);
      return EXIT.ok;
    }
    case "fault": {
      const [ref, fault, ...args] = need(positionals, 2, "LOCK and FAULT");
      if (!Object.hasOwn(FAULTS, fault!)) throw new UsageError(`unknown fault "${fault}"; one of: ${Object.keys(FAULTS).join(", ")}`);
      const r = await client.act(ref!, "fault", { fault: fault!, args });
      print(json, r, `${ref}: ${fault}${args.length ? ` ${args.join(" ")}` : ""} applied`);
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}
