// Who writes the hub's disk, from inside, for docs/performance.md's seventh round. Preloaded
// into the hub by the Pi bench:
//
//   PROBE_DIR=/tmp/c PI_BENCH_NODE_FLAGS="--import=./bench/support/commit-probe.mjs" \
//   npm run bench -- pi --locks 100 --credentials 2000 --pinned false
//   node bench/support/commit-summary.mjs /tmp/c/commits-<pid>.json [--from-snapshot S]
//
// Every outermost better-sqlite3 transaction and every statement that commits on its own is
// recorded with its time, its caller (the first two frames in dist/src outside the store's
// own modules) and the bytes it made the process write: write_bytes (what the bench reads: a
// page of the page cache dirtied counts 4 KiB) and wchar (bytes handed to write()), read from
// /proc/self/io before and after it. A checkpoint shows in the commit that ran it. Written to
// $PROBE_DIR/commits-<pid>.json at exit. Costs two reads of /proc per commit: not for timing.
import fs from "node:fs";
import { createRequire } from "node:module";

const dir = process.env.PROBE_DIR ?? "/tmp";
const Database = createRequire(new URL("../../package.json", import.meta.url))("better-sqlite3");
const records = [];
const t0 = Date.now();

function io() {
  const text = fs.readFileSync("/proc/self/io", "utf8");
  return [Number(/write_bytes: (\d+)/.exec(text)[1]), Number(/wchar: (\d+)/.exec(text)[1])];
}

function caller() {
  const o = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 14;
  Error.captureStackTrace(o, caller);
  Error.stackTraceLimit = limit;
  return o.stack
    .split("\n")
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l.includes("/dist/src/") && !l.includes("/store/index.js") && !l.includes("/store/repos/"))
    .slice(0, 2)
    .map((f) => f.replace(/^at /, "").replace(/\(file:\/\/.*\/dist\/src\//, "(").replace(/:\d+\)$/, ")"))
    .join(" < ");
}

function measured(run, label) {
  const before = io();
  const out = run();
  const after = io();
  records.push([Date.now() - t0, label(), after[0] - before[0], after[1] - before[1]]);
  return out;
}

const transaction = Database.prototype.transaction;
Database.prototype.transaction = function (fn) {
  const inTransaction = () => this.inTransaction;
  const tx = transaction.call(this, fn);
  const wrap = (run) =>
    function (...args) {
      if (inTransaction()) return run.apply(this, args);
      return measured(() => run.apply(this, args), () => `tx ${caller()}`);
    };
  const outer = wrap(tx);
  for (const mode of ["deferred", "immediate", "exclusive"]) outer[mode] = wrap(tx[mode]);
  return outer;
};

const prepare = Database.prototype.prepare;
let patched = false;
Database.prototype.prepare = function (sql) {
  const statement = prepare.call(this, sql);
  if (!patched) {
    patched = true;
    const run = Object.getPrototypeOf(statement).run;
    Object.getPrototypeOf(statement).run = function (...args) {
      if (this.database.inTransaction || this.reader || /^\s*(PRAGMA|BEGIN|COMMIT|SAVEPOINT|RELEASE)/i.test(this.source)) return run.apply(this, args);
      return measured(() => run.apply(this, args), () => `auto ${this.source.slice(0, 50).replace(/\s+/g, " ")} @ ${caller()}`);
    };
  }
  return statement;
};

process.on("exit", () => fs.writeFileSync(`${dir}/commits-${process.pid}.json`, JSON.stringify(records)));
