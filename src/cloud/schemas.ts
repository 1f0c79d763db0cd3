/**
 * Every command of the MQTT contract (mqtt-api.md §3) as a zod schema. The schema is the
 * single source of the command's TypeScript type (z.output) and of its validation; the API
 * document's examples are parsed through these schemas by a test.
 *
 * Choices where the contract is silent (documented in docs/mqtt-api.md):
 * - Unknown fields are refused (`invalid_payload` naming the field): a misspelt optional
 *   flag must not silently fall back to its default on a door lock.
 * - Entity ids (keyId, doorId, cardId, snapshotId, jobId) are 1..128 characters without
 *   '/', '+', '#' or NUL, because keyId and lockId are MQTT topic segments.
 * - Every string is bounded (mqtt-api.md §3 "Size limits"): command id and cmd 64; entity ids
 *   128 as in v1.0 (the contract bounds only `id` and `cmd`, and ids the cloud already uses must
 *   still fit); names and labels 200, free text 1,000, URLs 2,048; error messages quote at most
 *   64 characters of the input.
 * - lockId is the lock's 8-byte id as 16 hex digits (lock-link-protocol.md), lower-cased.
 */
import { z } from "zod";
import { describeIssues } from "./issues.js";
import { isValidTimeZone } from "../access/timezone.js";
import { isTopicSafeId } from "./topics.js";

// ---------------------------------------------------------------- building blocks

const str = (what: string) => z.string({ error: `expected ${what}` });

/** Longest entity id (keyId, doorId...): they are MQTT topic segments and appear in messages. */
export const MAX_ID_LENGTH = 128;
export const MAX_NAME_LENGTH = 200;
export const MAX_TEXT_LENGTH = 1000;
/**
 * Largest firmware image a firmware.update may announce (hub-wide; device profiles carry no
 * image size): the hub holds one image in memory while it updates the locks.
 */
export const MAX_FIRMWARE_BYTES = 16 * 1024 * 1024;
/** An error message never quotes more than this much of what it received. */
export const MAX_ECHO_LENGTH = 64;

/** A received value as an error message may quote it: at most MAX_ECHO_LENGTH characters. */
export function echo(value: string): string {
  return value.length <= MAX_ECHO_LENGTH ? value : `${value.slice(0, MAX_ECHO_LENGTH)}…`;
}

const bounded = (what: string, max: number) => str(what).max(max, { error: `expected ${what} (at most ${max} characters)` });

export const commandIdSchema = str("a command id string of 1..64 characters")
  .min(1, { error: "expected a command id string of 1..64 characters" })
  .max(64, { error: "expected a command id string of 1..64 characters" });

const entityId = (what: string) =>
  str(`a ${what} string`)
    .min(1, { error: `expected a ${what} string of 1..${MAX_ID_LENGTH} characters` })
    .max(MAX_ID_LENGTH, { error: `expected a ${what} string of 1..${MAX_ID_LENGTH} characters` })
    .refine(isTopicSafeId, { error: `expected a ${what} without '/', '+', '#' or NUL (it is an MQTT topic segment)` });

export const keyIdSchema = entityId("keyId");
export const doorIdSchema = entityId("doorId");
export const cardIdSchema = entityId("cardId");

/** Case-insensitive on input; lower-case inside the hub, like the LLP codec's IDENT lockId. */
export const lockIdSchema = bounded("a lockId of 16 hex digits", 16)
  .regex(/^[0-9A-Fa-f]{16}$/, { error: "expected a lockId of 16 hex digits" })
  .transform((s) => s.toLowerCase());

/** An ISO-8601 UTC instant, e.g. 2026-12-01T14:00:00Z (fractional seconds allowed). */
export const instantSchema = z.iso.datetime({ error: "expected an ISO-8601 UTC instant such as 2026-12-01T14:00:00Z" });

const localDate = bounded("a local date YYYY-MM-DD", 10).refine(
  (s) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    if (!m) return false;
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
  },
  { error: "expected a local date YYYY-MM-DD" },
);

const localTime = bounded("a local time HH:MM", 5).regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: "expected a local time HH:MM (00:00..23:59)" });

const bool = z.boolean({ error: "expected true or false" });

const int = (min: number, max: number) =>
  z
    .number({ error: `expected an integer ${min}..${max}` })
    .int({ error: `expected an integer ${min}..${max}` })
    .min(min, { error: `expected an integer ${min}..${max}` })
    .max(max, { error: `expected an integer ${min}..${max}` });

const timezone = bounded("an IANA time zone such as Europe/Prague", 64).refine(isValidTimeZone, {
  error: "expected an IANA time zone such as Europe/Prague",
});

