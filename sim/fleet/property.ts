import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { isValidTimeZone } from "../../src/access/timezone.js";
import { LockBridgeError } from "../../src/shared/errors.js";
import { lockProfileSchema } from "../lock/state.js";
import { loadLockProfile } from "./profiles.js";

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: "expected 1..64 characters of A-Z a-z 0-9 . _ -" });
const port = z.number().int().min(0, { error: "expected a TCP port 0..65535 (0: any free port)" }).max(65535, { error: "expected a TCP port 0..65535 (0: any free port)" });
const lockIdHex = z.string().regex(/^[0-9a-fA-F]{16}$/, { error: "expected a lockId of 16 hex digits" }).transform((s) => s.toLowerCase());

/** Per-lock behaviour knobs a property may set (see SimLockOptions). */
export const lockKnobsSchema = z.strictObject({
  battery: z.number().int().min(0).max(100).optional(),
  batteryDrainPerUnlock: z.number().min(0).max(100).optional(),
  lowBatteryThreshold: z.number().int().min(0).max(100).optional(),
  driftPpm: z.number().min(-100_000).max(100_000).optional(),
  clockSet: z.boolean().optional(),
  eventCapacity: z.number().int().min(1).max(100_000).optional(),
  fwRestartMs: z.number().int().min(0).max(600_000).optional(),
  fwRestartAnswer: z.enum(["silent", "busy"]).optional(),
  /** Fault: the image arrives damaged (FW_COMMIT gets VERIFY_FAILED; the lock keeps its firmware). */
  fwCorruptImage: z.boolean().optional(),
  /** A firmware update wipes the lock's credential tables (the hub provisions them again). */
  fwWipesTables: z.boolean().optional(),
  unlockSeconds: z.number().int().min(1).max(30).optional(),
  pairingMode: z.boolean().optional(),
  /** The setup key on the lock's label (PAIR_KX models); random at manufacture when absent. */
  setupKey: z.string().regex(/^[0-9a-fA-F]{32}$/, { error: "expected 32 hex digits (the setup key on the lock's label)" }).optional(),
  firmware: z.string().min(1).max(64).optional(),
});

const linkSchema = z.union(
  [
    z.strictObject({ bus: id, address: z.number().int().min(1, { error: "expected an address 1..250" }).max(250, { error: "expected an address 1..250" }) }),
    z.strictObject({
      ble: z.literal(true),
      /** The signal strength (dBm) the BLE proxy's radio reports for this lock. Default -60. */
      rssi: z.number().int().min(-127, { error: "expected an RSSI in dBm, -127..20" }).max(20, { error: "expected an RSSI in dBm, -127..20" }).optional(),
    }),
  ],
  { error: 'expected {bus: <bus id>, address: 1..250} or {ble: true, rssi?: dBm}' },
);

const doorFields = {
  doorId: id,
  name: z.string().min(1).max(100),
  lockId: lockIdHex.optional(),
  /** A built-in sim profile (sim-room, sim-common, sim-basic), a device-profiles/ id, or inline fields. */
  profile: z.union([z.string().min(1), lockProfileSchema.partial()]).default("sim-room"),
  link: linkSchema,
  lock: lockKnobsSchema.optional(),
};

const roomSchema = z.strictObject({ ...doorFields, linkedDoorIds: z.array(id).default([]) });
const commonDoorSchema = z.strictObject({ ...doorFields, linkedToAllRooms: z.boolean().default(false) });

const busSchema = z.strictObject({
  id,
  type: z.enum(["tcp", "pty"]).default("tcp"),
  host: z.string().default("127.0.0.1"),
  port: port.default(0),
  wireBaud: z.number().int().min(300).max(4_000_000).optional(),
  /** TCP only: locks send EVENT_NOTIFY unasked. */
  eventNotify: z.boolean().default(false),
});

export const propertySchema = z
  .strictObject({
    name: z.string().min(1).max(100),
    /** IANA time zone of the property (for the hub's site.configure). */
    timezone: z
      .string()
      .default("Europe/Prague")
      .refine(isValidTimeZone, { error: (i) => `unknown time zone "${String(i.input).slice(0, 64)}": expected an IANA name such as Europe/Prague or America/New_York` }),
    /** Where device-profile JSON files are, relative to the property file. Default: the repository's device-profiles/. */
    profilesDir: z.string().optional(),
    buses: z.array(busSchema).default([]),
    ble: z.strictObject({ host: z.string().default("127.0.0.1"), port: port.default(0), mtu: z.number().int().min(23).max(517).default(23), eventNotify: z.boolean().default(true) }).optional(),
    control: z.strictObject({ port: port.default(0) }).optional(),
    rooms: z.array(roomSchema).default([]),
    commonDoors: z.array(commonDoorSchema).default([]),
  })
  .superRefine((p, ctx) => {
    const doors = [...p.rooms.map((d, i) => ["rooms", i, d] as const), ...p.commonDoors.map((d, i) => ["commonDoors", i, d] as const)];
    const seenDoor = new Map<string, string>();
    const seenLockId = new Map<string, string>();
    const busIds = new Set<string>();
    p.buses.forEach((b, i) => {
      if (busIds.has(b.id)) ctx.addIssue({ code: "custom", path: ["buses", i, "id"], message: `bus "${b.id}" is defined twice` });
      busIds.add(b.id);
      if (b.type === "pty" && b.eventNotify) ctx.addIssue({ code: "custom", path: ["buses", i, "eventNotify"], message: "a serial (pty) bus is polled: no EVENT_NOTIFY" });
    });
    const addrs = new Map<string, string>();
    const commonIds = new Set(p.commonDoors.map((d) => d.doorId));
    for (const [list, i, d] of doors) {
      const here = `${list}[${i}]`;
      if (seenDoor.has(d.doorId)) ctx.addIssue({ code: "custom", path: [list, i, "doorId"], message: `doorId "${d.doorId}" is also used by ${seenDoor.get(d.doorId)}` });
      seenDoor.set(d.doorId, here);
      if (d.lockId) {
        if (seenLockId.has(d.lockId)) ctx.addIssue({ code: "custom", path: [list, i, "lockId"], message: `lockId is also used by ${seenLockId.get(d.lockId)}` });
        seenLockId.set(d.lockId, here);
      }
      if ("bus" in d.link) {
        if (!busIds.has(d.link.bus)) ctx.addIssue({ code: "custom", path: [list, i, "link", "bus"], message: `no bus "${d.link.bus}" in buses` });
        const key = `${d.link.bus}#${d.link.address}`;
        if (addrs.has(key)) ctx.addIssue({ code: "custom", path: [list, i, "link", "address"], message: `address ${d.link.address} on bus "${d.link.bus}" is also used by ${addrs.get(key)}` });
        addrs.set(key, here);
      } else if (!p.ble) {
        ctx.addIssue({ code: "custom", path: [list, i, "link"], message: "a BLE lock needs a ble: section (the BLE proxy)" });
      }
    }
    p.rooms.forEach((r, i) =>
      r.linkedDoorIds.forEach((l, j) => {
        if (!commonIds.has(l)) ctx.addIssue({ code: "custom", path: ["rooms", i, "linkedDoorIds", j], message: `"${l}" is not a common door of this property` });
      }),
    );
  });

