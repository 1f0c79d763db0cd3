/**
 * Loads device-profiles/*.json. Every problem names the file and the field
 * (`device-profiles/x.json: serial.baudRate: expected one of 9600, ...`); a bad file is
 * refused whole, never half-used.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import type { z } from "zod";
import { LockBridgeError } from "../shared/errors.js";
import { deviceProfileSchema, type DeviceProfile } from "./schema.js";

export const PROFILE_SCHEMA_FILE = "schema.json";

function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith("..") ? file : rel;
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out ? "." : ""}${String(p)}`;
  return out || "(root)";
}

function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((k) => `${fieldPath([...issue.path, k])}: unknown field`).join("; ");
  }
  return `${fieldPath(issue.path)}: ${issue.message}`;
}

/** Parse and validate one profile's text. Throws profile_invalid naming the file and every bad field. */
export function parseProfile(text: string, file: string): DeviceProfile {
  const where = displayPath(file);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LockBridgeError("profile_invalid", `${where}: not valid JSON (${e instanceof Error ? e.message : String(e)})`, where);
  }
  const result = deviceProfileSchema.safeParse(json);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${where}: ${issueText(i)}`);
    throw new LockBridgeError("profile_invalid", lines.join("\n"), where, { issues: lines });
  }
  const expectedId = basename(file, ".json");
  if (result.data.id !== expectedId) {
    throw new LockBridgeError("profile_invalid", `${where}: id: expected "${expectedId}" (the file name), got "${result.data.id}"`, where);
  }
  return result.data;
}

export interface ProfileScan {
  profiles: ProfileRegistry;
  /** One profile_invalid error per refused file. */
  errors: LockBridgeError[];
}

/** Read every profile in a folder; bad files are refused and reported, good ones kept. */
export function scanProfiles(dir: string): ProfileScan {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json") && n !== PROFILE_SCHEMA_FILE).sort();
  } catch (e) {
    const err = new LockBridgeError("profile_invalid", `${displayPath(dir)}: cannot read the profiles folder (${e instanceof Error ? e.message : String(e)})`, dir);
    return { profiles: new ProfileRegistry([]), errors: [err] };
  }
  const profiles: DeviceProfile[] = [];
  const errors: LockBridgeError[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      profiles.push(parseProfile(readFileSync(file, "utf8"), file));
    } catch (e) {
      errors.push(e instanceof LockBridgeError ? e : new LockBridgeError("profile_invalid", `${displayPath(file)}: ${String(e)}`, file));
    }
  }
  return { profiles: new ProfileRegistry(profiles), errors };
}

/** Read every profile; any bad file is an error for the whole load (startup, CI lint). */
export function loadProfiles(dir: string): ProfileRegistry {
  const { profiles, errors } = scanProfiles(dir);
  if (errors.length > 0) {
    throw new LockBridgeError("profile_invalid", errors.map((e) => e.message).join("\n"), dir, { files: errors.map((e) => e.path) });
  }
  return profiles;
}

export class ProfileRegistry {
  private readonly byId = new Map<string, DeviceProfile>();

  constructor(profiles: readonly DeviceProfile[]) {
    for (const p of profiles) this.byId.set(p.id, p);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Throws unknown_profile (a contract code: lock.commission names a profile the hub lacks). */
  get(id: string): DeviceProfile {
    const p = this.byId.get(id);
    if (!p) throw new LockBridgeError("unknown_profile", `no device profile "${id}"`, id);
    return p;
  }

  list(): DeviceProfile[] {
    return [...this.byId.values()];
  }
}
