/**
 * Simulator at scale: 500 locks on 20 TCP buses x 25 locks in ONE child process, driven by
 * a hub-like client (this process) that pairs every lock and runs a provisioning round over
 * sealed LLP. Reports the child's RSS next to its own RSS before it started the fleet, and
 * the request rate over the wire next to the same requests handled in-process.
 *
 * The fleet runs in a child so other benchmarks in this runner do not distort its RSS:
 *   SIM_BENCH_CHILD=1 node --expose-gc --import tsx bench/sim.bench.ts
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { HubPeer, SimLock, StreamPeer, startTcpBus, type TcpBus } from "../sim/index.js";
import type { LlpRequest } from "../src/protocol/llp/index.js";
import type { BenchResult } from "./run.js";

const BUSES = 20;
const PER_BUS = 25;
const RSS_LIMIT_MB = 200;
const mb = (b: number) => b / (1024 * 1024);

function lockIdOf(bus: number, addr: number): string {
  return `4c42${bus.toString(16).padStart(6, "0")}${addr.toString(16).padStart(6, "0")}`;
}

/** One lock's provisioning round as the hub would run it after commissioning. */
function round(lockIndex: number): LlpRequest[] {
  const reqs: LlpRequest[] = [{ cmd: "SET_TIME", time: Math.floor(Date.now() / 1000) }];
  for (let s = 0; s < 4; s++) {
    const code = String(100000 + ((lockIndex * 7 + s * 13) % 899999));
    reqs.push({ cmd: "PUT_CREDENTIAL", kind: 1, slot: s, validFrom: 0, validUntil: 0, flags: 0, secret: Buffer.from(code) });
  }
  reqs.push({ cmd: "TABLE_DIGEST", kind: 1 }, { cmd: "STATUS" }, { cmd: "READ_EVENTS", fromSeq: 1, max: 32 });
  return reqs;
}

// ---- child: the fleet ----------------------------------------------------------------------

async function child(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const rss = () => {
    gc?.();
    return process.memoryUsage().rss;
  };
  const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const baseline = rss();
  const buses: TcpBus[] = [];
  for (let b = 0; b < BUSES; b++) {
    const locks = Array.from({ length: PER_BUS }, (_, i) => new SimLock({ address: i + 1, lockId: lockIdOf(b, i + 1), profile: "sim-room" }));
    buses.push(await startTcpBus(locks));
  }
  out({ baseline, started: rss(), ports: buses.map((b) => b.port) });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "measure") out({ rss: rss() });
    if (line === "exit") break;
  }
  for (const b of buses) await b.close();
}

// ---- parent: the hub-like client -------------------------------------------------------------

async function driveBus(port: number, busIndex: number): Promise<{ requests: number; failures: number }> {
  const sock = connect({ port, host: "127.0.0.1" });
  await new Promise((r) => sock.once("connect", r));
  sock.setNoDelay(true);
  const stream = new StreamPeer((b) => void sock.write(b));
  sock.on("data", (d) => stream.push(d));
  let requests = 0;
  let failures = 0;
  for (let addr = 1; addr <= PER_BUS; addr++) {
    const peer = new HubPeer(addr, { lockId: lockIdOf(busIndex, addr) });
    const send = async (req: LlpRequest) => {
      requests++;
      const r = await stream.request(peer, req as LlpRequest & { cmd: typeof req.cmd }, { timeoutMs: 5000, retries: 2 });
      if (!r?.ok) failures++;
      return r;
    };
    await send({ cmd: "IDENT" });
    const key = randomBytes(16);
    await send({ cmd: "PAIR", linkKey: key });
    peer.linkKey = key;
    for (const req of round(busIndex * PER_BUS + addr)) await send(req);
  }
  sock.destroy();
  return { requests, failures };
}

/** The same round, in-process (no link): the cost of the lock logic alone. */
function inProcessRate(): number {
  const locks = Array.from({ length: PER_BUS }, (_, i) => new SimLock({ address: i + 1, lockId: lockIdOf(99, i + 1) }));
  let n = 0;
  const t0 = performance.now();
  for (const lock of locks) {
    const peer = new HubPeer(lock.address, { lockId: lock.lockId });
    const key = randomBytes(16);
    const exchange = (req: LlpRequest) => {
      n++;
      const res = lock.handleRequest(peer.encode(req));
      if (!res || !peer.decode(req.cmd, res).ok) throw new Error(`in-process ${req.cmd} failed`);
    };
    exchange({ cmd: "IDENT" });
    exchange({ cmd: "PAIR", linkKey: key });
    peer.linkKey = key;
    for (const req of round(lock.address)) exchange(req);
  }
  return n / ((performance.now() - t0) / 1000);
}

export async function run(): Promise<BenchResult[]> {
  const self = fileURLToPath(import.meta.url);
  const proc = spawn(process.execPath, ["--expose-gc", "--import", "tsx", self], {
    env: { ...process.env, SIM_BENCH_CHILD: "1" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const next = async <T>() => JSON.parse(((await lines.next()).value as string | undefined) ?? "null") as T;
  try {
    const hello = await next<{ baseline: number; started: number; ports: number[] }>();
    const t0 = performance.now();
    const per = await Promise.all(hello.ports.map((p, i) => driveBus(p, i)));
    const seconds = (performance.now() - t0) / 1000;
    proc.stdin!.write("measure\n");
    const { rss } = await next<{ rss: number }>();
    proc.stdin!.write("exit\n");
    const requests = per.reduce((a, b) => a + b.requests, 0);
    const failures = per.reduce((a, b) => a + b.failures, 0);
    if (failures > 0) throw new Error(`${failures} of ${requests} requests failed`);
    const locks = BUSES * PER_BUS;
    return [
      {
        name: `sim: RSS of ${locks} locks on ${BUSES} TCP buses after pairing + a sealed provisioning round each`,
        value: mb(rss),
        unit: "MB",
        baseline: { value: mb(hello.baseline), unit: "MB", name: "same process before starting the fleet" },
        note: `lower is better; limit ${RSS_LIMIT_MB} MB: ${mb(rss) <= RSS_LIMIT_MB ? "within" : "EXCEEDED"}; ${((rss - hello.baseline) / 1024 / locks).toFixed(1)} KB per lock`,
      },
      {
        name: `sim: sealed requests/s to ${locks} locks over ${BUSES} TCP buses (half duplex per bus)`,
        value: requests / seconds,
        unit: "req/s",
        baseline: { value: inProcessRate(), unit: "req/s", name: "same requests handled in-process, no link" },
        note: `higher is better; ${requests} requests in ${seconds.toFixed(2)} s`,
      },
    ];
  } finally {
    if (proc.exitCode === null) {
      proc.stdin!.end();
      await Promise.race([new Promise((r) => proc.once("exit", r)), new Promise((r) => setTimeout(r, 3000))]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
    }
  }
}

if (process.env.SIM_BENCH_CHILD === "1") await child();
