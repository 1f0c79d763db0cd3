/**
 * A device profile: what the hub expects of one lock model and how to talk to it.
 * Data, validated three ways: this zod schema (the loader), the JSON Schema generated from
 * it (device-profiles/schema.json, for editors) and a lint test over device-profiles/.
 */
import { z } from "zod";
import { Capability } from "../protocol/llp/index.js";

export const LINK_TYPES = ["serial-rs485", "serial-uart", "tcp", "ble"] as const;
export type ProfileLinkType = (typeof LINK_TYPES)[number];
export const BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400] as const;

/** Capability names in the order of the IDENT bits (lock-link-protocol.md §3). */
export const CAPABILITY_BITS = {
  doorCodes: Capability.DOOR_CODES,
  keycards: Capability.KEYCARDS,
  mobileKeys: Capability.MOBILE_KEYS,
  remoteUnlock: Capability.REMOTE_UNLOCK,
  doorSensor: Capability.DOOR_SENSOR,
  firmwareUpdate: Capability.FIRMWARE_UPDATE,
  sealing: Capability.SEALING,
  authenticatedPairing: Capability.PAIR_KX,
} as const;
export type CapabilityName = keyof typeof CAPABILITY_BITS;
const CAPABILITY_NAMES = Object.keys(CAPABILITY_BITS) as [CapabilityName, ...CapabilityName[]];

const oneOf = <T extends string | number>(values: readonly T[]) => `expected one of ${values.join(", ")}`;
const int = (min: number, max: number, unit = "") =>
  z
    .number({ error: `expected an integer ${min}..${max}${unit}` })
    .int({ error: `expected an integer ${min}..${max}${unit}` })
    .min(min, { error: `expected an integer ${min}..${max}${unit}` })
    .max(max, { error: `expected an integer ${min}..${max}${unit}` });

const serialSchema = z
  .strictObject(
    {
      baudRate: z.literal(BAUD_RATES, { error: oneOf(BAUD_RATES) }),
      parity: z.enum(["none", "even", "odd"], { error: oneOf(["none", "even", "odd"]) }),
      dataBits: z.literal([7, 8], { error: oneOf([7, 8]) }),
      stopBits: z.literal([1, 2], { error: oneOf([1, 2]) }),
    },
    { error: "expected an object {baudRate, parity, dataBits, stopBits}" },
  )
  .describe("Line settings of a serial lock (serial-rs485 and serial-uart only).");

const bleSchema = z
  .strictObject(
    {
      idleDisconnectS: int(1, 3600, " seconds").describe("Drop the BLE link after this long without traffic."),
      scanTimeoutMs: int(500, 120_000, " ms").default(10_000).describe("Give up finding the lock's advertisement after this long."),
      connectTimeoutMs: int(500, 60_000, " ms").default(10_000),
    },
    { error: "expected an object {idleDisconnectS, scanTimeoutMs?, connectTimeoutMs?}" },
  )
  .describe("BLE link settings (link ble only).");

