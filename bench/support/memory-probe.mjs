// The hub's memory, from inside, for docs/performance.md's "Memory" section. Preloaded into the
// hub by the Pi bench, with its hook at each quiet stage (bench/support/memory-hook.sh):
//
//   PROBE_DIR=/tmp/m PROBE_HEAP=settled PROBE_GC=settled \
//   PI_BENCH_AT_SETTLED=bench/support/memory-hook.sh \
//   PI_BENCH_NODE_FLAGS="--expose-gc --import=./bench/support/memory-probe.mjs" \
//   npm run bench -- pi --locks 100 --credentials 2000 --pinned false
//
// On SIGUSR2 it writes $PROBE_DIR/<stage>-<pid>.json (the stage is read from $PROBE_DIR/stage):
// process.memoryUsage(), V8's heap spaces, /proc/self/status and the largest mappings of
// /proc/self/smaps; for a stage in PROBE_GC the same after a full GC (the live heap); for a
// stage in PROBE_HEAP a .heapsnapshot (bench/support/heap-summary.ts reads it); and the
// main-thread GC pauses since start (count and ms per kind). Then $PROBE_DIR/<stage>.done.
import fs from "node:fs";
import v8 from "node:v8";
import { PerformanceObserver } from "node:perf_hooks";

const dir = process.env.PROBE_DIR;
const listed = (name, stage) => (process.env[name] ?? "").split(",").includes(stage);
const gcPauses = {};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const s = (gcPauses[String(e.detail?.kind)] ??= { n: 0, ms: 0 });
    s.n++;
    s.ms += e.duration;
  }
}).observe({ entryTypes: ["gc"] });

function sample() {
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size, phys: s.physical_space_size }]));
  const status = fs.readFileSync("/proc/self/status", "utf8").split("\n").filter((l) => /^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem|Threads)/.test(l));
  return { mu: process.memoryUsage(), spaces, status, cpu: process.cpuUsage(), gcPauses: JSON.parse(JSON.stringify(gcPauses)) };
}

function mappings() {
  const all = [];
  let cur;
  for (const line of fs.readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) all.push((cur = { map: line, rss: 0 }));
    else if (cur && line.startsWith("Rss:")) cur.rss = parseInt(line.split(/\s+/)[1], 10);
  }
  const byName = {};
  for (const m of all) {
    const name = m.map.trim().split(/\s+/)[5] ?? "[anon]";
    byName[name] = (byName[name] ?? 0) + m.rss;
  }
  return { top: all.sort((a, b) => b.rss - a.rss).slice(0, 25), byName: Object.entries(byName).sort((a, b) => b[1] - a[1]).slice(0, 20) };
}

if (dir) {
  process.on("SIGUSR2", () => {
    const stage = fs.readFileSync(`${dir}/stage`, "utf8").trim();
    const out = { stage, before: sample(), smaps: mappings() };
    if (globalThis.gc && listed("PROBE_GC", stage)) {
      globalThis.gc();
      out.afterGc = sample();
    }
    if (listed("PROBE_HEAP", stage)) v8.writeHeapSnapshot(`${dir}/${stage}-${process.pid}.heapsnapshot`);
    fs.writeFileSync(`${dir}/${stage}-${process.pid}.json`, JSON.stringify(out, null, 1));
    fs.writeFileSync(`${dir}/${stage}.done`, "");
  });
}
