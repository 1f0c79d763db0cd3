import { Capability, type IdentInfo } from "../../src/protocol/llp/index.js";

/**
 * What a lock model is, as far as the wire shows it: IDENT's answer without the per-lock
 * fields (protocol version, lock id). Capabilities are the bits of lock-link-protocol.md §3.
 * Shaped like a device profile so a fleet can take one from device-profiles/ or write one inline.
 */
export type LockProfile = Omit<IdentInfo, "protocolVersion" | "lockId">;

const ALL_CAPABILITIES =
  Capability.DOOR_CODES | Capability.KEYCARDS | Capability.MOBILE_KEYS | Capability.REMOTE_UNLOCK |
  Capability.DOOR_SENSOR | Capability.FIRMWARE_UPDATE | Capability.SEALING;

/** Built-in models: a guest-room lock and a common-area lock with room for every guest. */
export const BUILTIN_PROFILES = {
  "sim-room": {
    model: "SIM-R100",
    firmware: "1.0.0",
    capabilities: ALL_CAPABILITIES,
    codeSlots: 32,
    cardSlots: 32,
    mobileKeySlots: 16,
    codeMinLen: 4,
    codeMaxLen: 12,
  },
  "sim-common": {
    model: "SIM-C500",
    firmware: "1.0.0",
    capabilities: ALL_CAPABILITIES,
    codeSlots: 500,
    cardSlots: 500,
    mobileKeySlots: 250,
    codeMinLen: 4,
    codeMaxLen: 12,
  },
  "sim-basic": {
    model: "SIM-B10",
    firmware: "0.9.2",
    capabilities: Capability.DOOR_CODES | Capability.REMOTE_UNLOCK | Capability.SEALING,
    codeSlots: 10,
    cardSlots: 0,
    mobileKeySlots: 0,
    codeMinLen: 4,
    codeMaxLen: 8,
  },
} as const satisfies Record<string, LockProfile>;

export type BuiltinProfileName = keyof typeof BUILTIN_PROFILES;

export function isBuiltinProfile(name: string): name is BuiltinProfileName {
  return Object.hasOwn(BUILTIN_PROFILES, name);
}

export function resolveProfile(p: BuiltinProfileName | Partial<LockProfile> | undefined): LockProfile {
  if (p === undefined) return { ...BUILTIN_PROFILES["sim-room"] };
  if (typeof p === "string") return { ...BUILTIN_PROFILES[p] };
  return { ...BUILTIN_PROFILES["sim-room"], ...p };
}
