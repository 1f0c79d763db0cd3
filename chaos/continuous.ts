/**
 * Invariants checked while the chaos run goes, not only at its end (issue 10: "checked
 * continuously"), every `everyMs` (10 s):
 * - events: a duplicate delivered unasked within one hub session and cloud connection, or a
 *   seq that came again with another event (EventLedger), is a violation the moment it
 *   happens; open gaps in seq are measured (the age of the oldest), not violations: the
 *   contract lets the cloud fill them with events.resend, which the end of the run does;
 * - logs: the hub's new output lines are searched for every door code and card UID handed to
 *   it so far (invariant 6);
 * - resources (invariant 5): the hub's peak RSS, its open files and the store's size must
 *   stay under BOUNDS (a leak over a 30-minute run crosses them; the 30-minute, 100-lock run
 *   of 2026-11-29 reached 328 MiB, 88 files, 47 MiB: docs/reliability.md).
 * - guests (invariant 4): a simulated guest's try judged a violation (chaos/guests.ts,
 *   chaos/guest-verdict.ts), flagged with the second it happened and the try as a sample.
 * A violation is recorded once per kind, with the second of the run it was first seen at.
 */
import type { EventLedger } from "./event-ledger.js";
import { storeSize, type ResourceSampler } from "./resources.js";
import type { GuestViolation } from "./guests.js";

export const BOUNDS = { rssMiB: 512, openFiles: 256, storeMiB: 128 } as const;

export interface ContinuousReport {
  checks: number;
  everyS: number;
  bounds: typeof BOUNDS;
  /** The longest any seq stayed missing while later ones had arrived, in seconds. */
  maxOpenGapS: number;
  violations: number;
}

/** Door codes and card UIDs that appear in `text` (ids that are UUIDs are taken out first). */
export function leakedSecrets(lines: readonly string[], codes: ReadonlySet<string>, uids: ReadonlySet<string>): { codes: number; uids: number } {
  // Command ids and boot ids are UUIDs: their hex holds digit runs that match some code by
  // chance (thousands of ids and codes in a run).
  const text = lines.join("\n").replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<uuid>");
  const digitRuns = new Set(text.match(/\d{8,}/g) ?? []);
  const lower = text.toLowerCase();
  return { codes: [...codes].filter((c) => digitRuns.has(c)).length, uids: [...uids].filter((u) => lower.includes(u)).length };
}

export class ContinuousChecks {
  readonly violations: string[] = [];
  private checks = 0;
  private maxOpenGapMs = 0;
  private scanned = 0;
  private guestsSeen = 0;
  private readonly missingSince = new Map<number, number>();
  private readonly flagged = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly d: {
      cloud: { events: Pick<EventLedger, "counts" | "missingSeqs" | "duplicateSamples"> };
      /** The simulated guests' violations (chaos/guests.ts), flagged at the second they happened. */
      guests?: { violations: readonly GuestViolation[] };
      secrets: { codes: ReadonlySet<string>; uids: ReadonlySet<string> };
      hubOutput: readonly string[];
      resources: Pick<ResourceSampler, "sample" | "peakRssMiB" | "last">;
      dataDir: string;
      startedAt: number;
      log: (line: string) => void;
    },
    private readonly everyMs = 10_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), this.everyMs);
  }

  stop(): ContinuousReport {
    clearInterval(this.timer);
    this.check();
    return { checks: this.checks, everyS: this.everyMs / 1000, bounds: BOUNDS, maxOpenGapS: Math.round(this.maxOpenGapMs / 100) / 10, violations: this.violations.length };
  }

  check(now = Date.now()): void {
    this.checks++;
    const { cloud, resources } = this.d;
    const c = cloud.events.counts;
    if (c.duplicates > 0) this.flag("duplicates", now, `${c.duplicates} events delivered twice within one hub session and cloud connection, unasked (${this.d.cloud.events.duplicateSamples.join("; ")})`);
    if (c.seqReused > 0) this.flag("seqReused", now, `${c.seqReused} seqs arrived again carrying another event`);

    const missing = new Set(cloud.events.missingSeqs());
    for (const seq of this.missingSince.keys()) if (!missing.has(seq)) this.missingSince.delete(seq);
    for (const seq of missing) if (!this.missingSince.has(seq)) this.missingSince.set(seq, now);
    for (const since of this.missingSince.values()) this.maxOpenGapMs = Math.max(this.maxOpenGapMs, now - since);

    const lines = this.d.hubOutput.slice(this.scanned);
    this.scanned += lines.length;
    const leaked = leakedSecrets(lines, this.d.secrets.codes, this.d.secrets.uids);
    if (leaked.codes > 0) this.flag("codes", now, `door codes in the hub's log`);
    if (leaked.uids > 0) this.flag("uids", now, `card UIDs in the hub's log`);

    resources.sample();
    if (resources.peakRssMiB > BOUNDS.rssMiB) this.flag("rss", now, `hub RSS ${resources.peakRssMiB} MiB over the bound of ${BOUNDS.rssMiB} MiB`);
    if (resources.last.openFiles > BOUNDS.openFiles) this.flag("files", now, `hub has ${resources.last.openFiles} open files, over the bound of ${BOUNDS.openFiles}`);
    const store = storeSize(this.d.dataDir);
    if (store > BOUNDS.storeMiB) this.flag("store", now, `store ${store} MiB over the bound of ${BOUNDS.storeMiB} MiB`);

    // Invariant 4 during the run: a guest denied where the rule says must open, or let in where it says must not.
    const guests = this.d.guests?.violations ?? [];
    for (const v of guests.slice(this.guestsSeen)) this.flag(`guests:${v.kind}`, v.atMs, `guest ${v.line}`);
    this.guestsSeen = guests.length;
  }

  private flag(kind: string, now: number, what: string): void {
    if (this.flagged.has(kind)) return;
    this.flagged.add(kind);
    const line = `during the run (${Math.round((now - this.d.startedAt) / 1000)} s): ${what}`;
    this.violations.push(line);
    this.d.log(`VIOLATION ${line}`);
  }
}
