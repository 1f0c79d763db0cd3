// DoorCodeIndex's prefix rule (a code conflicts with another key's code that it prefixes or that
// prefixes it, on the same lock) against a naive reference, through random adds and removes.
import { describe, expect, it } from "vitest";
import { DoorCodeIndex } from "../../../src/access/codes.js";
import { seededRandom } from "../../../src/shared/random.js";

describe("DoorCodeIndex prefix conflicts", () => {
  it("answers isTaken like a scan of every code on the lock", () => {
    const r = seededRandom(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const locks = ["lobby", "gym", "room-1"];
    const keys = ["k1", "k2", "k3", "k4", "k5"];
    const code = () => Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(["1", "2", "3"])).join("");
    const index = new DoorCodeIndex();
    const naive = new Map<string, Map<string, string>>(locks.map((l) => [l, new Map()]));
    for (let step = 0; step < 3000; step++) {
      const lock = pick(locks);
      const roll = r();
      if (roll < 0.5) {
        const c = code();
        const k = pick(keys);
        index.add(lock, c, k);
        naive.get(lock)!.set(c, k);
      } else if (roll < 0.7) {
        const c = code();
        index.remove(lock, c);
        naive.get(lock)!.delete(c);
      } else if (roll < 0.75) {
        const k = pick(keys);
        index.removeKey(k);
        for (const m of naive.values()) for (const [c, owner] of [...m]) if (owner === k) m.delete(c);
      } else {
        const c = code();
        const except = pick([...keys, undefined]);
        const expected = [...naive.get(lock)!].some(([held, owner]) => owner !== except && (held.startsWith(c) || c.startsWith(held)));
        expect(index.except(except).isTaken(lock, c), `${lock} ${c} except ${String(except)}`).toBe(expected);
      }
      if (step % 500 === 0) for (const l of locks) expect(index.codesOn(l).sort()).toEqual([...naive.get(l)!.keys()].sort());
    }
  });
});
