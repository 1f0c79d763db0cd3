/**
 * The two agendas of every key: its next window edge (a credential starts or stops being
 * valid: the key is re-derived then), and its at-risk check (a door not ready some minutes
 * before the guest arrives raises key.at_risk once per arrival).
 */
import { assessAtRisk } from "../../access/at-risk.js";
import { targetDoors } from "../../access/linked-doors.js";
import type { Door, KeyStatus } from "../../access/model.js";
import { nextWindowEdgeMs } from "../../access/windows.js";
import type { HubEventInput } from "../../cloud/events.js";
import type { Clock } from "../../shared/clock.js";
import { errorMessage } from "../../shared/errors.js";
import { formatEpochSeconds, formatInstant } from "../../shared/instant.js";
import type { Logger } from "../../shared/logger.js";
import type { Store } from "../../store/index.js";
import { Agenda } from "./agenda.js";

const DEFAULT_AT_RISK_GRACE_MS = 30_000;
/** A window edge whose re-derivation failed is tried again this often. */
export const WINDOW_EDGE_RETRY_MS = 5_000;

export interface KeyAgendaPorts {
  store: Pick<Store, "keys" | "site">;
  clock: Clock;
  log: Logger;
  doors(): Map<string, Door>;
  keyStatus(keyId: string): KeyStatus | null;
  resyncKeys(keyIds: Iterable<string>): void;
  emit(events: readonly HubEventInput[]): void;
  /** After a change inside the at-risk horizon, judge this much later (default 30 s). */
  atRiskGraceMs?: number | undefined;
}

export class KeyAgendas {
  private readonly atRiskReported = new Set<string>();
  private readonly windowAgenda: Agenda;
  private readonly atRiskAgenda: Agenda;

  constructor(private readonly p: KeyAgendaPorts) {
    this.windowAgenda = new Agenda(p.clock, (keyId) => this.onWindowEdge(keyId));
    this.atRiskAgenda = new Agenda(p.clock, (keyId) => this.onAtRiskCheck(keyId));
  }

  stop(): void {
    this.windowAgenda.stop();
    this.atRiskAgenda.stop();
  }

  /** (Re)plans the key's window edge and at-risk check from the store; a removed key has none. */
  schedule(keyId: string): void {
    const { store, clock } = this.p;
    const key = store.keys.get(keyId);
    const site = store.site.get();
    if (!key || !site || key.removedAt !== null) {
      this.windowAgenda.set(keyId, undefined);
      this.atRiskAgenda.set(keyId, undefined);
      return;
    }
    const now = clock.now();
    const { targets } = targetDoors(key, this.p.doors(), site.timezone);
    this.windowAgenda.set(keyId, nextWindowEdgeMs(targets.map((t) => t.window), now));
    // At-risk: judge at (arrival - horizon), or shortly after a change inside the horizon.
    const horizon = site.atRiskMinutes * 60_000;
    const grace = this.p.atRiskGraceMs ?? DEFAULT_AT_RISK_GRACE_MS;
    let due: number | undefined;
    for (const t of targets) {
      const arrival = t.window.validFrom * 1000;
      if (t.window.validUntil * 1000 <= now) continue;
      const check = Math.max(arrival - horizon, now + grace);
      if (due === undefined || check < due) due = check;
    }
    this.atRiskAgenda.set(keyId, due);
  }

  private onWindowEdge(keyId: string): void {
    try {
      this.p.resyncKeys([keyId]);
    } catch (e) {
      // A full data disk (the chaos run's) must not cost the key its edge: it is tried again
      // until the re-derivation commits (a credential starting or ending stays owed till then).
      this.p.log.error({ keyId, err: errorMessage(e), retryInMs: WINDOW_EDGE_RETRY_MS }, "window edge: key resync failed; trying again");
      this.windowAgenda.set(keyId, this.p.clock.now() + WINDOW_EDGE_RETRY_MS);
    }
  }

  private onAtRiskCheck(keyId: string): void {
    const site = this.p.store.site.get();
    const status = this.p.keyStatus(keyId);
    if (!site || !status) return;
    const now = this.p.clock.now();
    const { atRisk, nextCheckAtMs } = assessAtRisk([status], site.atRiskMinutes, now);
    for (const risk of atRisk) {
      const id = `${risk.keyId}|${risk.arrivalMs}`;
      if (this.atRiskReported.has(id)) continue;
      this.atRiskReported.add(id);
      this.p.log.warn({ keyId, arrival: formatEpochSeconds(risk.arrivalMs / 1000) }, "key at risk: a door is not ready before arrival");
      this.p.emit([
        {
          type: "key.at_risk",
          at: formatInstant(now),
          keyId,
          arrival: formatEpochSeconds(Math.floor(risk.arrivalMs / 1000)),
          doors: risk.doors.map((d) => ({ doorId: d.doorId, state: d.state, reasons: d.reasons })),
        },
      ]);
    }
    // Not at risk yet, but a door still not ready may enter the horizon later.
    if (nextCheckAtMs !== undefined) this.atRiskAgenda.set(keyId, nextCheckAtMs);
  }
}
