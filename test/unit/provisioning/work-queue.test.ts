import { describe, expect, it } from "vitest";
import { WorkQueue, type WorkClass } from "../../../src/provisioning/reconcile/work-queue.js";
import { seededRandom } from "../../../src/shared/random.js";

const item = (id: string, cls: WorkClass, order: number) => ({ id, class: cls, order, payload: id });

describe("WorkQueue", () => {
  it("serves unlock, then revocations, then grants by arrival, then the rest", () => {
    const q = new WorkQueue<string>();
    q.push(item("verify", "maintenance", 0));
    q.push(item("grant-late", "grant", 2000));
    q.push(item("revoke-b", "revoke", 20));
    q.push(item("grant-early", "grant", 1000));
    q.push(item("unlock", "unlock", 99));
    q.push(item("revoke-a", "revoke", 10));
    const out: string[] = [];
    for (let i = q.pop(); i; i = q.pop()) out.push(i.id);
    expect(out).toEqual(["unlock", "revoke-a", "revoke-b", "grant-early", "grant-late", "verify"]);
  });

  it("a revocation queued after a grant for the same door still goes first", () => {
    const q = new WorkQueue<string>();
    q.push(item("put:1:3 new guest", "grant", 0));
    q.push(item("del:1:7 checked-out guest", "revoke", 5000));
    expect(q.pop()?.id).toBe("del:1:7 checked-out guest");
  });

  it("keeps first-in first-out among equals", () => {
    const q = new WorkQueue<string>();
    for (const id of ["a", "b", "c", "d"]) q.push(item(id, "grant", 7));
    expect(q.toArray().map((i) => i.id)).toEqual(["a", "b", "c", "d"]);
    expect([q.pop()?.id, q.pop()?.id]).toEqual(["a", "b"]);
  });

  it("replaces an item pushed again with the same id and forgets removed ones", () => {
    const q = new WorkQueue<string>();
    q.push(item("slot5", "grant", 100));
    q.push(item("slot6", "grant", 50));
    q.push({ ...item("slot5", "revoke", 200), payload: "newer" });
    expect(q.size).toBe(2);
    expect(q.pop()).toMatchObject({ id: "slot5", payload: "newer" });
    q.push(item("slot7", "grant", 1));
    expect(q.remove("slot7")).toBe(true);
    expect(q.pop()?.id).toBe("slot6");
    expect(q.pop()).toBeUndefined();
  });

  it("retain drops items by predicate", () => {
    const q = new WorkQueue<string>();
    q.push(item("k1", "grant", 1));
    q.push(item("k2", "grant", 2));
    q.retain((i) => i.id !== "k1");
    expect(q.toArray().map((i) => i.id)).toEqual(["k2"]);
  });

  it("matches a sorted reference under a random stream of pushes, replacements and pops", () => {
    const rnd = seededRandom(42);
    const classes: WorkClass[] = ["unlock", "revoke", "grant", "maintenance"];
    const q = new WorkQueue<string>();
    const ref = new Map<string, { cls: number; order: number; seq: number }>();
    let seq = 0;
    for (let step = 0; step < 5000; step++) {
      const r = rnd();
      if (r < 0.6) {
        const id = `i${Math.floor(rnd() * 300)}`;
        const c = Math.floor(rnd() * 4);
        const order = Math.floor(rnd() * 50);
        q.push(item(id, classes[c]!, order));
        ref.set(id, { cls: c, order, seq: seq++ });
      } else if (r < 0.7) {
        const id = `i${Math.floor(rnd() * 300)}`;
        expect(q.remove(id)).toBe(ref.delete(id));
      } else {
        const expected = [...ref.entries()].sort(
          ([, a], [, b]) => a.cls - b.cls || a.order - b.order || a.seq - b.seq,
        )[0];
        const got = q.pop();
        expect(got?.id).toBe(expected?.[0]);
        if (expected) ref.delete(expected[0]);
      }
      expect(q.size).toBe(ref.size);
    }
  });
});
