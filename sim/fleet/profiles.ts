import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { CAPABILITY_BITS, capabilityBits, type CapabilityName } from "../../src/profiles/schema.js";
import { LockBridgeError } from "../../src/shared/errors.js";
import { BUILTIN_PROFILES, isBuiltinProfile, resolveProfile, type LockProfile } from "../lock/profile.js";

/** The repository's device-profiles/ (sim/fleet -> ../../device-profiles). */
export const DEFAULT_PROFILES_DIR = fileURLToPath(new URL("../../device-profiles/", import.meta.url));

/**
 * The fields of a device-profile file the simulator needs to behave as that model in IDENT.
 * The hub's loader (src/profiles) validates the whole file; this reads only what the lock shows.
 */
const deviceProfileFields = z.object({
  model: z.string().min(1),
  capabilities: z.array(z.enum(Object.keys(CAPABILITY_BITS) as [CapabilityName, ...CapabilityName[]])),
  slots: z.object({ doorCode: z.number().int().min(0), keycard: z.number().int().min(0), smartKey: z.number().int().min(0) }),
  code: z.object({ minLength: z.number().int().min(1), maxLength: z.number().int().min(1) }),
});

/** A profile by name: a built-in sim model, or `<dir>/<name>.json` from device-profiles. Inline fields pass through. */
export function loadLockProfile(ref: string | Partial<LockProfile>, profilesDir = DEFAULT_PROFILES_DIR): LockProfile {
  if (typeof ref !== "string") return resolveProfile(ref);
  if (isBuiltinProfile(ref)) return resolveProfile(ref);
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(ref)) {
    throw new LockBridgeError("profile_invalid", `profile "${ref}": expected a built-in (${Object.keys(BUILTIN_PROFILES).join(", ")}) or a device-profile id`);
  }
  const file = join(profilesDir, `${ref}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new LockBridgeError("profile_invalid", `profile "${ref}": cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`, file);
  }
  const r = deviceProfileFields.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new LockBridgeError("profile_invalid", `profile "${ref}" (${file}): ${i.path.join(".")}: ${i.message}`, file);
  }
  return lockProfileFromDevice(r.data);
}

/** The fields of a device profile a simulated lock needs (a hub DeviceProfile has them all). */
export interface DeviceProfileFields {
  model: string;
  capabilities: readonly CapabilityName[];
  slots: { doorCode: number; keycard: number; smartKey: number };
  code: { minLength: number; maxLength: number };
}

/** The IDENT a simulated lock of this device profile reports. */
export function lockProfileFromDevice(p: DeviceProfileFields, over: Partial<LockProfile> = {}): LockProfile {
  return {
    model: p.model,
    firmware: "1.0.0",
    capabilities: capabilityBits(p.capabilities),
    codeSlots: p.slots.doorCode,
    cardSlots: p.slots.keycard,
    mobileKeySlots: p.slots.smartKey,
    codeMinLen: p.code.minLength,
    codeMaxLen: p.code.maxLength,
    ...over,
  };
}
