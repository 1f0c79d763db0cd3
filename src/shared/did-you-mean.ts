/** "did you mean" for a misspelt name: the closest candidate within a small edit distance. */
import type { z } from "zod";

/** Levenshtein distance, case-insensitive (a wrong case is the commonest slip: checkedin). */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length]!;
}

/** The candidate closest to `word` (at most 2 edits, or a third of its length), if any. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: { name: string; d: number } | undefined;
  for (const c of candidates) {
    if (c === word) continue;
    const d = editDistance(word, c);
    if (d <= limit && (best === undefined || d < best.d)) best = { name: c, d };
  }
  return best?.name;
}

/** The keys an object schema knows at `path` (through optional, default, pipe, array...). */
export function knownKeys(schema: z.ZodType | undefined, path: readonly PropertyKey[]): string[] {
  let node: unknown = schema;
  const unwrap = (n: unknown): unknown => {
    for (let i = 0; i < 10; i++) {
      const def = (n as { _zod?: { def?: { type?: string; innerType?: unknown; in?: unknown; element?: unknown } } })?._zod?.def;
      if (!def) return n;
      if (def.innerType !== undefined) n = def.innerType;
      else if (def.type === "pipe" && def.in !== undefined) n = def.in;
      else return n;
    }
    return n;
  };
  for (const seg of path) {
    node = unwrap(node);
    const def = (node as { _zod?: { def?: { type?: string; element?: unknown; shape?: Record<string, unknown> } } })?._zod?.def;
    if (def?.type === "array" && typeof seg === "number") node = def.element;
    else if (def?.shape && typeof seg === "string") node = def.shape[seg];
    else return [];
  }
  const shape = (unwrap(node) as { _zod?: { def?: { shape?: Record<string, unknown> } } })?._zod?.def?.shape;
  return shape ? Object.keys(shape) : [];
}
