/**
 * The configuration file's schema. Every field names its expected form in its error,
 * and every object is strict so that a misspelt key is an error, not a silent default.
 * Context-dependent defaults (hubId, dataDir, profilesDir) are filled in by load.ts
 * before parsing; the static ones live here.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { z } from "zod";
import { LOG_LEVELS } from "../shared/logger.js";

/** An MQTT topic segment: no '/', no wildcards. */
export const HUB_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const TOPIC_PREFIX_PATTERN = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
export const MQTT_PROTOCOLS = ["mqtt:", "mqtts:", "ws:", "wss:"] as const;

const pathString = (what: string) =>
  z.string({ error: `expected ${what} path string` }).min(1, { error: `expected ${what} path string (empty)` });

/** A file that must exist and be readable when the hub starts (TLS material). */
const readableFile = pathString("a file").superRefine((file, ctx) => {
  try {
    if (!statSync(file).isFile()) ctx.addIssue({ code: "custom", message: `expected a readable file, ${file} is not a file` });
    else readFileSync(file);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "is not readable";
    ctx.addIssue({ code: "custom", message: `expected a readable file, ${file} ${reason}` });
  }
});

/**
 * TLS material: readable, and parsed (every certificate of a CA bundle, or the private key),
 * so a garbage file is refused by `config check` and at start, not at the first TLS handshake.
 */
const pemFile = (kind: "certificate" | "private key") =>
  readableFile.superRefine((file, ctx) => {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return; // readableFile reported it
    }
    try {
      if (kind === "private key") {
        createPrivateKey(text);
        return;
      }
      const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
      if (blocks.length === 0) throw new Error("no BEGIN CERTIFICATE block");
      for (const b of blocks) new X509Certificate(b);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: `expected a PEM ${kind} file, ${file} does not parse as one (${e instanceof Error ? e.message.slice(0, 80) : "unreadable"})` });
    }
  });

const mqttUrl = z.string({ error: "expected an mqtt://, mqtts://, ws:// or wss:// URL string" }).superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: "custom", message: `expected an mqtt://, mqtts://, ws:// or wss:// URL, got "${value}"` });
    return;
  }
  if (!(MQTT_PROTOCOLS as readonly string[]).includes(url.protocol) || url.hostname === "") {
    ctx.addIssue({ code: "custom", message: `expected an mqtt://, mqtts://, ws:// or wss:// URL with a host, got "${url.protocol}//${url.host}"` });
  }
});

const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const KEY_FORMS = "expected an Ed25519 public key: base64 (32 raw bytes or SPKI DER), inline PEM, or a PEM file path";

/** Normalises the cloud's command key to SPKI PEM, so consumers call createPublicKey(pem). */
const commandPublicKey = z.string({ error: KEY_FORMS }).transform((value, ctx) => {
  const text = value.trim();
  let source: string | Buffer = text;
  if (!text.includes("-----BEGIN") && /^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    const raw = Buffer.from(text, "base64");
    if (raw.length === 32) source = Buffer.concat([ED25519_SPKI_PREFIX, raw]);
    else if (raw.length === 44) source = raw;
  }
  if (typeof source === "string" && !source.includes("-----BEGIN")) {
    try {
      source = readFileSync(source, "utf8");
    } catch {
      ctx.addIssue({ code: "custom", message: `${KEY_FORMS}; "${text}" is none of these (no such file)` });
      return z.NEVER;
    }
  }
  try {
    const key =
      typeof source === "string" ? createPublicKey(source) : createPublicKey({ key: source, format: "der", type: "spki" });
    if (key.asymmetricKeyType !== "ed25519") {
      ctx.addIssue({ code: "custom", message: `${KEY_FORMS}; got a ${key.asymmetricKeyType ?? "unknown"} key` });
      return z.NEVER;
    }
    return key.export({ format: "pem", type: "spki" }).toString();
  } catch {
    ctx.addIssue({ code: "custom", message: `${KEY_FORMS}; the value does not parse as a public key` });
    return z.NEVER;
  }
});

const int = (min: number, max: number) =>
  z
    .number({ error: `expected an integer ${min}..${max}` })
    .int({ error: `expected an integer ${min}..${max}` })
    .min(min, { error: `expected an integer ${min}..${max}` })
    .max(max, { error: `expected an integer ${min}..${max}` });
const bool = z.boolean({ error: "expected true or false" });
const section = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.strictObject(shape, { error: "expected a mapping (key: value)" });

const bleProxy = z
  .string({ error: 'expected "host:port" of a BLE proxy' })
  .transform((value, ctx) => {
    const m = /^\[?([^\]\s]+?)\]?:(\d{1,5})$/.exec(value);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) {
      ctx.addIssue({ code: "custom", message: `expected "host:port" of a BLE proxy (port 1..65535), got "${value}"` });
      return z.NEVER;
    }
    return { host: m[1]!, port };
  });

