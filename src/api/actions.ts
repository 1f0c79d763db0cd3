/**
 * Installer actions: the contract's own commands (lock.commission, lock.decommission,
 * door.upsert, diagnose) run in process through the cloud sync's command queue, so an action
 * does exactly what the same command from the cloud does, and is answered the same way.
 * Each action reports its steps as it goes (the CLI shows them, the console will too).
 */
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { z } from "zod";
import { LockBridgeError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { replacedBy } from "../provisioning/reconcile/replaced.js";
import type { HubView } from "./hub-view.js";
import type { ActionResponse, backupBodySchema, commissionBodySchema, decommissionBodySchema, diagnoseBodySchema, recommissionBodySchema, replaceBodySchema, revealCodeBodySchema } from "./schemas.js";

export type Step = (text: string) => void;

export class InstallerActions {
  constructor(
    private readonly hub: HubView,
    private readonly log: Logger,
  ) {}

  private async command(cmd: string, params: Record<string, unknown>): Promise<ActionResponse> {
    const cloud = this.hub.cloud();
    if (!cloud || !this.hub.ready()) throw new LockBridgeError("internal", "the hub is not ready yet (starting or stopping): try again in a moment");
    const response = await cloud.runLocal({ id: `installer-${randomUUID()}`, cmd, ts: new Date().toISOString(), ...params });
    this.log.info({ cmd, ok: response.ok, ...(!response.ok && { error: response.error.code }) }, "installer action");
    return response as ActionResponse;
  }

  commission(body: z.output<typeof commissionBodySchema>, step: Step): Promise<ActionResponse> {
    step(`commissioning ${body.lockId} on ${describeLink(body.link)}: IDENT, pairing, clock`);
    return this.command("lock.commission", { lockId: body.lockId.toLowerCase(), profile: body.profile, link: body.link, ...(body.setupKey !== undefined && { setupKey: body.setupKey }) });
  }

  /** lock.commission again with the lock's stored link and profile (after a factory reset, pairing_lost, or its own return after "replaced"). */
  recommission(body: z.output<typeof recommissionBodySchema>, step: Step): Promise<ActionResponse> {
    const lockId = body.lockId.toLowerCase();
    const lock = this.hub.store()?.locks.get(lockId);
    if (!lock) return Promise.resolve(refusal("lock.commission", "unknown_lock", `no lock ${lockId} on this hub: commission it with its link and profile`, "lockId"));
    step(`commissioning ${lockId} again on ${describeLink(lock.link)} (${lock.profileId}): IDENT, pairing, clock`);
    return this.command("lock.commission", { lockId, profile: lock.profileId, link: lock.link, ...(body.setupKey !== undefined && { setupKey: body.setupKey }) });
  }

  decommission(body: z.output<typeof decommissionBodySchema>, step: Step): Promise<ActionResponse> {
    step(body.wipe ? `wiping every credential on ${body.lockId}, then taking it out of service` : `taking ${body.lockId} out of service`);
    return this.command("lock.decommission", { lockId: body.lockId.toLowerCase(), wipe: body.wipe });
  }

  diagnose(body: z.output<typeof diagnoseBodySchema>): Promise<ActionResponse> {
    return this.command("diagnose", { ...body });
  }

  /**
   * The new lock takes the old one's link and doors: commission it (same link, the old
   * profile unless another is given), point each door at it, then forget the old lockId.
   * Stops at the first refused step and says which; what was done stays done and is named.
   */
  async replace(body: z.output<typeof replaceBodySchema>, step: Step): Promise<ActionResponse> {
    const store = this.hub.store();
    if (!store) throw new LockBridgeError("internal", "the store is not open");
    const oldId = body.oldLockId.toLowerCase();
    const old = store.locks.get(oldId);
    if (!old) return refusal("lock.replace", "unknown_lock", `no lock ${oldId} on this hub`, "oldLockId");
    const seen = replacedBy(store, oldId);
    const newId = body.newLockId.toLowerCase();
    if (seen !== null && seen !== newId) step(`note: lock ${seen} answered at this link, not ${newId}`);
    const doors = store.doors.byLock(oldId);
    const link = old.link.type === "ble" ? { type: "ble" as const, lockId: newId } : old.link;
    // A lock still in service holds its bus address: it goes first (its link key is useless
    // once it is off the door), then the new lock can take the address.
    const stillInService = old.state !== "replaced";
    if (stillInService) {
      step(`0/3 taking ${oldId} out of service (it is still commissioned on this link)`);
      const out = await this.command("lock.decommission", { lockId: oldId, wipe: false });
      if (!out.ok) return out;
    }
    step(`1/3 commissioning ${newId} on ${describeLink(link)}`);
    const commissioned = await this.command("lock.commission", { lockId: newId, profile: body.profile ?? old.profileId, link, ...(body.setupKey !== undefined && { setupKey: body.setupKey }) });
    if (!commissioned.ok) return commissioned;
    for (const door of doors) {
      step(`2/3 door ${door.doorId} (${door.name}) now on ${newId}`);
      const moved = await this.command("door.upsert", { doorId: door.doorId, name: door.name, lockId: newId, kind: door.kind, linkedDoorIds: door.linkedDoorIds, protectConfiguration: door.protectConfiguration });
      if (!moved.ok) return moved;
    }
    if (!stillInService) {
      step(`3/3 forgetting ${oldId}`);
      const forgotten = await this.command("lock.decommission", { lockId: oldId, wipe: false });
      if (!forgotten.ok) return forgotten;
    }
    return { id: commissioned.id, cmd: "lock.replace", ok: true, result: { oldLockId: oldId, newLockId: newId, doorIds: doors.map((d) => d.doorId), ident: commissioned.result.ident } };
  }

  /**
   * One key's door code, for an installer who asked for it explicitly (a guest at the door with
   * no phone). The only way a code leaves the hub through the local API; the action log names
   * the key and who asked, never the code.
   */
  revealCode(body: z.output<typeof revealCodeBodySchema>): Promise<ActionResponse> {
    const status = this.hub.statuses()?.keyStatus(body.keyId);
    if (!status) return Promise.resolve(refusal("reveal-code", "unknown_key", `no key ${body.keyId} on this hub`, "keyId"));
    const code = status.doorCode.state === "assigned" ? status.doorCode.code : undefined;
    if (code === undefined) return Promise.resolve(refusal("reveal-code", "code_unavailable", `key ${body.keyId} has no door code assigned (${status.doorCode.state})`, "keyId"));
    return Promise.resolve({ id: null, cmd: "reveal-code", ok: true, result: { keyId: body.keyId, code } });
  }

  async backup(_body: z.output<typeof backupBodySchema>, step: Step): Promise<ActionResponse> {
    const dir = join(this.hub.config.dataDir, "backups");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `store-${new Date().toISOString().replace(/[:.]/g, "-")}.db`);
    step(`writing ${file}`);
    const result = await this.hub.backup(file);
    this.log.info({ file: result.file, bytes: result.bytes }, "installer action: store backup");
    return { id: null, cmd: "store.backup", ok: true, result: { file: result.file, bytes: result.bytes, schemaVersion: result.schemaVersion } };
  }
}

function refusal(cmd: string, code: string, message: string, path?: string): ActionResponse {
  return { id: null, cmd, ok: false, error: { code, message, ...(path !== undefined && { path }) } };
}

export function describeLink(link: { type: string; path?: string; host?: string; port?: number; address?: number; lockId?: string }): string {
  if (link.type === "serial") return `${link.path} address ${link.address}`;
  if (link.type === "tcp") return `${link.host}:${link.port} address ${link.address}`;
  return `BLE ${link.lockId}`;
}
