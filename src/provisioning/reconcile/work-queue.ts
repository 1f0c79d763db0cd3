/**
 * The order in which a lock's work reaches it (issue 6, "Priorities"): a remote unlock
 * first, then revocations (so a checked-out or removed key is off the door before any new
 * key for that door goes on), then grants by the key's arrival time (the guest who arrives
 * first is served first), then the rest (clock, verification, slot moves, events).
 *
 * One queue per lock. Items are keyed: pushing an item with an id already queued replaces
 * it (the newest plan wins, e.g. a slot re-planned twice is written once). A binary heap
 * keeps push/pop O(log n) for common doors that hold thousands of credentials.
 */

export type WorkClass = "unlock" | "revoke" | "grant" | "maintenance";

/** Lower is more urgent. */
export const WORK_CLASS_RANK: Readonly<Record<WorkClass, number>> = {
  unlock: 0,
  revoke: 1,
  grant: 2,
  maintenance: 3,
};

export interface WorkItem<T> {
  /** Identity of the work, e.g. "put:1:5" (kind 1, slot 5): a newer item with the same id replaces it. */
  id: string;
  class: WorkClass;
  /**
   * Order inside the class, ascending: for grants the key's arrival (epoch ms); for
   * revocations and the rest the time the work was asked for.
   */
  order: number;
  payload: T;
}

interface Entry<T> {
  item: WorkItem<T>;
  rank: number;
  /** Insertion counter: equal (class, order) stay first in, first out. */
  seq: number;
}

export class WorkQueue<T> {
  private heap: Entry<T>[] = [];
  /** Live entry per id; an entry in the heap that is not the live one is stale and skipped. */
  private live = new Map<string, Entry<T>>();
  private seq = 0;

  get size(): number {
    return this.live.size;
  }

  has(id: string): boolean {
    return this.live.has(id);
  }

  get(id: string): WorkItem<T> | undefined {
    return this.live.get(id)?.item;
  }

  /** Adds the item, replacing a queued item with the same id. */
  push(item: WorkItem<T>): void {
    const entry: Entry<T> = { item, rank: WORK_CLASS_RANK[item.class], seq: this.seq++ };
    this.live.set(item.id, entry);
    this.heap.push(entry);
    this.up(this.heap.length - 1);
    // Stale entries are dropped lazily on pop; compact when they dominate so memory stays bounded.
    if (this.heap.length > 64 && this.heap.length > 4 * this.live.size) this.compact();
  }

  remove(id: string): boolean {
    return this.live.delete(id);
  }

  /** The most urgent item without taking it. */
  peek(): WorkItem<T> | undefined {
    this.dropStale();
    return this.heap[0]?.item;
  }

  pop(): WorkItem<T> | undefined {
    this.dropStale();
    const top = this.heap[0];
    if (!top) return undefined;
    this.removeTop();
    this.live.delete(top.item.id);
    return top.item;
  }

  clear(): void {
    this.heap = [];
    this.live.clear();
  }

  /** Items in the order pop() would return them (a copy; for status and tests). */
  toArray(): WorkItem<T>[] {
    return [...this.live.values()].sort(compare).map((e) => e.item);
  }

  /** Drops every item the predicate rejects (e.g. grants for a key just removed). */
  retain(keep: (item: WorkItem<T>) => boolean): void {
    for (const [id, entry] of this.live) if (!keep(entry.item)) this.live.delete(id);
  }

  private dropStale(): void {
    for (;;) {
      const top = this.heap[0];
      if (!top || this.live.get(top.item.id) === top) return;
      this.removeTop();
    }
  }

  private removeTop(): void {
    const last = this.heap.pop();
    if (last && this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
  }

  private compact(): void {
    this.heap = [...this.live.values()].sort(compare);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const a = h[i]!;
      const p = h[parent]!;
      if (compare(a, p) >= 0) return;
      h[i] = p;
      h[parent] = a;
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && compare(h[l]!, h[m]!) < 0) m = l;
      if (r < h.length && compare(h[r]!, h[m]!) < 0) m = r;
      if (m === i) return;
      const t = h[i]!;
      h[i] = h[m]!;
      h[m] = t;
      i = m;
    }
  }
}

function compare<T>(a: Entry<T>, b: Entry<T>): number {
  return a.rank - b.rank || a.item.order - b.item.order || a.seq - b.seq;
}
