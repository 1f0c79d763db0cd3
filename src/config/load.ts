/**
 * Config file (YAML or JSON) + environment -> validated Config.
 * Order of precedence: environment > file > defaults. Relative paths in the file are
 * relative to the file's directory; relative paths from the environment to the cwd.
 */
import { existsSync, readFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { LockBridgeError, errorMessage } from "../shared/errors.js";
import { didYouMean, knownKeys } from "../shared/did-you-mean.js";
import { configSchema, type Config } from "./schema.js";

export interface ConfigIssue {
  /** Dotted config path ("mqtt.tls.ca"), or the file itself, or an env var. */
  path: string;
  message: string;
}

export class ConfigError extends LockBridgeError {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super("config_invalid", issues.map((i) => `${i.path}: ${i.message}`).join("\n"), issues[0]?.path);
  }
}

type EnvParse = "string" | "path" | "int" | "bool";
/** Environment overrides: variable -> config path. Empty values count as unset (systemd env files). */
export const ENV_OVERRIDES: readonly { name: string; path: readonly string[]; parse: EnvParse }[] = [
  { name: "LOCKBRIDGE_HUB_ID", path: ["hubId"], parse: "string" },
  { name: "LOCKBRIDGE_DATA_DIR", path: ["dataDir"], parse: "path" },
  { name: "LOCKBRIDGE_PROFILES_DIR", path: ["profilesDir"], parse: "path" },
  { name: "LOCKBRIDGE_LOG_LEVEL", path: ["log", "level"], parse: "string" },
  { name: "LOCKBRIDGE_MQTT_URL", path: ["mqtt", "url"], parse: "string" },
  { name: "LOCKBRIDGE_MQTT_TOPIC_PREFIX", path: ["mqtt", "topicPrefix"], parse: "string" },
  { name: "LOCKBRIDGE_MQTT_USERNAME", path: ["mqtt", "username"], parse: "string" },
  { name: "LOCKBRIDGE_MQTT_PASSWORD", path: ["mqtt", "password"], parse: "string" },
  { name: "LOCKBRIDGE_MQTT_EMBEDDED_PORT", path: ["mqtt", "embedded", "port"], parse: "int" },
  { name: "LOCKBRIDGE_MQTT_PROTOCOL_VERSION", path: ["mqtt", "protocolVersion"], parse: "int" },
  { name: "LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY", path: ["cloud", "commandPublicKey"], parse: "string" },
  { name: "LOCKBRIDGE_CLOUD_ALLOW_UNSIGNED_COMMANDS", path: ["cloud", "allowUnsignedCommands"], parse: "bool" },
  { name: "LOCKBRIDGE_OUTBOX_MAX_EVENTS", path: ["outbox", "maxEvents"], parse: "int" },
  { name: "LOCKBRIDGE_BLE_ENABLED", path: ["ble", "enabled"], parse: "bool" },
  { name: "LOCKBRIDGE_BLE_PROXY", path: ["ble", "proxy"], parse: "string" },
  { name: "LOCKBRIDGE_FIRMWARE_ALLOW_HTTP", path: ["firmware", "allowHttp"], parse: "bool" },
  { name: "LOCKBRIDGE_FIRMWARE_BLE_TRANSFERS", path: ["firmware", "bleTransfersPerAdapter"], parse: "int" },
  { name: "LOCKBRIDGE_API_ENABLED", path: ["api", "enabled"], parse: "bool" },
  { name: "LOCKBRIDGE_API_BIND", path: ["api", "bind"], parse: "string" },
  { name: "LOCKBRIDGE_API_PORT", path: ["api", "port"], parse: "int" },
  { name: "LOCKBRIDGE_API_TOKEN_FILE", path: ["api", "tokenFile"], parse: "path" },
];

/** Config fields holding file system paths, resolved against the file's directory. */
const PATH_FIELDS: readonly (readonly string[])[] = [
  ["dataDir"],
  ["profilesDir"],
  ["mqtt", "tls", "ca"],
  ["mqtt", "tls", "cert"],
  ["mqtt", "tls", "key"],
  ["api", "tokenFile"],
];

export interface LoadConfigOptions {
  /** Config file; when omitted, env LOCKBRIDGE_CONFIG; when neither, defaults + env only. */
  file?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  hostname?: string;
  /** The hub id when neither the file nor the environment sets one (the demo's); default hub-<hostname>. */
  defaultHubId?: string;
}

type Raw = Record<string, unknown>;

export function loadConfig(options: LoadConfigOptions): Config {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env;
  const fileOption = options.file ?? nonEmpty(env.LOCKBRIDGE_CONFIG);
  const file = fileOption === undefined ? undefined : resolve(cwd, fileOption);

  const raw: Raw = file === undefined ? {} : readConfigFile(file);
  if (file !== undefined) resolvePaths(raw, PATH_FIELDS, dirname(file));

  const issues: ConfigIssue[] = [];
  const fromEnv = new Map<string, string>();
  for (const o of ENV_OVERRIDES) {
    const text = nonEmpty(env[o.name]);
    if (text === undefined) continue;
    const value = parseEnv(text, o.parse, cwd);
    if (value === undefined) {
      issues.push({ path: `${o.name} (${o.path.join(".")})`, message: `expected ${o.parse === "int" ? "an integer" : "true or false"}, got "${text}"` });
      continue;
    }
    setPath(raw, o.path, value);
    fromEnv.set(o.path.join("."), o.name);
  }
  if (issues.length > 0) throw new ConfigError(issues);

  issues.push(...explicitConflicts(raw, fromEnv));
  raw.hubId ??= options.defaultHubId ?? defaultHubId(options.hostname ?? osHostname());
  raw.dataDir ??= resolve(cwd, firstStateDirectory(env) ?? ".data");
  raw.profilesDir ??= join(packageRoot(), "device-profiles");

  const result = configSchema.safeParse(raw);
  // Every problem at once: the schema's and the conflicts between explicitly set keys.
  if (!result.success || issues.length > 0) throw new ConfigError([...(result.success ? [] : result.error.issues.map((i) => describeIssue(i, fromEnv))), ...issues]);
  return result.data;
}

