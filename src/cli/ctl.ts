/**
 * `lockbridge ctl`: speaks the MQTT contract as the cloud would, for installers and
 * developers. Output is JSON lines on stdout; diagnostics go to stderr.
 *
 *   lockbridge ctl send <cmd> [--json '{...}'] [--id ID] [--no-wait] [--timeout S] [--sign-key FILE]
 *   lockbridge ctl watch [events|status|state|responses|all ...] [--count N] [--timeout S]
 *
 * Broker options (defaults from the hub's config file and environment, so on the hub itself
 * no option is needed): --url, --hub, --prefix, --protocol 4|5, --ca, --cert, --key,
 * --insecure, --username, --password (or LOCKBRIDGE_CTL_PASSWORD), --config FILE.
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { signCommand, signingKeyFrom, SIGNING_KEY_ENV } from "../cloud/signing.js";
import { CloudClient, type CloudClientOptions, type ReceivedMessage } from "../cloud/ctl-client.js";
import { COMMAND_NAMES, SIGNED_COMMANDS, type CommandName } from "../cloud/schemas.js";
import { brokerUrl, ConfigError, DEMO_HUB_ID, loadConfig, type Config } from "../config/index.js";
import { errorMessage } from "../shared/errors.js";
import { hubAnswers } from "./ctl-hub-check.js";
import { EXIT } from "./exit-codes.js";

const USAGE = `Usage:
  lockbridge ctl send <cmd> [--json '{...}'] [--id ID] [--no-wait] [--timeout S] [--sign-key FILE]
  lockbridge ctl watch [events|status|state|responses|all ...] [--count N] [--timeout S]

--sign-key FILE (or ${SIGNING_KEY_ENV}: a PEM file path or the PEM itself) is the cloud's
Ed25519 private key: every command sent is signed with it (the hub needs a signature on
every command that changes state when it has the cloud's command key).

Sends a command of the MQTT contract and prints the hub's response (one JSON line; exit 0
when ok, 1 when the hub refused it or did not answer), or prints what the hub publishes.
id and ts are filled in unless given in --json.

Broker options (default: the hub's own config and environment):
  --url URL          mqtt://, mqtts://, ws://, wss:// broker URL
  --hub ID           hub id (topics lockbridge/v1/<hub>/...)
  --prefix P         topic prefix (default lockbridge)
  --protocol 4|5     MQTT 3.1.1 or 5 (default 5; 4 for the embedded broker)
  --ca FILE --cert FILE --key FILE   TLS: pinned CA, client certificate and key
  --insecure         do not verify the broker's certificate (testing only)
  --username U --password P          (or LOCKBRIDGE_CTL_PASSWORD)
  --config FILE      the hub config to take defaults from

Commands: ${COMMAND_NAMES.join(", ")}
`;

const OPTIONS = {
  url: { type: "string" },
  hub: { type: "string" },
  prefix: { type: "string" },
  protocol: { type: "string" },
  ca: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  insecure: { type: "boolean" },
  username: { type: "string" },
  password: { type: "string" },
  config: { type: "string" },
  json: { type: "string" },
  id: { type: "string" },
  "no-wait": { type: "boolean" },
  wait: { type: "boolean" },
  timeout: { type: "string" },
  "sign-key": { type: "string" },
  count: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

class CtlUsage extends Error {}

export async function runCtl(argv: string[]): Promise<number> {
  try {
    return await ctl(argv);
  } catch (e) {
    if (e instanceof CtlUsage) {
      process.stderr.write(`lockbridge ctl: ${e.message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`lockbridge ctl: invalid configuration\n${e.issues.map((i) => `  ${i.path}: ${i.message}\n`).join("")}`);
      return EXIT.badConfig;
    }
    process.stderr.write(`lockbridge ctl: ${errorMessage(e)}\n`);
    return EXIT.failure;
  }
}

async function ctl(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CtlUsage(errorMessage(e).split("\n")[0]!);
  }
  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (values.help || sub === "help") {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (sub === "send") return send(rest, values);
  if (sub === "watch") return watch(rest, values);
  throw new CtlUsage(sub === undefined ? "missing sub-command (send or watch)" : `unknown sub-command "${sub}"`);
}

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>["values"];

/** Broker settings: command line over the hub's config (file + environment) over defaults. */
function clientOptions(values: Values): CloudClientOptions {
  let config: Config | undefined;
  const needConfig = values.url === undefined || values.hub === undefined;
  if (needConfig || values.config !== undefined) config = loadConfig({ file: values.config, env: process.env });
  // On the embedded (demo) broker the hub is the demo's unless configured otherwise.
  if (config?.mqtt.url === undefined && values.url === undefined) config = loadConfig({ file: values.config, env: process.env, defaultHubId: DEMO_HUB_ID });
  const url = values.url ?? brokerUrl(config!);
  const protocol = values.protocol ?? (values.url === undefined && config?.mqtt.url === undefined ? "4" : String(config?.mqtt.protocolVersion ?? 5));
  if (protocol !== "4" && protocol !== "5") throw new CtlUsage(`--protocol: expected 4 or 5, got "${protocol}"`);
  const tlsCa = values.ca ?? config?.mqtt.tls?.ca;
  const tlsCert = values.cert ?? config?.mqtt.tls?.cert;
  const tlsKey = values.key ?? config?.mqtt.tls?.key;
  const password = values.password ?? process.env.LOCKBRIDGE_CTL_PASSWORD;
  const username = values.username;
  const tls = tlsCa !== undefined || tlsCert !== undefined || tlsKey !== undefined || values.insecure ? { ca: tlsCa, cert: tlsCert, key: tlsKey, insecure: values.insecure === true } : undefined;
  return {
    url,
    hubId: values.hub ?? config!.hubId,
    prefix: values.prefix ?? config?.mqtt.topicPrefix ?? "lockbridge",
    protocolVersion: protocol === "4" ? 4 : 5,
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
    ...(tls && { tls: Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined)) as CloudClientOptions["tls"] }),
  };
}

