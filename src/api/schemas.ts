/**
 * The local API's messages as zod schemas: the server builds these shapes, the CLI (and the
 * coming web console) validate what they receive with them. Nothing here carries a secret:
 * no door code, keycard UID or link key ever leaves the hub through the read models.
 */
import { z } from "zod";

const slotUse = z.object({ used: z.number(), total: z.number().nullable() });

export const lockViewSchema = z.object({
  lockId: z.string(),
  state: z.string(),
  doorIds: z.array(z.string()),
  doorNames: z.array(z.string()),
  /** "serial /dev/ttyUSB0", "tcp 10.0.0.5:4001", "ble": the bus the lock hangs on. */
  bus: z.string(),
  address: z.number().nullable(),
  online: z.boolean(),
  lastSeen: z.string().nullable(),
  battery: z.number().nullable(),
  clockDriftS: z.number().nullable(),
  firmware: z.string().nullable(),
  model: z.string().nullable(),
  profile: z.string(),
  slots: z.record(z.string(), slotUse),
  /** The lockId IDENT showed at this link instead (state "replaced"). */
  replacedBy: z.string().nullable(),
  /** Credential slots whose lock does not hold what it should yet (to write, change or remove): 0 = converged. */
  pendingSlots: z.number(),
  /**
   * BLE locks: the signal strength the hub's radio (or BLE proxy) last saw from the lock, at an
   * advertisement or a connection, and its quality (>= -60 dBm excellent, >= -70 good, >= -80
   * fair, weaker: weak). Null for a wired lock, or a BLE lock not heard since the hub started.
   */
  signal: z.object({ rssi: z.number(), at: z.string(), quality: z.enum(["excellent", "good", "fair", "weak"]) }).nullable(),
  /** Faults worth a look, in plain words ("battery 15 %", "replaced by ..."). */
  alerts: z.array(z.string()),
});
export type LockView = z.infer<typeof lockViewSchema>;

export const busViewSchema = z.object({
  bus: z.string(),
  /** The transport's state (open, opening, closed...); null when the hub has no link open. */
  link: z.string().nullable(),
  lastError: z.string().nullable(),
  errors: z.object({ timeouts: z.number(), crcErrors: z.number(), retries: z.number() }),
  locks: z.array(lockViewSchema),
});
export type BusView = z.infer<typeof busViewSchema>;

export const doorViewSchema = z.object({
  doorId: z.string(),
  name: z.string(),
  kind: z.string(),
  lockId: z.string().nullable(),
  lockOnline: z.boolean().nullable(),
  linkedDoorIds: z.array(z.string()),
  keys: z.number(),
});
export type DoorView = z.infer<typeof doorViewSchema>;

export const keyDoorViewSchema = z.object({
  doorId: z.string(),
  /** The door's name ("Room 101"); null when the door is unknown to the hub. */
  name: z.string().nullable(),
  state: z.string(),
  reasons: z.array(z.string()),
  /** State and reasons in the support article's words: "Pending: lock offline". */
  words: z.string(),
  linked: z.boolean(),
});
const credentialWordsSchema = z.object({ state: z.string(), reason: z.string().optional(), words: z.string() });
export const keyViewSchema = z.object({
  keyId: z.string(),
  holder: z.string().nullable(),
  state: z.string(),
  /** "Active", "Pending"... */
  words: z.string(),
  doors: z.array(keyDoorViewSchema),
  /** Credential states only: never the code or the card UID. */
  credentials: z.object({ doorCode: z.string(), keycard: z.string(), smartKey: z.string() }),
  /** The same with reasons and words: "No Doorcode Assigned: lock offline", "Smart Key is ready to use". */
  credentialWords: z.object({ doorCode: credentialWordsSchema, keycard: credentialWordsSchema, smartKey: credentialWordsSchema }),
  removed: z.boolean(),
});
export type KeyView = z.infer<typeof keyViewSchema>;

export const progressSchema = z.object({
  credentials: z.object({ onLocks: z.number(), total: z.number(), pending: z.number(), failed: z.number(), inactive: z.number() }),
  locks: z.object({ total: z.number(), online: z.number(), offline: z.number(), notInService: z.number() }),
  /** "2,944 of 3,000 credentials on their locks; 3 locks offline" */
  summary: z.string(),
});
export type Progress = z.infer<typeof progressSchema>;