const hex = (what: string, minBytes: number, maxBytes: number) =>
  bounded(`${what} as hex, ${minBytes}..${maxBytes} bytes`, 2 * maxBytes)
    .regex(new RegExp(`^([0-9A-Fa-f]{2}){${minBytes},${maxBytes}}$`), { error: `expected ${what} as hex, ${minBytes}..${maxBytes} bytes` })
    .transform((s) => s.toLowerCase());

const base64Bytes = (what: string, bytes: number) =>
  bounded(`${what} as base64 of ${bytes} bytes`, 4 * Math.ceil(bytes / 3)).refine(
    (s) => /^[A-Za-z0-9+/]+={0,2}$/.test(s) && Buffer.from(s, "base64").length === bytes,
    { error: `expected ${what} as base64 of ${bytes} bytes` },
  );

const sha256Hex = bounded("a SHA-256 as 64 hex digits", 64)
  .regex(/^[0-9A-Fa-f]{64}$/, { error: "expected a SHA-256 as 64 hex digits" })
  .transform((s) => s.toLowerCase());

const obj = <T extends z.core.$ZodLooseShape>(shape: T) => z.strictObject(shape, { error: "expected a JSON object" });
const list = <T extends z.ZodType>(item: T, what: string, max = 10_000) =>
  z.array(item, { error: `expected an array of ${what}` }).max(max, { error: `expected at most ${max} ${what}` });

// ---------------------------------------------------------------- the envelope

/** Fields every command may carry besides its params. */
export const envelopeShape = {
  id: commandIdSchema,
  cmd: bounded("a command name string", 64),
  ts: instantSchema,
  /** Not applied after this instant (`expired`). */
  expiresAt: instantSchema.optional(),
  /** Ed25519 signature, base64, over the canonical JSON without `sig` (signed commands). */
  sig: bounded("a base64 signature string", 128).optional(),
};

/** The envelope alone, read before the command is known: other fields pass through. */
export const envelopeSchema = z.looseObject(envelopeShape, { error: "expected a JSON object" });
export type Envelope = z.output<typeof envelopeSchema>;

// ---------------------------------------------------------------- shapes shared with sync.snapshot

export const siteShape = obj({
  siteId: entityId("siteId"),
  timezone,
  credentialTypes: obj({
    doorCode: bool.default(true),
    keycard: bool.default(true),
    smartKey: bool.default(true),
  }).prefault({}),
  doorCodeLength: int(4, 12).default(6),
  doorHeldOpenSeconds: int(1, 86_400).default(120),
  atRiskMinutes: int(0, 10_080).default(60),
});

export const doorShape = obj({
  doorId: doorIdSchema,
  name: bounded("a door name string", MAX_NAME_LENGTH),
  /** null (or absent) while the door has no lock yet. */
  lockId: lockIdSchema.nullable().default(null),
  kind: z.enum(["room", "common"], { error: 'expected "room" or "common"' }),
  linkedDoorIds: list(doorIdSchema, "doorIds", 100).default([]),
  protectConfiguration: bool.default(false),
});

const keyDoorShape = obj({
  doorId: doorIdSchema,
  accessPeriod: obj({ from: localDate, to: localDate }).refine((p) => p.from <= p.to, {
    error: "expected accessPeriod.from on or before accessPeriod.to",
    path: ["to"],
  }),
  arrivalTime: localTime,
  departureTime: localTime,
  allowProvisioning: bool.default(true),
  allowLinkedDoorsAccess: bool.default(false),
});

const doorCodeDigits = bounded("a door code of 4..12 digits", 12).regex(/^\d{4,12}$/, { error: "expected a door code of 4..12 digits" });

const keyObject = obj({
  keyId: keyIdSchema,
  version: int(0, Number.MAX_SAFE_INTEGER),
  source: z.enum(["manual", "pms"], { error: 'expected "manual" or "pms"' }),
  pms: obj({
    provider: z.enum(["mews", "cloudbeds"], { error: 'expected "mews" or "cloudbeds"' }),
    reservationId: bounded("a reservationId string", MAX_ID_LENGTH).min(1, { error: "expected a reservationId string" }),
  }).optional(),
  holder: obj({ name: bounded("a holder name string", MAX_NAME_LENGTH) }).optional(),
  /** Default: true for manual keys, false for PMS keys (they work only once checked in). */
  checkedIn: bool.optional(),
  doors: list(keyDoorShape, "door entries", 200),
  doorCode: obj({
    enabled: bool,
    assignment: z.enum(["random", "preferred", "strict"], { error: 'expected "random", "preferred" or "strict"' }).default("random"),
    code: doorCodeDigits.optional(),
  }).prefault({ enabled: false }),
  keycard: obj({ enabled: bool, cardId: cardIdSchema.optional() }).prefault({ enabled: false }),
  smartKey: obj({ enabled: bool, publicKey: base64Bytes("an Ed25519 public key", 32).optional() }).prefault({ enabled: false }),
});

