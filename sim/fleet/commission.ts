import { randomUUID, type KeyObject } from "node:crypto";
import mqtt from "mqtt";
import { signCommand } from "../../src/cloud/signing.js";
import type { ReadyInfo } from "./fleet.js";

export interface CommissionOptions {
  /** The hub's broker, e.g. mqtt://127.0.0.1:1883. */
  url: string;
  hubId: string;
  /** Topic prefix (default "lockbridge"). */
  prefix?: string;
  /** Per command. Default 30 s (commissioning a BLE lock scans and pairs). */
  timeoutMs?: number;
  /** Locks already paired (a restarted fleet with its state file): not commissioned again. */
  skipLockIds?: ReadonlySet<string>;
  log?: (line: string) => void;
  /** The cloud's Ed25519 private key: every command is signed with it (a hub with a command key requires it). */
  signingKey?: KeyObject | undefined;
}

export interface CommissionReport {
  sent: number;
  failed: { cmd: string; target: string; error: string }[];
}

interface Response {
  id: string | null;
  cmd?: string;
  ok: boolean;
  error?: { code: string; message: string };
}

/**
 * Acts as the cloud once, to put a simulated property into a hub over the MQTT contract
 * (mqtt-api.md §3): site.configure, lock.commission for each lock, door.upsert for each
 * door (common doors first, so rooms can link to them). Each command waits for its response.
 */
export async function commissionIntoHub(ready: ReadyInfo, opts: CommissionOptions): Promise<CommissionReport> {
  const base = `${opts.prefix ?? "lockbridge"}/v1/${opts.hubId}`;
  const log = opts.log ?? (() => undefined);
  const client = await mqtt.connectAsync(opts.url, { clientId: `lockbridge-sim-${randomUUID().slice(0, 8)}`, clean: true, reconnectPeriod: 0 });
  const waiting = new Map<string, (r: Response) => void>();
  client.on("message", (_topic, payload) => {
    let r: Response;
    try {
      r = JSON.parse(payload.toString("utf8")) as Response;
    } catch {
      return; // not a contract response: not ours to judge
    }
    if (r.id) waiting.get(r.id)?.(r);
  });
  await client.subscribeAsync(`${base}/res`, { qos: 1 });
  const report: CommissionReport = { sent: 0, failed: [] };
  const send = async (cmd: string, target: string, params: Record<string, unknown>) => {
    const id = `sim-${cmd}-${target}-${randomUUID().slice(0, 8)}`;
    const answer = new Promise<Response>((resolve) => {
      const timer = setTimeout(() => resolve({ id, ok: false, error: { code: "timeout", message: `no response in ${opts.timeoutMs ?? 30_000} ms` } }), opts.timeoutMs ?? 30_000);
      waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    const command = { id, cmd, ts: new Date().toISOString(), ...params };
    await client.publishAsync(`${base}/cmd`, JSON.stringify(opts.signingKey ? signCommand(command, opts.signingKey) : command), { qos: 1 });
    report.sent++;
    const r = await answer;
    waiting.delete(id);
    if (!r.ok) report.failed.push({ cmd, target, error: `${r.error?.code ?? "?"}: ${r.error?.message ?? ""}` });
    log(`${cmd} ${target}: ${r.ok ? "ok" : `FAILED ${r.error?.code ?? ""} ${r.error?.message ?? ""}`}`);
  };
  try {
    const siteId = ready.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "sim";
    await send("site.configure", siteId, {
      siteId,
      timezone: ready.timezone,
      credentialTypes: { doorCode: true, keycard: true, smartKey: true },
      doorCodeLength: 6,
    });
    for (const d of ready.doors) {
      if (opts.skipLockIds?.has(d.lockId)) {
        log(`lock.commission ${d.doorId}: skipped (already paired)`);
        continue;
      }
      await send("lock.commission", d.doorId, { lockId: d.lockId, profile: d.profile, link: d.link, ...(d.setupKey ? { setupKey: d.setupKey } : {}) });
    }
    const ordered = [...ready.doors.filter((d) => d.kind === "common"), ...ready.doors.filter((d) => d.kind === "room")];
    for (const d of ordered) {
      await send("door.upsert", d.doorId, {
        doorId: d.doorId, name: d.name, lockId: d.lockId, kind: d.kind, linkedDoorIds: d.linkedDoorIds, protectConfiguration: false,
      });
    }
  } finally {
    await client.endAsync();
  }
  return report;
}
