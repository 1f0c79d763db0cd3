/**
 * Small builders for the domain model (site, doors, keys) used by access, diagnosis and
 * engine tests. Defaults describe an ordinary Prague hotel; override what a test is about.
 */
import type { Door, Key, KeyDoorAccess, Site } from "../../src/access/model.js";

export function makeSite(over: Partial<Site> = {}): Site {
  return {
    siteId: "site-1",
    timezone: "Europe/Prague",
    credentialTypes: { doorCode: true, keycard: true, smartKey: true },
    doorCodeLength: 6,
    doorHeldOpenSeconds: 120,
    atRiskMinutes: 60,
    ...over,
  };
}

export function makeDoor(doorId: string, over: Partial<Door> = {}): Door {
  return {
    doorId,
    name: doorId,
    lockId: `lock-${doorId}`,
    kind: doorId.startsWith("room") ? "room" : "common",
    linkedDoorIds: [],
    protectConfiguration: false,
    ...over,
  };
}

export function doorMap(...doors: Door[]): Map<string, Door> {
  return new Map(doors.map((d) => [d.doorId, d]));
}

export function makeEntry(doorId: string, over: Partial<KeyDoorAccess> = {}): KeyDoorAccess {
  return {
    doorId,
    accessPeriod: { from: "2026-12-01", to: "2026-12-04" },
    arrivalTime: "15:00",
    departureTime: "11:00",
    allowProvisioning: true,
    allowLinkedDoorsAccess: true,
    ...over,
  };
}

export function makeKey(keyId: string, over: Partial<Key> = {}): Key {
  return {
    keyId,
    version: 1,
    source: "manual",
    checkedIn: true,
    doors: [makeEntry("room-101")],
    doorCode: { enabled: true, assignment: "random" },
    keycard: { enabled: false },
    smartKey: { enabled: false },
    ...over,
  };
}

/** A PMS key (Mews), not yet checked in unless overridden. */
export function makePmsKey(keyId: string, over: Partial<Key> = {}): Key {
  return makeKey(keyId, { source: "pms", pms: { provider: "mews", reservationId: `res-${keyId}` }, checkedIn: false, ...over });
}

/** Epoch seconds of an ISO instant. */
export const epochS = (iso: string): number => Date.parse(iso) / 1000;