export const healthSchema = z.object({
  status: z.enum(["starting", "ready", "degraded", "unavailable", "stopping"]),
  ready: z.boolean(),
  hubId: z.string(),
  version: z.string(),
  /** Named problems: "broker unreachable", "store gone"... */
  problems: z.array(z.string()),
  checks: z.object({ store: z.string(), broker: z.string(), services: z.string() }),
});
export type Health = z.infer<typeof healthSchema>;

export const statusSchema = z.object({
  health: healthSchema,
  cloud: z.object({ connected: z.boolean(), broker: z.string() }),
  outbox: z.object({ pending: z.number(), total: z.number(), oldestPendingAgeS: z.number().nullable() }),
  progress: progressSchema,
  buses: z.array(busViewSchema),
  keysNeedingAttention: z.array(keyViewSchema),
});
export type HubStatusView = z.infer<typeof statusSchema>;

export const eventSchema = z.looseObject({ seq: z.number(), at: z.string(), type: z.string() });
export type FeedEvent = z.infer<typeof eventSchema>;

/** The contract's command response, as installer actions answer it. */
export const actionResponseSchema = z.union([
  z.object({ id: z.string().nullable(), cmd: z.string().nullable(), ok: z.literal(true), result: z.record(z.string(), z.unknown()), warnings: z.array(z.string()).optional() }),
  z.object({ id: z.string().nullable(), cmd: z.string().nullable(), ok: z.literal(false), error: z.object({ code: z.string(), message: z.string(), path: z.string().optional() }) }),
]);
export type ActionResponse = z.infer<typeof actionResponseSchema>;

export const apiErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

// ------------------------------------------------------------------ action bodies (validated on the hub)

const lockLink = z.union([
  z.object({ type: z.literal("serial"), path: z.string().min(1).max(200), address: z.number().int().min(1).max(254) }),
  z.object({ type: z.literal("tcp"), host: z.string().min(1).max(253), port: z.number().int().min(1).max(65535), address: z.number().int().min(1).max(254) }),
  z.object({ type: z.literal("ble"), lockId: z.string().min(1).max(64) }),
]);

export const commissionBodySchema = z.strictObject({
  lockId: z.string().min(1).max(64),
  profile: z.string().min(1).max(128),
  link: lockLink,
  setupKey: z.string().regex(/^[0-9a-fA-F]{32}$/, { error: "expected 32 hex digits from the lock's label" }).optional(),
});
export const decommissionBodySchema = z.strictObject({ lockId: z.string().min(1).max(64), wipe: z.boolean().default(false) });
/** Replace: the new lock takes the old one's link and doors; the old lockId is forgotten. */
export const replaceBodySchema = z.strictObject({
  oldLockId: z.string().min(1).max(64),
  newLockId: z.string().min(1).max(64),
  profile: z.string().min(1).max(128).optional(),
  setupKey: z.string().regex(/^[0-9a-fA-F]{32}$/, { error: "expected 32 hex digits from the lock's label" }).optional(),
});
export const diagnoseBodySchema = z.union([z.strictObject({ keyId: z.string().min(1).max(64) }), z.strictObject({ doorId: z.string().min(1).max(64) })], {
  error: "expected exactly one of keyId or doorId",
});
export const backupBodySchema = z.strictObject({});
/** Commission a lock again on its stored link and profile (after a factory reset, pairing_lost, or replaced by itself). */
export const recommissionBodySchema = z.strictObject({
  lockId: z.string().min(1).max(64),
  setupKey: z.string().regex(/^[0-9a-fA-F]{32}$/, { error: "expected 32 hex digits from the lock's label" }).optional(),
});
export const scanBodySchema = z.strictObject({
  link: z.union([
    z.strictObject({ type: z.literal("tcp"), host: z.string().min(1).max(253), port: z.number().int().min(1).max(65535) }),
    z.strictObject({ type: z.literal("serial"), path: z.string().min(1).max(200) }),
  ]),
  profile: z.string().min(1).max(128).optional(),
  addresses: z.string().max(64).default("1-32"),
  timeoutMs: z.number().int().min(20).max(5000).default(300),
});
/** Listen for BLE locks advertising for `seconds`, then IDENT each one that is not this hub's over GATT (`timeoutMs` per answer). */
export const scanBleBodySchema = z.strictObject({
  seconds: z.number().int().min(1).max(30).default(5),
  timeoutMs: z.number().int().min(200).max(10_000).default(3000),
});
export const doctorBodySchema = z.strictObject({});
export const rotateTokenBodySchema = z.strictObject({});
/** One key's door code, asked for explicitly and logged (never in a read model). */
export const revealCodeBodySchema = z.strictObject({ keyId: z.string().min(1).max(64) });
