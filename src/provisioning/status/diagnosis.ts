/**
 * `diagnose`: assembles the plain snapshots the diagnosis rules (src/diagnosis) read, from
 * the store, the desired state and the statuses.
 */
import type { CredentialType, Key } from "../../access/model.js";
import { diagnoseDoor, diagnoseKey, type DiagnosisLock, type Finding } from "../../diagnosis/index.js";
import { LockBridgeError } from "../../shared/errors.js";
import type { Clock } from "../../shared/clock.js";
import type { DesiredState } from "../desired/desired-state.js";
import type { StatusModel } from "./status-model.js";

/** What diagnosis reads beside the store: doors, lifecycles and which keys reach which doors, the statuses, the time. */
export interface DiagnosisPorts {
  desired: Pick<DesiredState, "doors" | "lifecycle" | "keysReachingDoors">;
  statuses: Pick<StatusModel, "keyStatus" | "keyStatusForResponse" | "keyDecisions" | "lockStatus" | "lockFact">;
  clock: Pick<Clock, "now">;
}

/** The store repositories diagnosis reads. */
export type DiagnosisStore = Pick<Store, "site" | "keys" | "keycards" | "keyFacts" | "doors" | "locks" | "outbox" | "lockFacts">;
import { replacedBy } from "../reconcile/replaced.js";
import type { Store } from "../../store/index.js";

function describeLink(store: DiagnosisStore, lockId: string): string | undefined {
  const link = store.locks.get(lockId)?.link;
  if (!link) return undefined;
  return link.type === "serial" ? `serial ${link.path} addr ${link.address}` : link.type === "tcp" ? `tcp ${link.host}:${link.port} addr ${link.address}` : `ble ${link.lockId}`;
}

/** Bus error counters by lockId (the lock links' stats), when the caller has them. */
export type LinkErrorsOf = (lockId: string) => { timeouts: number; crcErrors: number; retries: number } | undefined;

const RECENT_MS = 24 * 3600 * 1000;
const RECENT_EVENTS = 2000;

/** Tamper alarms and security alerts per lock in the last 24 h, from the outbox. */
function recentAlarms(store: DiagnosisStore, nowMs: number): Map<string, { tamper: boolean; security: string[] }> {
  const out = new Map<string, { tamper: boolean; security: string[] }>();
  const since = nowMs - RECENT_MS;
  const last = store.outbox.lastSeq();
  for (const { event } of store.outbox.from(Math.max(0, last - RECENT_EVENTS + 1), RECENT_EVENTS)) {
    if (typeof event.lockId !== "string" || Date.parse(String(event.at)) < since) continue;
    if (event.type !== "lock.tamper" && event.type !== "lock.security_alert") continue;
    const entry = out.get(event.lockId) ?? { tamper: false, security: [] };
    if (event.type === "lock.tamper") entry.tamper = true;
    else entry.security.push(typeof event.reason === "string" ? event.reason : "unspecified");
    out.set(event.lockId, entry);
  }
  return out;
}

function diagnosisLocks(store: DiagnosisStore, ports: DiagnosisPorts, linkErrors?: LinkErrorsOf): DiagnosisLock[] {
  const out: DiagnosisLock[] = [];
  const alarms = recentAlarms(store, ports.clock.now());
  for (const lock of store.locks.list()) {
    const status = ports.statuses.lockStatus(lock.lockId);
    const fact = ports.statuses.lockFact(lock.lockId);
    if (!status || !fact) continue;
    const slots: Partial<Record<CredentialType, { used: number; total: number }>> = status.slots;
    const link = describeLink(store, lock.lockId);
    out.push({
      ...fact,
      ...(status.clockDriftS !== null ? { clockDriftS: status.clockDriftS } : {}),
      slots,
      ...(link !== undefined ? { link } : {}),
      ...(lock.battery !== null ? { battery: lock.battery } : {}),
      ...(alarms.get(lock.lockId)?.tamper ? { recentTamper: true } : {}),
      ...(alarms.get(lock.lockId)?.security.length ? { securityAlerts: [...new Set(alarms.get(lock.lockId)!.security)] } : {}),
      ...(linkErrors?.(lock.lockId) ? { linkErrors: linkErrors(lock.lockId)! } : {}),
      ...(lock.state === "replaced" ? { replaced: true, ...(replacedBy(store, lock.lockId) ? { replacedBy: replacedBy(store, lock.lockId)! } : {}) } : {}),
    });
  }
  return out;
}

export function diagnose(store: DiagnosisStore, ports: DiagnosisPorts, target: { keyId: string } | { doorId: string }, linkErrors?: LinkErrorsOf): Finding[] {
  const site = store.site.get();
  if (!site) throw new LockBridgeError("unknown_site", "no site configured");
  const doors = [...ports.desired.doors().values()];
  const nowMs = ports.clock.now();
  if ("keyId" in target) {
    const record = store.keys.get(target.keyId);
    if (!record) throw new LockBridgeError("unknown_key", `no key ${target.keyId}`, "keyId");
    const status = ports.statuses.keyStatusForResponse(target.keyId);
    const card = store.keycards.assignedTo(target.keyId);
    const unused = store.keycards.list().filter((c) => c.assignedKeyId === null).length;
    const decisions = ports.statuses.keyDecisions(record);
    return diagnoseKey({
      site,
      doors,
      locks: diagnosisLocks(store, ports, linkErrors),
      key: record as Key,
      lifecycle: ports.desired.lifecycle(target.keyId),
      status,
      doorCode: decisions.doorCode,
      keycard: decisions.keycard,
      unusedKeycards: unused,
      ...(card ? { keycardLabel: card.label } : {}),
      settingsHistory: store.keyFacts.settingsChanges(target.keyId),
      nowMs,
    });
  }
  if (!store.doors.get(target.doorId)) throw new LockBridgeError("unknown_door", `no door ${target.doorId}`, "doorId");
  const keys = [...ports.desired.keysReachingDoors([target.doorId])].flatMap((keyId) => {
    const key = store.keys.get(keyId);
    const status = ports.statuses.keyStatus(keyId);
    return key && status ? [{ key: key as Key, status }] : [];
  });
  return diagnoseDoor({ site, doors, locks: diagnosisLocks(store, ports, linkErrors), doorId: target.doorId, keys, nowMs });
}
