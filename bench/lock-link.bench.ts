/**
 * Lock link benchmarks.
 *
 * 1. Codec: LLP frames/s for encode + stream-decode + body decode of a PUT_CREDENTIAL
 *    request (plain and sealed), against a baseline of CRC-16 alone over the same bytes
 *    (the least any framing must do). Ratio = codec / crc-only (<= 1; higher is better).
 *
 * 2. Link efficiency: door codes provisioned per second to one lock through the hub's real
 *    stack (LockLinks -> LockClient -> LockSession -> LinkBus -> TcpTransport) to a simulated
 *    lock behind a TCP serial server whose far end honours wire time at 115200 baud (10 bits
 *    per byte, request and response). Baseline: the theoretical maximum for those frame sizes,
 *    115200 / 10 / (request + response bytes) per second. Ratio = measured / theoretical
 *    (target >= 0.8). Two far ends: the simulator's TCP bus (wireBaud, setTimeout-paced,
 *    ms timer granularity) and a precisely paced loopback peer (hrtime) in this file.
 */
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import {
  crc16CcittFalse, CredentialKind, decodeRequestBody, encodeRequest, FrameDecoder, openFrame,
} from "../src/protocol/llp/index.js";
import { MemoryLinkStateStore } from "../src/lock/link-state.js";
import { LockLinks } from "../src/lock/links.js";
import { ProfileRegistry } from "../src/profiles/loader.js";
import { deviceProfileSchema } from "../src/profiles/schema.js";
import { SimLock, startTcpBus } from "../sim/index.js";
import type { BenchResult } from "./run.js";
import { startPacedBus } from "./support/paced-bus.js";

const BAUD = 115_200;
const LOCK_ID = "4c42000000000001";

function codecBench(sealed: boolean): BenchResult {
  const key = randomBytes(16);
  const lockId = Buffer.from(LOCK_ID, "hex");
  const req = { cmd: "PUT_CREDENTIAL" as const, kind: 1, slot: 5, validFrom: 1767279600, validUntil: 1767538800, flags: 0, secret: Buffer.from("482916") };
  const decoder = new FrameDecoder();
  const N = sealed ? 50_000 : 200_000;
  let counter = 0;
  const one = () => {
    const bytes = encodeRequest(1, 2, req, sealed ? { linkKey: key, lockId, counter: ++counter } : undefined);
    for (const f of decoder.push(bytes)) {
      const body = sealed ? openFrame(f, { linkKey: key, lockId })!.plain : f.body;
      decodeRequestBody(f.cmd, body);
    }
  };
  for (let i = 0; i < 2000; i++) one();
  let t = performance.now();
  for (let i = 0; i < N; i++) one();
  const codecPerS = N / ((performance.now() - t) / 1000);
  const sample = encodeRequest(1, 2, req, sealed ? { linkKey: key, lockId, counter: 1 } : undefined);
  let sink = 0;
  const M = 1_000_000;
  t = performance.now();
  for (let i = 0; i < M; i++) sink ^= crc16CcittFalse(sample, 1, sample.length - 2);
  const crcPerS = M / ((performance.now() - t) / 1000);
  if (sink === -1) console.log(sink);
  return {
    name: `lock-link: codec PUT_CREDENTIAL ${sealed ? "sealed (AES-CCM) " : ""}encode+decode (${sample.length} B)`,
    value: codecPerS,
    unit: "frames/s",
    baseline: { value: crcPerS, unit: "frames/s", name: "CRC-16 only" },
    note: "baseline: CRC-16 alone over the same bytes; higher ratio is better",
  };
}

async function provisionRate(far: "sim" | "paced", sealed: boolean): Promise<BenchResult> {
  const lock = new SimLock({ address: 1, lockId: LOCK_ID, profile: { codeSlots: 5000, model: "SIM-C5000" } });
  const server = far === "sim" ? await startTcpBus([lock], { wireBaud: BAUD }) : await startPacedBus([lock], BAUD);
  const profile = deviceProfileSchema.parse({
    id: "bench", vendor: "Simulator", model: "SIM-C5000", link: "serial-uart",
    serial: { baudRate: 115200, parity: "none", dataBits: 8, stopBits: 1 },
    responseTimeoutMs: 200, retries: 2, offlineAfterTimeouts: 3, pollIntervalMs: 1000,
    capabilities: ["doorCodes", "keycards", "mobileKeys", "sealing"], slots: { doorCode: 5000, keycard: 32, smartKey: 16 }, code: { minLength: 4, maxLength: 12 },
    sealingRequired: sealed,
  });
  const links = new LockLinks({ profiles: new ProfileRegistry([profile]), linkState: new MemoryLinkStateStore(), logger: pino({ level: "silent" }), counterBlockSize: 256 });
  const client = links.client({ lockId: LOCK_ID, profileId: "bench", link: { type: "tcp", host: "127.0.0.1", port: server.port, address: 1 } });
  try {
    await client.ident();
    if (sealed) await client.pair();
    const put = (slot: number) => client.putCredential({ kind: CredentialKind.DOOR_CODE, slot, validFrom: 1767279600, validUntil: 1767538800, secret: String(100000 + ((slot * 7919) % 900000)) });
    for (let s = 0; s < 50; s++) await put(s); // warm-up
    const written = links.transports()[0]!;
    const bytesBefore = written.bytesOut;
    const N = 1000;
    const t = performance.now();
    for (let s = 0; s < N; s++) await put(s % 5000);
    const seconds = (performance.now() - t) / 1000;
    const after = links.transports()[0]!;
    const reqBytes = (after.bytesOut - bytesBefore) / N;
    const respBytes = (after.bytesIn - written.bytesIn) / N;
    const theoretical = BAUD / 10 / (reqBytes + respBytes);
    if (client.session.stats.retries > 0) throw new Error(`retries during the measurement: ${JSON.stringify(client.session.stats)} ${JSON.stringify(links.transports())}`);
    return {
      name: `lock-link: ${sealed ? "sealed " : ""}credentials provisioned to one lock at 115200 baud, far end ${far === "sim" ? "simulator TCP bus (wireBaud)" : "paced loopback peer (hrtime)"}`,
      value: N / seconds,
      unit: "credentials/s",
      baseline: { value: theoretical, unit: "credentials/s", name: "wire-time maximum" },
      note: `${reqBytes.toFixed(0)} B request + ${respBytes.toFixed(0)} B response = ${(((reqBytes + respBytes) * 10 * 1000) / BAUD).toFixed(2)} ms on the wire; target ratio >= 0.8`,
    };
  } finally {
    await links.close();
    await server.close();
  }
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [codecBench(false), codecBench(true)];
  for (const far of ["paced", "sim"] as const) {
    for (const sealed of [false, true]) out.push(await provisionRate(far, sealed));
  }
  return out;
}

// Standalone: npx tsx bench/lock-link.bench.ts
if (process.argv[1]?.endsWith("lock-link.bench.ts")) {
  const { formatResult } = await import("./run.js");
  for (const r of await run()) console.log(formatResult(r));
}