type KeyObject = z.output<typeof keyObject>;

/** Cross-field rules of a key, shared by key.upsert and sync.snapshot. */
function checkKey(k: KeyObject, ctx: z.RefinementCtx): void {
  if (k.source === "pms" && k.pms === undefined) ctx.addIssue({ code: "custom", path: ["pms"], message: "expected {provider, reservationId} for a pms key" });
  const seen = new Set<string>();
  k.doors.forEach((d, i) => {
    if (seen.has(d.doorId)) ctx.addIssue({ code: "custom", path: ["doors", i, "doorId"], message: "expected each doorId once per key" });
    seen.add(d.doorId);
  });
  if (k.doorCode.enabled && k.doorCode.assignment !== "random" && k.doorCode.code === undefined) {
    ctx.addIssue({ code: "custom", path: ["doorCode", "code"], message: `expected the requested code with assignment "${k.doorCode.assignment}"` });
  }
  if (k.keycard.enabled && k.keycard.cardId === undefined) ctx.addIssue({ code: "custom", path: ["keycard", "cardId"], message: "expected a cardId when the keycard is enabled" });
  if (k.smartKey.enabled && k.smartKey.publicKey === undefined) {
    ctx.addIssue({ code: "custom", path: ["smartKey", "publicKey"], message: "expected the mobile key's public key when the smart key is enabled" });
  }
}

/** Manual keys default to checked in; PMS keys work only once checked in. */
const withCheckedIn = <T extends KeyObject>(k: T): T & { checkedIn: boolean } => ({ ...k, checkedIn: k.checkedIn ?? k.source === "manual" });

export const keyShape = keyObject.superRefine(checkKey).transform(withCheckedIn);

export const keycardShape = obj({
  cardId: cardIdSchema,
  uid: hex("the card UID", 4, 10),
  label: bounded("a label string", MAX_NAME_LENGTH).default(""),
});

const lockLink = z.discriminatedUnion(
  "type",
  [
    obj({ type: z.literal("serial"), path: bounded("a serial device path", 255).min(1, { error: "expected a serial device path" }), address: int(0, 255) }),
    obj({ type: z.literal("tcp"), host: bounded("a host name", 255).min(1, { error: "expected a host name" }), port: int(1, 65535), address: int(0, 255) }),
    obj({ type: z.literal("ble"), lockId: lockIdSchema }),
  ],
  { error: 'expected a link {"type":"serial"|"tcp"|"ble", ...}' },
);

// ---------------------------------------------------------------- commands

const p = <T extends z.core.$ZodLooseShape>(shape: T) => z.strictObject({ ...envelopeShape, ...shape }, { error: "expected a JSON object" });

