/**
 * What the console's Progress page shows beside the provisioning counts: the snapshot being
 * received (pages so far, from the store, so it survives a restart) and the last one applied.
 * Firmware jobs are read from the store (firmware/view.ts), like `lockbridge firmware status`.
 */
import type { AnsweredCommand } from "../cloud/cloud-sync.js";
import type { HubView } from "./hub-view.js";

export interface SnapshotView {
  receiving: { snapshotId: string; received: number; pages: number; since: string } | null;
  lastApplied: { at: string; ok: boolean } | null;
}

export class ProgressTracker {
  private lastSnapshot: { at: string; ok: boolean } | null = null;
  private readonly detach: (() => void)[] = [];

  constructor(
    private readonly hub: HubView,
    /** Told when something on the Progress page changed without an event (a snapshot page). */
    private readonly changed: (what: string) => void,
  ) {}

  start(): void {
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

  snapshot(): SnapshotView {
    const current = this.hub.store()?.snapshots.current();
    return {
      receiving: current === undefined ? null : { snapshotId: current.snapshotId, received: current.received, pages: current.pages, since: new Date(current.firstReceivedAt).toISOString() },
      lastApplied: this.lastSnapshot,
    };
  }
}