/** Keys that make no sense together when both are set (defaults do not count). */
function explicitConflicts(raw: Raw, fromEnv: ReadonlyMap<string, string>): ConfigIssue[] {
  const mqtt = raw.mqtt as Raw | undefined;
  const embedded = mqtt?.embedded as Raw | undefined;
  if (mqtt?.url === undefined || embedded?.port === undefined) return [];
  const env = fromEnv.get("mqtt.embedded.port");
  return [{ path: `mqtt.embedded.port${env ? ` (from ${env})` : ""}`, message: "only applies without mqtt.url (the hub then runs its own broker); remove one of the two" }];
}

function readConfigFile(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : errorMessage(e);
    throw new ConfigError([{ path: file, message: `cannot read the config file: ${reason}` }]);
  }
  let parsed: unknown;
  const json = extname(file).toLowerCase() === ".json";
  try {
    parsed = json ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError([{ path: file, message: `expected valid ${json ? "JSON" : "YAML"}: ${errorMessage(e)}` }]);
  }
  if (parsed === null || parsed === undefined) return {}; // an empty file means "all defaults"
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError([{ path: file, message: "expected a mapping (key: value) at the top level" }]);
  }
  return dropNulls(parsed as Raw);
}

/** A key left empty in YAML (`cloud:` with every child commented out) means "the default". */
function dropNulls(raw: Raw): Raw {
  for (const [key, value] of Object.entries(raw)) {
    if (value === null) delete raw[key];
    else if (typeof value === "object" && !Array.isArray(value)) dropNulls(value as Raw);
  }
  return raw;
}

function describeIssue(issue: z.core.$ZodIssue, fromEnv: ReadonlyMap<string, string>): ConfigIssue {
  const dotted = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    const at = dotted === "" ? "" : `${dotted}.`;
    // A key with no name is shown quoted, so the path still says where.
    const keys = issue.keys.map((k) => (k === "" ? '""' : k));
    const known = knownKeys(configSchema, issue.path);
    const guesses = issue.keys.map((k) => didYouMean(k, known)).filter((g): g is string => g !== undefined);
    const hint = guesses.length > 0 ? ` (did you mean ${guesses.map((g) => `"${at}${g}"`).join(", ")}?)` : "";
    return { path: `${at}${keys.join(`, ${at}`)}`, message: `unknown key${issue.keys.length > 1 ? "s" : ""}${hint}` };
  }
  const envName = fromEnv.get(dotted);
  return { path: envName === undefined ? dotted || "(top level)" : `${dotted} (from ${envName})`, message: issue.message };
}

function parseEnv(text: string, parse: EnvParse, cwd: string): unknown {
  switch (parse) {
    case "string":
      return text;
    case "path":
      return resolve(cwd, text);
    case "int":
      return /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
    case "bool": {
      const t = text.trim().toLowerCase();
      return ["true", "1", "yes"].includes(t) ? true : ["false", "0", "no"].includes(t) ? false : undefined;
    }
  }
}

function resolvePaths(raw: Raw, fields: readonly (readonly string[])[], base: string): void {
  for (const path of fields) {
    const parent = getParent(raw, path);
    const leaf = path[path.length - 1]!;
    const value = parent?.[leaf];
    if (parent && typeof value === "string" && value !== "" && !isAbsolute(value)) parent[leaf] = resolve(base, value);
  }
}

function getParent(raw: Raw, path: readonly string[]): Raw | undefined {
  let node: unknown = raw;
  for (const part of path.slice(0, -1)) {
    if (node === null || typeof node !== "object" || Array.isArray(node)) return undefined;
    node = (node as Raw)[part];
  }
  return node !== null && typeof node === "object" && !Array.isArray(node) ? (node as Raw) : undefined;
}

/** Sets a value, creating mappings on the way; a non-mapping in the way is left for the schema to report. */
function setPath(raw: Raw, path: readonly string[], value: unknown): void {
  let node = raw;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (next === undefined) node[part] = {};
    else if (next === null || typeof next !== "object" || Array.isArray(next)) return;
    node = node[part] as Raw;
  }
  node[path[path.length - 1]!] = value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/** systemd's StateDirectory= sets STATE_DIRECTORY (colon-separated when several). */
function firstStateDirectory(env: LoadConfigOptions["env"]): string | undefined {
  return nonEmpty(env.STATE_DIRECTORY?.split(":")[0]);
}

/** The demo hub's id, the same for `npm start`, `ctl` on the embedded broker and the README. */
export const DEMO_HUB_ID = "demo-hub";

export function defaultHubId(host: string): string {
  const clean = host.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "");
  return `hub-${clean || "local"}`.slice(0, 64);
}

/** The package root (where package.json is), from source or from dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}
