import { z } from "zod";

const hex = (bytes?: number) =>
  z.string().regex(bytes ? new RegExp(`^[0-9a-f]{${bytes * 2}}$`) : /^([0-9a-f]{2})*$/, bytes ? `${bytes} bytes of lower-case hex` : "lower-case hex");

const u32 = z.number().int().min(0).max(0xffffffff);

export const lockProfileSchema = z.object({
  model: z.string().min(1).max(64),
  firmware: z.string().min(1).max(64),
  capabilities: z.number().int().min(0).max(0xffff),
  codeSlots: z.number().int().min(0).max(0xffff),
  cardSlots: z.number().int().min(0).max(0xffff),
  mobileKeySlots: z.number().int().min(0).max(0xffff),
  codeMinLen: z.number().int().min(1).max(255),
  codeMaxLen: z.number().int().min(1).max(255),
});

const credentialSchema = z.object({
  slot: z.number().int().min(0).max(0xffff),
  validFrom: u32,
  validUntil: u32,
  flags: z.number().int().min(0).max(255),
  secret: hex(),
});

const eventSchema = z.object({
  seq: u32,
  time: u32,
  type: z.number().int().min(0).max(255),
  kind: z.number().int().min(0).max(255),
  slot: z.number().int().min(0).max(0xffff),
  reason: z.number().int().min(0).max(255),
});

/** Everything a lock remembers across a simulator restart (the fleet's state file). */
export const simLockStateSchema = z.object({
  version: z.literal(1),
  lockId: hex(8),
  address: z.number().int().min(0).max(255),
  profile: lockProfileSchema,
  firmware: z.string(),
  battery: z.number().int().min(0).max(100),
  linkKey: hex(16).nullable(),
  /** The label's setup key (PAIR_KX models); absent in state files from before LLP v1.1. */
  setupKey: hex(16).optional(),
  hubCounter: u32,
  lockCounter: u32,
  pairingMode: z.boolean(),
  doorOpen: z.boolean(),
  boltThrown: z.boolean(),
  tamper: z.boolean(),
  memoryFull: z.boolean(),
  clock: z.object({ offsetMs: z.number(), notSet: z.boolean(), driftPpm: z.number() }),
  credentials: z.object({ codes: z.array(credentialSchema), cards: z.array(credentialSchema), mobileKeys: z.array(credentialSchema) }),
  events: z.object({ capacity: z.number().int().min(1), nextSeq: z.number().int().min(1), dropped: z.number().int().min(0), items: z.array(eventSchema) }),
  fw: z.object({ restartUntilMs: z.number(), pendingVersion: z.string().nullable() }),
});

export type SimLockState = z.infer<typeof simLockStateSchema>;
