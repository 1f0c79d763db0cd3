/**
 * Benchmark runner: `npm run bench` (= node --expose-gc --import tsx bench/run.ts).
 *
 * Runs every bench/<area>.bench.ts in name order, one after the other, and prints each result
 * as one line:  `<name>: <figure> <unit> | baseline <figure> <unit> | ratio <x.xx>`
 * (results without a baseline print just `<name>: <figure> <unit>`).
 *
 * To add a benchmark, create bench/<area>.bench.ts exporting
 *     export async function run(): Promise<BenchResult[]>
 * with `import type { BenchResult } from "./run.js"` (type-only: importing it runs nothing).
 * Measure the baseline in the same run, on the same machine, right next to the figure.
 *
 * Options: `npm run bench -- store cloud` runs only files whose name contains one of the words;
 * `--json FILE` also writes all results as JSON. Any other `--name value` or bare `--flag` is
 * handed to every benchmark's run(options) (e.g. `npm run bench -- pi --quick`, `--locks 20`).
 * Exit code 1 if any benchmark threw.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export interface BenchResult {
  /** What was measured, prefixed by its area: "store: upsert 10,000 keys, one transaction per key". */
  name: string;
  value: number;
  /** e.g. "rows/s", "ms", "events/s", "MB". */
  unit: string;
  /** The reference measured in the same run (raw library, bare responder, lower bound...). */
  baseline?: { value: number; unit: string; name?: string };
  /** Defaults to value / baseline.value. Say in `note` whether higher or lower is better. */
  ratio?: number;
  /** One short remark printed after the line (conditions, what the baseline is). */
  note?: string;
}

/** `--name value` pairs and bare `--flag`s (value "true") from the command line. */
export type BenchOptions = Readonly<Record<string, string>>;

export interface BenchModule {
  run(options?: BenchOptions): Promise<BenchResult[]>;
}

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const SUFFIX = ".bench.ts";

/** Numbers as a person reads them: integers for big figures, 3 significant digits for small. */
export function formatFigure(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return String(Math.round(v));
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

export function formatResult(r: BenchResult): string {
  let line = `${r.name}: ${formatFigure(r.value)} ${r.unit}`;
  if (r.baseline) {
    const ratio = r.ratio ?? r.value / r.baseline.value;
    line += ` | baseline ${formatFigure(r.baseline.value)} ${r.baseline.unit} | ratio ${ratio.toFixed(2)}`;
  } else if (r.ratio !== undefined) {
    line += ` | ratio ${r.ratio.toFixed(2)}`;
  }
  if (r.note) line += `  (${r.note})`;
  return line;
}

export function discover(dir: string, filters: string[]): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(SUFFIX))
    .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
    .sort();
}

export function parseArgs(argv: string[]): { filters: string[]; json?: string; options: BenchOptions } {
  const filters: string[] = [];
  const options: Record<string, string> = {};
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--json") json = argv[++i];
    else if (a.startsWith("--")) {
      const next = argv[i + 1];
      // A bare flag (--quick) is followed by nothing or by another --option.
      options[a.slice(2)] = next === undefined || next.startsWith("--") ? "true" : (i++, next);
    } else filters.push(a);
  }
  return json === undefined ? { filters, options } : { filters, json, options };
}

async function main(): Promise<void> {
  const { filters, json, options } = parseArgs(process.argv.slice(2));
  const files = discover(BENCH_DIR, filters);
  if (files.length === 0) {
    console.log(`no benchmarks match ${filters.join(" ")}`);
    return;
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) console.log("(run with --expose-gc for steadier figures: npm run bench)");
  const all: (BenchResult & { file: string })[] = [];
  let failed = 0;
  for (const file of files) {
    gc?.();
    const started = performance.now();
    try {
      const mod = (await import(pathToFileURL(path.join(BENCH_DIR, file)).href)) as Partial<BenchModule>;
      if (typeof mod.run !== "function") throw new Error(`${file} exports no run()`);
      const results = await mod.run(options);
      for (const r of results) {
        console.log(formatResult(r));
        all.push({ ...r, file });
      }
      console.log(`# ${file} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (e) {
      failed++;
      console.log(`${file}: FAILED ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }
  if (json) fs.writeFileSync(json, JSON.stringify(all, null, 2) + "\n");
  if (failed > 0) {
    console.log(`${failed} benchmark file(s) failed`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main();
}
