import { readFile, rename, writeFile } from "node:fs/promises";
import { z } from "zod";
import { LockBridgeError } from "../../src/shared/errors.js";
import { simLockStateSchema, type SimLockState } from "../lock/state.js";

/** What a fleet remembers between runs: every lock's state, by doorId. */
export const fleetStateSchema = z.object({
  version: z.literal(1),
  savedAt: z.string(),
  locks: z.record(z.string(), simLockStateSchema),
});
export type FleetState = z.infer<typeof fleetStateSchema>;

/** Undefined when the file does not exist; config_invalid when it is not a fleet state file. */
export async function readFleetState(file: string): Promise<FleetState | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new LockBridgeError("config_invalid", `state file ${file} is not JSON (delete it to start the fleet afresh)`, file);
  }
  const r = fleetStateSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new LockBridgeError("config_invalid", `state file ${file}: ${i.path.join(".")}: ${i.message} (delete it to start afresh)`, file);
  }
  return r.data;
}

/** Write atomically (temp file + rename), so a killed simulator never leaves half a file. */
export async function writeFleetState(file: string, locks: Record<string, SimLockState>, now = new Date()): Promise<void> {
  const state: FleetState = { version: 1, savedAt: now.toISOString(), locks };
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state)}\n`, "utf8");
  await rename(tmp, file);
}