function seconds(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CtlUsage(`--${name}: expected a positive number of seconds, got "${value}"`);
  return n;
}

async function send(args: string[], values: Values): Promise<number> {
  const [cmd, ...extra] = args;
  if (cmd === undefined) throw new CtlUsage("send: missing the command name");
  if (extra.length > 0) throw new CtlUsage(`send: unexpected argument "${extra[0]}" (params go in --json)`);
  if (!(COMMAND_NAMES as string[]).includes(cmd)) process.stderr.write(`lockbridge ctl: warning: "${cmd}" is not a command of the contract; sending it anyway\n`);
  let params: Record<string, unknown> = {};
  if (values.json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(values.json);
    } catch (e) {
      throw new CtlUsage(`--json: not valid JSON (${errorMessage(e)})`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new CtlUsage("--json: expected a JSON object");
    params = parsed as Record<string, unknown>;
  }
  let command: Record<string, unknown> = { id: values.id ?? params.id ?? randomUUID(), cmd, ts: params.ts ?? new Date().toISOString(), ...params, ...(values.id !== undefined && { id: values.id }) };
  const key = signingKeyFrom(values["sign-key"], process.env);
  if (key) command = signCommand(command, key);
  else if (SIGNED_COMMANDS.has(cmd as CommandName)) {
    process.stderr.write(`lockbridge ctl: note: ${cmd} must be signed when the hub has a cloud command key (--sign-key FILE or ${SIGNING_KEY_ENV})\n`);
  }
  const wait = values["no-wait"] !== true;
  const timeoutMs = seconds(values.timeout, "timeout", 30) * 1000;
  const options = clientOptions(values);
  const client = await CloudClient.connect(options);
  try {
    if (wait && !(await hubAnswers(client, options))) return EXIT.failure;
    const response = await client.send(command, { wait, timeoutMs });
    if (!wait) {
      process.stdout.write(`${JSON.stringify({ published: command.id, cmd })}\n`);
      return EXIT.ok;
    }
    process.stdout.write(`${JSON.stringify(response)}\n`);
    return response?.ok ? EXIT.ok : EXIT.failure;
  } finally {
    await client.close();
  }
}

const WATCH_KINDS = ["events", "status", "state", "responses", "all"] as const;

async function watch(args: string[], values: Values): Promise<number> {
  const kinds = args.length === 0 ? ["events"] : args;
  for (const k of kinds) if (!(WATCH_KINDS as readonly string[]).includes(k)) throw new CtlUsage(`watch: expected ${WATCH_KINDS.join(", ")}, got "${k}"`);
  const count = values.count === undefined ? undefined : Number(values.count);
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new CtlUsage(`--count: expected a positive integer, got "${values.count}"`);
  const timeoutMs = values.timeout === undefined ? undefined : seconds(values.timeout, "timeout", 0) * 1000;
  const client = await CloudClient.connect(clientOptions(values));
  const t = client.topics;
  const all = kinds.includes("all");
  const topics = [
    ...(all || kinds.includes("events") ? [t.evt] : []),
    ...(all || kinds.includes("status") ? [t.keyStatusAll, t.lockStatusAll] : []),
    ...(all || kinds.includes("state") ? [t.state] : []),
    ...(all || kinds.includes("responses") ? [t.res] : []),
  ];
  let seen = 0;
  return new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      void client.close().finally(() => resolve(code));
    };
    client.onMessage((m: ReceivedMessage) => {
      if (done || !topics.some((topic) => matches(topic, m.topic))) return;
      process.stdout.write(`${JSON.stringify({ topic: m.topic, retained: m.retained, payload: m.payload })}\n`);
      if (count !== undefined && ++seen >= count) finish(EXIT.ok);
    });
    // unref: once finished, a pending timer must not keep the process alive.
    if (timeoutMs !== undefined) setTimeout(() => finish(count === undefined ? EXIT.ok : EXIT.failure), timeoutMs).unref();
    process.once("SIGINT", () => finish(EXIT.ok));
    process.once("SIGTERM", () => finish(EXIT.ok));
    client.watch(topics).then(
      () => process.stderr.write(`lockbridge ctl: watching ${topics.join(" ")}\n`),
      (e: unknown) => {
        process.stderr.write(`lockbridge ctl: subscribe failed: ${errorMessage(e)}\n`);
        finish(EXIT.failure);
      },
    );
  });
}

/** MQTT topic filter match (+ and # wildcards). */
function matches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
