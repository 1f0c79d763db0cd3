/**
 * Keys at risk (mqtt-api.md §5 `key.at_risk`): a key whose arrival is within the site's
 * atRiskMinutes while one of its doors is not ready — `pending` or `failed` — must be
 * reported BEFORE the guest arrives. The assessment also says when to look again, so the
 * engine can set one timer for the next key entering the horizon instead of polling.
 *
 * Not counted: doors `inactive` because the key is not checked in (PMS check-in happens at
 * arrival and triggers provisioning at once; the hub cannot be late for it) or because the
 * window has not started (that is the normal, ready state of a future stay), and doors being
 * revoked. A door whose arrival has passed but whose window is still open stays at risk: the
 * guest is there and the door does not work. The engine re-assesses on every status change
 * and at nextCheckAtMs, and reports each (keyId, arrival) once.
 */
import type { DoorState, KeyStatus } from "./model.js";

export interface AtRiskDoor {
  doorId: string;
  state: DoorState;
  reasons: string[];
  arrivalMs: number;
}

export interface AtRiskKey {
  keyId: string;
  /** Earliest arrival among the doors at risk. */
  arrivalMs: number;
  doors: AtRiskDoor[];
}

export interface AtRiskAssessment {
  atRisk: AtRiskKey[];
  /** When a not-ready door next enters the horizon (ms), if any. */
  nextCheckAtMs: number | undefined;
}

const NOT_READY: ReadonlySet<DoorState> = new Set<DoorState>(["pending", "failed"]);

export function assessAtRisk(statuses: Iterable<KeyStatus>, atRiskMinutes: number, nowMs: number): AtRiskAssessment {
  const horizonMs = atRiskMinutes * 60_000;
  const atRisk: AtRiskKey[] = [];
  let nextCheckAtMs: number | undefined;
  for (const status of statuses) {
    const doors: AtRiskDoor[] = [];
    for (const d of status.doors) {
      if (!NOT_READY.has(d.state) || d.validFrom === undefined || d.validUntil === undefined) continue;
      const arrivalMs = Date.parse(d.validFrom);
      const departureMs = Date.parse(d.validUntil);
      if (departureMs <= nowMs) continue;
      if (arrivalMs - horizonMs <= nowMs) {
        doors.push({ doorId: d.doorId, state: d.state, reasons: [...d.reasons], arrivalMs });
      } else if (nextCheckAtMs === undefined || arrivalMs - horizonMs < nextCheckAtMs) {
        nextCheckAtMs = arrivalMs - horizonMs;
      }
    }
    if (doors.length > 0) atRisk.push({ keyId: status.keyId, arrivalMs: Math.min(...doors.map((d) => d.arrivalMs)), doors });
  }
  atRisk.sort((a, b) => a.arrivalMs - b.arrivalMs || (a.keyId < b.keyId ? -1 : 1));
  return { atRisk, nextCheckAtMs };
}