export const COMMAND_SCHEMAS = {
  "site.configure": p(siteShape.shape),
  "lock.commission": p({
    lockId: lockIdSchema,
    profile: bounded("a device-profile id", MAX_ID_LENGTH).min(1, { error: "expected a device-profile id" }),
    link: lockLink,
    // LLP v1.1 §8: the 16-byte setup key from the lock's label; required by the handler for profiles that pair with PAIR_KX.
    setupKey: z.string({ error: "expected 32 hex digits from the lock's label" }).regex(/^[0-9a-fA-F]{32}$/, { error: "expected 32 hex digits from the lock's label" }).optional(),
  }),
  "lock.decommission": p({ lockId: lockIdSchema, wipe: bool.default(false) }),
  "door.upsert": p(doorShape.shape),
  "door.remove": p({ doorId: doorIdSchema }),
  "key.upsert": p(keyObject.shape).superRefine(checkKey).transform(withCheckedIn),
  "key.checkin": p({ keyId: keyIdSchema, checkedIn: bool }),
  "key.remove": p({ keyId: keyIdSchema, version: int(0, Number.MAX_SAFE_INTEGER) }),
  "doorcode.regenerate": p({
    keyId: keyIdSchema,
    assignment: z.enum(["random", "preferred", "strict"], { error: 'expected "random", "preferred" or "strict"' }).optional(),
    code: doorCodeDigits.optional(),
  }),
  "keycard.replace": p({ keyId: keyIdSchema, cardId: cardIdSchema }),
  "keycards.upsert": p({ cards: list(keycardShape, "cards").min(1, { error: "expected at least one card" }) }),
  "keycards.remove": p({ cardIds: list(cardIdSchema, "cardIds").min(1, { error: "expected at least one cardId" }) }),
  "keycards.list": p({ forKeyId: keyIdSchema.optional() }),
  "door.unlock": p({ doorId: doorIdSchema, seconds: int(1, 30) }),
  "sync.snapshot": p({
    snapshotId: entityId("snapshotId"),
    page: int(1, 100_000),
    pages: int(1, 100_000),
    site: siteShape.optional(),
    doors: list(doorShape, "doors").default([]),
    keys: list(keyShape, "keys").default([]),
    keycards: list(keycardShape, "keycards").default([]),
  }).refine((s) => s.page <= s.pages, { error: "expected page <= pages", path: ["page"] }),
  diagnose: p({ keyId: keyIdSchema.optional(), doorId: doorIdSchema.optional() }).refine((d) => (d.keyId === undefined) !== (d.doorId === undefined), {
    error: "expected exactly one of keyId or doorId",
    path: ["keyId"],
  }),
  "firmware.update": p({
    jobId: entityId("jobId"),
    lockIds: list(lockIdSchema, "lockIds", 1000).min(1, { error: "expected at least one lockId" }),
    version: bounded("a firmware version string", 64).min(1, { error: "expected a firmware version string" }),
    url: bounded("an http(s) URL", 2048).pipe(z.url({ protocol: /^https?$/, error: "expected an http(s) URL" })),
    sha256: sha256Hex,
    size: int(1, MAX_FIRMWARE_BYTES),
    /** Optional (docs/mqtt-api.md): the lock model the image is built for; a lock of another model fails with model_mismatch. */
    model: bounded("a lock model string", 64).min(1, { error: "expected a lock model string" }).optional(),
    /** Optional: seconds a lock may stay unreachable during its update before it fails (lock_offline); default 30 min. */
    maxOfflineS: int(1, 7 * 86_400).optional(),
  }),
  "events.resend": p({ fromSeq: int(0, Number.MAX_SAFE_INTEGER) }),
  "status.get": p({}),
} as const;

export type CommandName = keyof typeof COMMAND_SCHEMAS;
export const COMMAND_NAMES = Object.keys(COMMAND_SCHEMAS) as CommandName[];
export type CommandOf<N extends CommandName> = z.output<(typeof COMMAND_SCHEMAS)[N]>;
export type CommandInput<N extends CommandName> = z.input<(typeof COMMAND_SCHEMAS)[N]>;

/** The read-only commands: they change nothing, so they may come unsigned (mqtt-api.md §3). */
export const UNSIGNED_COMMANDS: ReadonlySet<CommandName> = new Set(["status.get", "diagnose", "keycards.list", "events.resend"]);

/** Every state-changing command: needs `sig` when the cloud's command key is configured (mqtt-api.md §3). */
export const SIGNED_COMMANDS: ReadonlySet<CommandName> = new Set(
  (Object.keys(COMMAND_SCHEMAS) as CommandName[]).filter((name) => !UNSIGNED_COMMANDS.has(name)),
);

export const isCommandName = (cmd: string): cmd is CommandName => Object.hasOwn(COMMAND_SCHEMAS, cmd);

/** The domain objects of the shared shapes. */
export type SiteParams = z.output<typeof siteShape>;
export type DoorParams = z.output<typeof doorShape>;
export type KeyParams = z.output<typeof keyShape>;
export type KeycardParams = z.output<typeof keycardShape>;

const ENVELOPE_FIELDS = ["id", "cmd", "ts", "expiresAt", "sig"] as const;

/** The command's params without the envelope fields. */
export function stripEnvelope<T extends Record<string, unknown>>(command: T): Omit<T, (typeof ENVELOPE_FIELDS)[number]> {
  const copy: Record<string, unknown> = { ...command };
  for (const f of ENVELOPE_FIELDS) delete copy[f];
  return copy as Omit<T, (typeof ENVELOPE_FIELDS)[number]>;
}

// ---------------------------------------------------------------- validation errors

export { formatPath } from "./issues.js";

export interface FirstIssue {
  path: string;
  message: string;
}

/** The first bad field of a failed parse, with unknown fields named individually. */
export function firstIssue(error: z.ZodError, schema?: z.ZodType): FirstIssue {
  // Every problem in the message, "did you mean" for misspelt fields; path = the first.
  return describeIssues(error, schema);
}
