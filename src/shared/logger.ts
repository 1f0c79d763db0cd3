/**
 * The hub's logger. Secrets are redacted by construction: every field whose NAME is a
 * secret (door code, keycard UID, link key, private key, password...) is censored at
 * any depth up to REDACT_DEPTH, whatever the module that logs it. Nobody has to remember.
 *
 * `code` is special: door codes live in `doorCode.code`, but error objects carry a
 * `code` too ("lock_timeout", "ECONNREFUSED") that operators need. The censor keeps a
 * `code` only when it is a known error code and hides everything else (fail closed).
 */
import { pino, type DestinationStream, type Level, type Logger } from "pino";
import { createRequire } from "node:module";
import type PinoPretty from "pino-pretty";
import { CONTRACT_ERROR_CODES, INTERNAL_ERROR_CODES } from "./errors.js";

export type { Logger } from "pino";
export type LogLevel = Level | "silent";
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const satisfies readonly LogLevel[];

/** Field names whose value is a secret wherever they appear. */
export const SECRET_FIELDS = [
  "code",
  "doorCode",
  "pin",
  "uid",
  "linkKey",
  "setupKey",
  "sessionKey",
  "privateKey",
  "password",
  "passphrase",
  "secret",
  "token",
  "authorization",
] as const;

/** Objects nested deeper than this are not inspected; keep log payloads shallower. */
export const REDACT_DEPTH = 6;
export const REDACTED = "[redacted]";

const KNOWN_ERROR_CODES: ReadonlySet<string> = new Set<string>([...CONTRACT_ERROR_CODES, ...INTERNAL_ERROR_CODES]);
/** Node/libuv error codes: ECONNREFUSED, ERR_INVALID_ARG_TYPE, ... */
const NODE_ERROR_CODE = /^(E[A-Z0-9]+|ERR_[A-Z0-9_]+)$/;

function redactPaths(): string[] {
  const paths: string[] = [];
  for (let depth = 0; depth <= REDACT_DEPTH; depth++) {
    const prefix = "*.".repeat(depth);
    for (const field of SECRET_FIELDS) paths.push(prefix + field);
  }
  return paths;
}

function censor(value: unknown, path: string[]): unknown {
  const field = path[path.length - 1];
  if (field === "code" && typeof value === "string" && (KNOWN_ERROR_CODES.has(value) || NODE_ERROR_CODE.test(value))) {
    return value;
  }
  // A door-code request/status object ({enabled, code}) keeps its shape; only the secret goes.
  if (field === "doorCode" && value !== null && typeof value === "object" && !Array.isArray(value)) {
    return "code" in value ? { ...value, code: REDACTED } : value;
  }
  return REDACTED;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Where JSON lines go; stdout when omitted. */
  destination?: DestinationStream | undefined;
  /** Bound to every line, e.g. {hubId}. */
  base?: Record<string, unknown> | undefined;
  /** Readable coloured lines (pino-pretty) instead of JSON: for a person at a terminal. */
  pretty?: boolean | undefined;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: options.base ?? null,
      redact: { paths: redactPaths(), censor },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? (options.pretty ? prettyStream() : pino.destination({ fd: 1, sync: true })),
  );
}

/** Same content as the JSON lines, secrets already censored; time of day only, no hub id (it is one hub). */
function prettyStream(): DestinationStream {
  // Loaded only for a terminal: a hub under systemd logs JSON and never needs it (about 2 MB
  // of RSS on a Pi: docs/performance.md). require, not import(): the logger is built synchronously.
  const pinoPretty = createRequire(import.meta.url)("pino-pretty") as typeof PinoPretty;
  return pinoPretty({ colorize: true, sync: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,hubId", singleLine: true });
}

/** Logs for a person when stdout is a terminal, JSON for systemd's journal and pipes. */
export function wantsPrettyLogs(stream: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.LOCKBRIDGE_LOG_FORMAT === "json") return false;
  if (env.LOCKBRIDGE_LOG_FORMAT === "pretty") return true;
  return stream.isTTY === true && env.JOURNAL_STREAM === undefined;
}
