/**
 * Where a hub's CPU went, from a V8 `.cpuprofile` (node --cpu-prof): self time per function and
 * per source file, top N, as the tables in docs/performance.md show them.
 *
 *   npx tsx bench/support/profile-summary.ts /tmp/prof/CPU.*.cpuprofile [--top 25]
 *     [--timeline]            busy ms per second of the profile, to find a phase (the snapshot)
 *     [--from S --to S]       only samples between S and S seconds after the profile started
 *
 * Files are grouped by the repository folder they come from (src/store, node_modules/mqtt...),
 * so "the store's SQL" and "JSON" can be told apart from "the engine's planning".
 */
import fs from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function area(url: string): string {
  if (!url) return "(native / GC / idle)";
  const m = /\/(dist|src|node_modules)\/(.*)$/.exec(url);
  if (!m) return url.startsWith("node:") ? `node:${url.slice(5).split("/")[0]}` : url;
  if (m[1] === "node_modules") return `node_modules/${m[2]!.split("/")[0]!.startsWith("@") ? m[2]!.split("/").slice(0, 2).join("/") : m[2]!.split("/")[0]}`;
  return `${m[1] === "dist" ? "dist" : "src"}/${m[2]!.split("/").slice(0, m[2]!.includes("/") ? 2 : 1).join("/")}`;
}

const IDLE = new Set(["(idle)", "(program)"]);

/** Busy (not idle) ms per whole second since the profile started. */
export function timeline(profile: CpuProfile): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const perSecond = new Map<number, number>();
  let t = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (IDLE.has(byId.get(id)!.callFrame.functionName)) return;
    const s = Math.floor(t / 1e6);
    perSecond.set(s, (perSecond.get(s) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return [...perSecond].sort((a, b) => a[0] - b[0]).map(([s, us]) => `${s}s:${Math.round(us / 1000)}`).join(" ");
}

export function summarise(profile: CpuProfile, top = 25, window: { fromS: number; toS: number } = { fromS: 0, toS: Infinity }): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let t = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t / 1e6 < window.fromS || t / 1e6 > window.toS) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const fn = `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*\/(dist|src|node_modules)\//, "$1/")}:${n.callFrame.lineNumber + 1}`;
    if (IDLE.has(n.callFrame.functionName)) continue;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
    const a = ["(garbage collector)"].includes(n.callFrame.functionName) ? "(garbage collector)" : area(n.callFrame.url);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
  }
  const busy = [...byFn.values()].reduce((a, b) => a + b, 0);
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  const rows = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => `${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  return [
    `profile: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (idle and program excluded)`,
    "",
    "by area (self time):",
    ...rows(byArea),
    "",
    "by function (self time):",
    ...rows(byFn),
  ].join("\n");
}

if (process.argv[1]?.endsWith("profile-summary.ts")) {
  const args = process.argv.slice(2);
  const valued = ["--top", "--from", "--to"];
  const opt = (name: string): number | undefined => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : undefined);
  const top = opt("--top") ?? 25;
  const window = { fromS: opt("--from") ?? 0, toS: opt("--to") ?? Infinity };
  const files = args.filter((a, i) => !a.startsWith("--") && !valued.includes(args[i - 1] ?? ""));
  for (const f of files) {
    const profile = JSON.parse(fs.readFileSync(f, "utf8")) as CpuProfile;
    console.log(`${f}\n${args.includes("--timeline") ? timeline(profile) : summarise(profile, top, window)}\n`);
  }
}
