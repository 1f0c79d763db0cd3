import { Capability, type IdentInfo } from "../protocol/llp/index.js";
import { capabilityBits, capabilityNames, type DeviceProfile } from "./schema.js";

export interface IdentityDifference {
  field: "lockId" | "protocolVersion" | "model" | "capabilities" | "codeSlots" | "cardSlots" | "mobileKeySlots" | "codeMinLen" | "codeMaxLen";
  expected: string | number;
  actual: string | number;
}

/**
 * Where a lock's IDENT disagrees with its device profile (and, when given, the lockId the
 * hub commissioned). Empty: the lock is what the hub thinks it is. Capabilities are checked
 * for what the profile expects: a lock with more is fine, one with less is not.
 */
export function compareIdentity(ident: IdentInfo, profile: DeviceProfile, expectedLockId?: string): IdentityDifference[] {
  const diffs: IdentityDifference[] = [];
  const check = (field: IdentityDifference["field"], expected: string | number, actual: string | number) => {
    if (expected !== actual) diffs.push({ field, expected, actual });
  };
  if (expectedLockId !== undefined) check("lockId", expectedLockId.toLowerCase(), ident.lockId.toLowerCase());
  check("protocolVersion", 1, ident.protocolVersion);
  check("model", profile.model, ident.model);
  const expectedCaps = capabilityBits(profile.capabilities);
  if ((ident.capabilities & expectedCaps) !== expectedCaps) {
    diffs.push({ field: "capabilities", expected: capabilityNames(expectedCaps).join(","), actual: capabilityNames(ident.capabilities).join(",") });
  }
  check("codeSlots", profile.slots.doorCode, ident.codeSlots);
  check("cardSlots", profile.slots.keycard, ident.cardSlots);
  check("mobileKeySlots", profile.slots.smartKey, ident.mobileKeySlots);
  check("codeMinLen", profile.code.minLength, ident.codeMinLen);
  check("codeMaxLen", profile.code.maxLength, ident.codeMaxLen);
  return diffs;
}

const KIND_CAPABILITY = { doorCode: Capability.DOOR_CODES, keycard: Capability.KEYCARDS, smartKey: Capability.MOBILE_KEYS } as const;

/**
 * The slots of a credential kind a lock offers, from its IDENT: 0 when it does not claim the
 * capability (those credentials are not_supported there), whatever slot count it reports.
 */
export function usableSlots(
  ident: Pick<IdentInfo, "capabilities" | "codeSlots" | "cardSlots" | "mobileKeySlots">,
  kind: keyof typeof KIND_CAPABILITY,
): number {
  if ((ident.capabilities & KIND_CAPABILITY[kind]) === 0) return 0;
  return kind === "doorCode" ? ident.codeSlots : kind === "keycard" ? ident.cardSlots : ident.mobileKeySlots;
}