export const deviceProfileSchema = z
  .strictObject(
    {
      $schema: z.string().optional(),
      id: z
        .string({ error: "expected a profile id string" })
        .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, { error: "expected 1..64 characters of a-z 0-9 - (it is the file name)" })
        .describe("Profile id; equals the file name without .json."),
      vendor: z.string({ error: "expected a vendor name string" }).min(1, { error: "expected a non-empty vendor name" }),
      model: z
        .string({ error: "expected a model string" })
        .min(1, { error: "expected a non-empty model string" })
        .describe("The model string the lock reports in IDENT."),
      description: z.string({ error: "expected a description string" }).optional(),
      link: z.enum(LINK_TYPES, { error: oneOf(LINK_TYPES) }).describe("The lock's own interface."),
      serial: serialSchema.optional(),
      ble: bleSchema.optional(),
      responseTimeoutMs: int(10, 30_000, " ms").describe("Wait this long for an answer (wire time is added on serial links)."),
      retries: int(0, 10).describe("Identical-bytes retries after the first attempt."),
      offlineAfterTimeouts: int(1, 100).describe("Consecutive timeouts after which the lock is marked offline."),
      pollIntervalMs: int(100, 3_600_000, " ms").describe("How often the hub polls STATUS of an online lock."),
      offlinePollIntervalMs: int(100, 3_600_000, " ms").optional().describe("How often an offline lock is probed; default 10 x pollIntervalMs."),
      capabilities: z
        .array(z.enum(CAPABILITY_NAMES, { error: oneOf(CAPABILITY_NAMES) }), { error: "expected an array of capability names" })
        .describe("Capabilities the lock must report in IDENT."),
      slots: z
        .strictObject(
          {
            doorCode: int(0, 65535),
            keycard: int(0, 65535),
            smartKey: int(0, 65535),
          },
          { error: "expected an object {doorCode, keycard, smartKey}" },
        )
        .describe("Slot counts per credential type, as IDENT reports them."),
      code: z
        .strictObject(
          { minLength: int(1, 32), maxLength: int(1, 32) },
          { error: "expected an object {minLength, maxLength}" },
        )
        .describe("Door code length range, as IDENT reports it."),
      sealingRequired: z.boolean({ error: "expected true or false" }).describe("Commands must be sealed once paired; the hub refuses to drive it unpaired."),
      pairing: z
        .enum(["kx", "plain"], { error: 'expected "kx" (PAIR_KX with the setup key from the label) or "plain" (legacy PAIR, pairing mode only)' })
        .default("plain")
        .describe('How the model pairs (lock-link-protocol.md §8): "kx" = PAIR_KX with the setup key from the lock\'s label (needs "authenticatedPairing"); "plain" = legacy PAIR, only at commissioning with the lock in pairing mode. Default "plain".'),
    },
    { error: "expected a device profile object" },
  )
  .superRefine((p, ctx) => {
    const serialLink = p.link === "serial-rs485" || p.link === "serial-uart";
    if (serialLink && !p.serial) ctx.addIssue({ code: "custom", path: ["serial"], message: `required for link ${p.link}` });
    if (!serialLink && p.serial) ctx.addIssue({ code: "custom", path: ["serial"], message: `only applies to serial links, not ${p.link}` });
    if (p.link === "ble" && !p.ble) ctx.addIssue({ code: "custom", path: ["ble"], message: "required for link ble" });
    if (p.link !== "ble" && p.ble) ctx.addIssue({ code: "custom", path: ["ble"], message: `only applies to link ble, not ${p.link}` });
    if (p.code.minLength > p.code.maxLength) {
      ctx.addIssue({ code: "custom", path: ["code", "minLength"], message: `must not exceed code.maxLength (${p.code.maxLength})` });
    }
    if (p.sealingRequired && !p.capabilities.includes("sealing")) {
      ctx.addIssue({ code: "custom", path: ["sealingRequired"], message: 'needs "sealing" in capabilities' });
    }
    const needs: [keyof typeof p.slots, CapabilityName][] = [["doorCode", "doorCodes"], ["keycard", "keycards"], ["smartKey", "mobileKeys"]];
    for (const [slot, cap] of needs) {
      if (p.slots[slot] > 0 && !p.capabilities.includes(cap)) {
        ctx.addIssue({ code: "custom", path: ["slots", slot], message: `${p.slots[slot]} slots need "${cap}" in capabilities` });
      }
    }
    if (p.pairing === "kx" && !p.capabilities.includes("authenticatedPairing")) {
      ctx.addIssue({ code: "custom", path: ["pairing"], message: '"kx" needs "authenticatedPairing" in capabilities' });
    }
    if (new Set(p.capabilities).size !== p.capabilities.length) {
      ctx.addIssue({ code: "custom", path: ["capabilities"], message: "lists a capability twice" });
    }
  });

export type DeviceProfile = z.output<typeof deviceProfileSchema>;
export type DeviceProfileInput = z.input<typeof deviceProfileSchema>;

export function capabilityBits(names: readonly CapabilityName[]): number {
  return names.reduce((bits, n) => bits | CAPABILITY_BITS[n], 0);
}

export function capabilityNames(bits: number): CapabilityName[] {
  return CAPABILITY_NAMES.filter((n) => (bits & CAPABILITY_BITS[n]) !== 0);
}

/** The JSON Schema committed as device-profiles/schema.json (a test keeps them equal). */
export function deviceProfileJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(deviceProfileSchema, { io: "input", target: "draft-2020-12" }),
    $id: "https://lockbridge.example/device-profiles/schema.json",
    title: "LockBridge device profile",
    description: "One lock model: how the hub reaches it and what it expects it to report in IDENT. Cross-field rules (serial only for serial links, minLength <= maxLength, capabilities behind slots and sealing) are checked by the hub's loader.",
  };
}
