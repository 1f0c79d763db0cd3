/**
 * Where a hub's JavaScript heap goes, from a V8 `.heapsnapshot` (node --heapsnapshot-signal, or
 * the memory probe's PROBE_HEAP): self size and retained size (dominator tree, weak edges
 * ignored) by constructor name, and the largest single retainers, as docs/performance.md's
 * "Memory" section shows them. No GUI.
 *
 *   node --max-old-space-size=4096 --import tsx bench/support/heap-summary.ts FILE.heapsnapshot [--top 40]
 *
 * "retained" of a name counts only its topmost instances (one not dominated by another of the
 * same name), so a Map inside a Map is not counted twice.
 */
import fs from "node:fs";

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith("--"));
if (!file) throw new Error("usage: heap-summary.ts FILE.heapsnapshot [--top N]");
const topAt = args.indexOf("--top");
const top = topAt >= 0 ? Number(args[topAt + 1]) : 40;

const snap = JSON.parse(fs.readFileSync(file, "utf8")) as HeapSnapshot;
const meta = snap.snapshot.meta;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const { nodes, edges, strings } = snap;
const N = nodes.length / NF;
const iType = meta.node_fields.indexOf("type");
const iName = meta.node_fields.indexOf("name");
const iSelf = meta.node_fields.indexOf("self_size");
const iEdges = meta.node_fields.indexOf("edge_count");
const eType = meta.edge_fields.indexOf("type");
const eTo = meta.edge_fields.indexOf("to_node");
const skipped = new Set([edgeTypes.indexOf("weak"), edgeTypes.indexOf("shortcut")]);

const firstEdge = new Uint32Array(N + 1);
for (let i = 0, e = 0; i < N; i++) {
  firstEdge[i] = e;
  e += nodes[i * NF + iEdges]!;
  firstEdge[i + 1] = e;
}
function label(i: number): string {
  const t = nodeTypes[nodes[i * NF + iType]!]!;
  const name = strings[nodes[i * NF + iName]!]!;
  if (t === "object" || t === "closure" || t === "native") return `${t}:${name}`;
  if (t.includes("string")) return "(string)";
  return `(${t})`;
}
function* children(v: number): Generator<number> {
  for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e++) {
    if (!skipped.has(edges[e * EF + eType]!)) yield edges[e * EF + eTo]! / NF;
  }
}

// Post-order from the root (node 0).
const order = new Int32Array(N).fill(-1);
const post: number[] = [];
const stack: [number, Generator<number>][] = [[0, children(0)]];
order[0] = -2;
while (stack.length > 0) {
  const top1 = stack[stack.length - 1]!;
  const next = top1[1].next();
  if (next.done) {
    stack.pop();
    order[top1[0]] = post.length;
    post.push(top1[0]);
  } else if (order[next.value] === -1) {
    order[next.value] = -2;
    stack.push([next.value, children(next.value)]);
  }
}
const preds: number[][] = Array.from({ length: N }, () => []);
for (const v of post) for (const w of children(v)) if (order[w]! >= 0) preds[w]!.push(v);

// Dominators (Cooper, Harvey, Kennedy), then retained sizes.
const idom = new Int32Array(N).fill(-1);
idom[0] = 0;
const intersect = (a: number, b: number): number => {
  while (a !== b) {
    while (order[a]! < order[b]!) a = idom[a]!;
    while (order[b]! < order[a]!) b = idom[b]!;
  }
  return a;
};
for (let changed = true; changed; ) {
  changed = false;
  for (let k = post.length - 1; k >= 0; k--) {
    const v = post[k]!;
    if (v === 0) continue;
    let d = -1;
    for (const u of preds[v]!) if (idom[u] !== -1) d = d === -1 ? u : intersect(u, d);
    if (d !== idom[v]) {
      idom[v] = d;
      changed = true;
    }
  }
}
const retained = new Float64Array(N);
for (const v of post) {
  retained[v] = retained[v]! + nodes[v * NF + iSelf]!;
  if (v !== 0) retained[idom[v]!] = retained[idom[v]!]! + retained[v]!;
}

const byLabel = new Map<string, { n: number; self: number; retained: number }>();
for (const v of post) {
  const l = label(v);
  let a = byLabel.get(l);
  if (!a) byLabel.set(l, (a = { n: 0, self: 0, retained: 0 }));
  a.n++;
  a.self += nodes[v * NF + iSelf]!;
  let u = idom[v]!;
  while (u !== 0 && label(u) !== l) u = idom[u]!;
  if (u === 0) a.retained += retained[v]!;
}
const mb = (x: number): string => (x / 1e6).toFixed(2).padStart(8);
console.log(`${file}: ${post.length} reachable nodes, ${(retained[0]! / 1e6).toFixed(2)} MB reachable (self sizes)`);
console.log("\nretained MB  self MB    count  name (by retained)");
for (const [l, a] of [...byLabel].sort((x, y) => y[1].retained - x[1].retained).slice(0, top)) console.log(`${mb(a.retained)} ${mb(a.self)} ${String(a.n).padStart(8)}  ${l}`);
console.log("\nthe largest single objects under the roots (retained MB, name <- its dominators)");
const singles = post.filter((v) => !label(v).startsWith("(synthetic)") && !label(v).startsWith("(array)") && !label(v).startsWith("(string)"));
for (const v of singles.sort((a, b) => retained[b]! - retained[a]!).slice(0, top / 2)) {
  const up: string[] = [];
  for (let u = idom[v]!, d = 0; u !== 0 && d < 3; u = idom[u]!, d++) up.push(label(u));
  console.log(`${mb(retained[v]!)}  ${label(v)}${up.length ? `  <- ${up.join(" <- ")}` : ""}`);
}
