/**
 * What the console's Progress page shows beside the provisioning counts: the snapshot being
 * received (pages so far, from the store, so it survives a restart) and the last one applied,
 * and the firmware jobs, rebuilt from the firmware.* events the hub holds and kept up to date
 * from the live feed (jobs are not stored apart: their events are the record).
 */
import type { AnsweredCommand } from "../cloud/cloud-sync.js";
import type { EventFeed } from "./event-feed.js";
import type { HubView } from "./hub-view.js";
import type { FeedEvent } from "./schemas.js";

export interface FirmwareLockProgress {
  lockId: string;
  state: "updating" | "applied" | "failed";
  percent: number;
  reason?: string;
  at: string;
}

export interface FirmwareJobView {
  jobId: string;
  version: string | null;
  locks: FirmwareLockProgress[];
  counts: { total: number; updating: number; applied: number; failed: number };
  updatedAt: string;
}

export interface SnapshotView {
  receiving: { snapshotId: string; received: number; pages: number; since: string } | null;
  lastApplied: { at: string; ok: boolean } | null;
}

const MAX_JOBS = 20;
const BACKFILL = 10_000;

export class ProgressTracker {
  private readonly jobs = new Map<string, { version: string | null; locks: Map<string, FirmwareLockProgress>; updatedAt: string }>();
  private lastSnapshot: { at: string; ok: boolean } | null = null;
  private readonly detach: (() => void)[] = [];

  constructor(
    private readonly hub: HubView,
    private readonly feed: EventFeed,
    /** Told when something on the Progress page changed without an event (a snapshot page). */
    private readonly changed: (what: string) => void,
  ) {}

  start(): void {
    const newest = this.feed.newestSeq;
    for (let from = Math.max(0, newest - BACKFILL + 1); from <= newest; ) {
      const batch = this.feed.since(from);
      if (batch.length === 0) break;
      for (const e of batch) this.onEvent(e);
      from = batch[batch.length - 1]!.seq + 1;
    }
    this.detach.push(this.feed.subscribe((e) => this.onEvent(e)));
    const cloud = this.hub.cloud();
    if (cloud) this.detach.push(cloud.onCommandAnswered((a) => this.onAnswered(a)));
  }

  stop(): void {
    for (const d of this.detach.splice(0)) d();
  }

  private onAnswered(a: AnsweredCommand): void {
    if (a.cmd !== "sync.snapshot") return;
    // A page answered while no pages are held was the last one: the snapshot was applied (or refused).
    if (this.hub.store()?.snapshots.current() === undefined) this.lastSnapshot = { at: new Date().toISOString(), ok: a.ok };
    this.changed("snapshot");
  }

  private onEvent(e: FeedEvent): void {
    if (!e.type.startsWith("firmware.") || typeof e.jobId !== "string" || typeof e.lockId !== "string") return;
    let job = this.jobs.get(e.jobId);
    if (!job) {
      job = { version: null, locks: new Map(), updatedAt: e.at };
      this.jobs.set(e.jobId, job);
      while (this.jobs.size > MAX_JOBS) this.jobs.delete(this.jobs.keys().next().value!);
    }
    job.updatedAt = e.at;
    const before = job.locks.get(e.lockId);
    if (e.type === "firmware.progress") {
      job.locks.set(e.lockId, { lockId: e.lockId, state: "updating", percent: typeof e.percent === "number" ? e.percent : (before?.percent ?? 0), at: e.at });
    } else if (e.type === "firmware.applied") {
      if (typeof e.version === "string") job.version = e.version;
      job.locks.set(e.lockId, { lockId: e.lockId, state: "applied", percent: 100, at: e.at });
    } else if (e.type === "firmware.failed") {
      job.locks.set(e.lockId, { lockId: e.lockId, state: "failed", percent: before?.percent ?? 0, ...(typeof e.reason === "string" && { reason: e.reason }), at: e.at });
    }
  }

  firmware(): FirmwareJobView[] {
    return [...this.jobs.entries()].reverse().map(([jobId, j]) => {
      const locks = [...j.locks.values()];
      const count = (s: FirmwareLockProgress["state"]) => locks.filter((l) => l.state === s).length;
      return { jobId, version: j.version, locks, counts: { total: locks.length, updating: count("updating"), applied: count("applied"), failed: count("failed") }, updatedAt: j.updatedAt };
    });
  }

  snapshot(): SnapshotView {
    const current = this.hub.store()?.snapshots.current();
    return {
      receiving: current === undefined ? null : { snapshotId: current.snapshotId, received: current.received, pages: current.pages, since: new Date(current.firstReceivedAt).toISOString() },
      lastApplied: this.lastSnapshot,
    };
  }
}