/** An IPv4/IPv6 literal the local API binds to (a host name could resolve to anything). */
const bindAddress = z
  .string({ error: "expected an IP address to bind to (127.0.0.1, 0.0.0.0, ::1, a LAN address)" })
  .refine((v) => isIP(v) !== 0, { error: "expected an IP address to bind to (127.0.0.1, 0.0.0.0, ::1, a LAN address), not a host name" });

export const configSchema = section({
  /** This hub's name in MQTT topics: lockbridge/v1/{hubId}/... */
  hubId: z
    .string({ error: "expected a hub id string" })
    .regex(HUB_ID_PATTERN, { error: "expected 1..64 characters of A-Z a-z 0-9 . _ - (it is an MQTT topic segment)" }),
  dataDir: pathString("a directory"),
  profilesDir: pathString("a directory"),
  log: section({
    level: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(", ")}` }).default("info"),
  }).prefault({}),
  mqtt: section({
    /** Unset: the hub runs its own broker on 127.0.0.1 (development and demos). */
    url: mqttUrl.optional(),
    topicPrefix: z
      .string({ error: "expected a topic prefix string" })
      .regex(TOPIC_PREFIX_PATTERN, { error: "expected topic segments of A-Z a-z 0-9 . _ - separated by '/', no wildcards" })
      .default("lockbridge"),
    username: z.string({ error: "expected a user name string" }).optional(),
    password: z.string({ error: "expected a password string" }).optional(),
    tls: section({
      ca: pemFile("certificate").optional(),
      cert: pemFile("certificate").optional(),
      key: pemFile("private key").optional(),
      rejectUnauthorized: bool.default(true),
    }).optional(),
    /** MQTT protocol level: 5 (default with mqtt.url) or 4 (3.1.1). The embedded broker speaks 3.1.1 only. */
    protocolVersion: z.union([z.literal(4), z.literal(5)], { error: "expected 4 (MQTT 3.1.1) or 5 (MQTT 5)" }).optional(),
    embedded: section({
      /** The embedded broker listens on 127.0.0.1 only: it has no authentication. 0 = any free port. */
      port: int(0, 65535).default(1883),
    }).prefault({}),
  })
    .prefault({})
    .superRefine((mqtt, ctx) => {
      if (mqtt.tls && (mqtt.tls.cert === undefined) !== (mqtt.tls.key === undefined)) {
        const missing = mqtt.tls.cert === undefined ? "cert" : "key";
        ctx.addIssue({ code: "custom", path: ["tls", missing], message: "expected a file path string: tls.cert and tls.key go together" });
      }
      if (mqtt.url === undefined) {
        for (const field of ["tls", "username", "password", "protocolVersion"] as const) {
          if (mqtt[field] !== undefined) {
            ctx.addIssue({ code: "custom", path: [field], message: "only applies with mqtt.url set (the embedded broker is plain TCP on 127.0.0.1)" });
          }
        }
      }
    }),
  cloud: section({
    /** The cloud's Ed25519 key that signs every state-changing command (mqtt-api.md §3). */
    commandPublicKey: commandPublicKey.optional(),
    /**
     * Without a command key the hub refuses to start on a broker other than its embedded demo
     * one; true accepts unsigned commands there knowingly (a warning is logged at every start).
     */
    allowUnsignedCommands: bool.default(false),
  }).prefault({}),
  outbox: section({
    /** Bound on the local event backlog; beyond it the oldest go, with hub.events_dropped. */
    maxEvents: int(1000, 10_000_000).default(100_000),
  }).prefault({}),
  /** The local API (src/api): CLI, metrics scraper, systemd health checks, web console. */
  api: section({
    enabled: bool.default(true),
    /** Loopback by default; a LAN address exposes it (the installer token is then needed for every request). */
    bind: bindAddress.default("127.0.0.1"),
    port: int(0, 65535).default(8620),
    /** The installer token (created 0600 on first start when missing). Default: <dataDir>/installer-token. */
    tokenFile: pathString("a file").optional(),
    /** Host names the API answers to besides its address, localhost and the loopback addresses (DNS-rebinding guard). */
    allowedHosts: z.array(z.string({ error: "expected a host name string" }).regex(/^[A-Za-z0-9.-]{1,253}$/, { error: "expected a host name" }), { error: "expected a list of host names" }).max(16).default([]),
  }).prefault({}),
  ble: section({
    enabled: bool.default(true),
    maxConnections: int(1, 16).default(3),
    /**
     * A BLE proxy reached over TCP ("host:port", like ESPHome's Bluetooth proxies; the
     * simulator serves one). Unset: the hub's own adapter through noble.
     */
    proxy: bleProxy.optional(),
  }).prefault({}),
  /** Firmware updates (docs/firmware.md). */
  firmware: section({
    /** Accept http:// image URLs (tests, a lab); otherwise firmware.update needs https://. */
    allowHttp: bool.default(false),
    /** Firmware transfers at once per BLE adapter (serial and TCP buses: always one). */
    bleTransfersPerAdapter: int(1, 16).default(1),
  }).prefault({}),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