export type Property = z.output<typeof propertySchema>;
export type PropertyInput = z.input<typeof propertySchema>;
export type PropertyDoor = (Property["rooms"][number] | Property["commonDoors"][number]) & { kind: "room" | "common" };

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), "");
}

/** Validate a parsed property; throws config_invalid naming the first bad field. */
export function parseProperty(raw: unknown, source = "property"): Property {
  const r = propertySchema.safeParse(raw);
  if (r.success) return r.data;
  // An unknown key is named by its own path (zod reports its parent's), as the hub's config does.
  const where = (i: z.core.$ZodIssue) => formatPath(i.code === "unrecognized_keys" && i.keys[0] !== undefined ? [...i.path, i.keys[0]] : i.path);
  const issues = r.error.issues.map((i) => `${where(i) || "(top level)"}: ${plainMessage(i)}`);
  throw new LockBridgeError("config_invalid", `${source}: ${issues[0]!}`, where(r.error.issues[0]!) || source, { issues });
}

/** zod's wording ("Invalid input: expected number, received string") in a property author's words. */
function plainMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type": {
      // zod keeps the input out of issues; its message names what it received.
      const received = /received (\w+)/.exec(issue.message)?.[1];
      const expected = issue.expected === "object" ? "a mapping" : issue.expected === "array" ? "a list" : `a ${issue.expected}`;
      return received === undefined || received === "undefined" ? `missing (expected ${expected})` : `expected ${expected}, got ${received === "array" ? "a list" : received === "object" ? "a mapping" : `a ${received}`}`;
    }
    case "too_big":
      return `must be at most ${String(issue.maximum)}${issue.origin === "string" ? " characters" : issue.origin === "array" ? " items" : ""}`;
    case "too_small":
      return `must be at least ${String(issue.minimum)}${issue.origin === "string" ? " characters" : issue.origin === "array" ? " items" : ""}`;
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "unrecognized_keys":
      return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    case "invalid_union":
      return "not one of the accepted forms (see docs/simulator.md)";
    default:
      return issue.message;
  }
}

/**
 * Every door's profile resolves (a built-in, a device-profile file, or inline fields): the
 * same check `sim run` makes when it builds the locks, done by `sim check` up front.
 */
export function checkProfiles(p: Property, baseDir: string): void {
  const profilesDir = p.profilesDir ? resolve(baseDir, p.profilesDir) : undefined;
  const issues: string[] = [];
  for (const d of propertyDoors(p)) {
    try {
      loadLockProfile(d.profile, profilesDir);
    } catch (e) {
      issues.push(`${d.doorId}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (issues.length > 0) throw new LockBridgeError("config_invalid", issues[0]!, "profile", { issues });
}

/** Read a YAML or JSON property file. */
export async function loadProperty(file: string): Promise<Property> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new LockBridgeError("config_invalid", `cannot read property file ${file}: ${e instanceof Error ? e.message : String(e)}`, file);
  }
  let raw: unknown;
  try {
    raw = extname(file).toLowerCase() === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new LockBridgeError("config_invalid", `${file}: not valid ${extname(file) === ".json" ? "JSON" : "YAML"}: ${e instanceof Error ? e.message : String(e)}`, file);
  }
  return parseProperty(raw, file);
}

/** Every door with its kind; common doors' linkedToAllRooms expanded into the rooms' links. */
export function propertyDoors(p: Property): (PropertyDoor & { linkedDoorIds: string[] })[] {
  const toAll = p.commonDoors.filter((c) => c.linkedToAllRooms).map((c) => c.doorId);
  return [
    ...p.rooms.map((r) => ({ ...r, kind: "room" as const, linkedDoorIds: [...new Set([...r.linkedDoorIds, ...toAll])] })),
    ...p.commonDoors.map((c) => ({ ...c, kind: "common" as const, linkedDoorIds: [] })),
  ];
}
