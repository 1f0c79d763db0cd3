// Sums a commit probe's file (bench/support/commit-probe.mjs) by caller, for a phase of the
// Pi bench: the snapshot (from its first page's commit for --snapshot-window S seconds, 9 by
// default) or what follows it (the lock events, with --after-snapshot).
//
//   node bench/support/commit-summary.mjs /tmp/c/commits-<pid>.json [--snapshot-window 9 | --after-snapshot]
import fs from "node:fs";

const [file, ...args] = process.argv.slice(2);
if (!file) throw new Error("usage: commit-summary.mjs FILE [--snapshot-window S | --after-snapshot]");
const records = JSON.parse(fs.readFileSync(file, "utf8"));
const at = args.indexOf("--snapshot-window");
const windowS = at >= 0 ? Number(args[at + 1]) : 9;
const first = records.find((r) => r[1].includes("handlers/snapshot.js"));
if (!first) throw new Error(`${file}: no snapshot page was committed`);
const from = args.includes("--after-snapshot") ? first[0] + windowS * 1000 : first[0] - 200;
const to = args.includes("--after-snapshot") ? Infinity : first[0] + windowS * 1000;
const by = new Map();
let commits = 0;
let bytes = 0;
for (const [t, label, written, handed] of records) {
  if (t < from || t > to) continue;
  const key = label.replace(/ @ .*/, (m) => m.slice(0, 60));
  const s = by.get(key) ?? { commits: 0, written: 0, handed: 0 };
  s.commits++;
  s.written += written;
  s.handed += handed;
  by.set(key, s);
  commits++;
  bytes += written;
}
console.log(`${commits} commits, ${(bytes / 1024).toFixed(0)} KiB written (write_bytes), ${((to === Infinity ? records.at(-1)[0] : to) - from) / 1000} s`);
console.log("| commits | write_bytes | wchar | caller |\n| --- | --- | --- | --- |");
for (const [label, s] of [...by].sort((a, b) => b[1].written - a[1].written)) {
  console.log(`| ${s.commits} | ${(s.written / 1024).toFixed(0)} KiB | ${(s.handed / 1024).toFixed(0)} KiB | ${label.slice(0, 150)} |`);
}
