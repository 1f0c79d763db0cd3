/**
 * PAIR_KX (LLP v1.1 §8): the time of one authenticated pairing on a 19,200-baud link, through
 * the hub's real stack (LockLinks -> LockClient.pairKx -> LockSession -> LinkBus ->
 * TcpTransport) to a simulated PAIR_KX lock behind a far end that honours wire time precisely.
 * Each pairing is the hub's X25519 key pair, the request, the lock's own key pair and HKDF, the
 * answer, the confirm check and the durable key change. The lock is factory-reset between
 * pairings (it takes PAIR_KX only without a key or in pairing mode).
 *
 * Baseline: the wire-time bound, (request + ACK bytes) x 10 bits / 19,200 baud: no pairing on
 * that line can be faster. Ratio = measured / bound (lower is better; 1.0 is the wire itself).
 * The legacy PAIR (key in clear) is timed the same way for comparison.
 */
import { pino } from "pino";
import { Capability } from "../src/protocol/llp/index.js";
import { MemoryLinkStateStore } from "../src/lock/link-state.js";
import { LockLinks } from "../src/lock/links.js";
import { ProfileRegistry } from "../src/profiles/loader.js";
import { deviceProfileSchema } from "../src/profiles/schema.js";
import { SimLock } from "../sim/index.js";
import type { BenchResult } from "./run.js";
import { startPacedBus } from "./support/paced-bus.js";

const BAUD = 19_200;
const LOCK_ID = "4c42000000000001";
const SETUP_KEY = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");
const ROUNDS = 40;

async function pairingTime(kind: "kx" | "plain"): Promise<BenchResult> {
  const kx = kind === "kx";
  const lock = new SimLock({ address: 1, lockId: LOCK_ID, setupKey: SETUP_KEY, profile: { capabilities: 0x7f | (kx ? Capability.PAIR_KX : 0) } });
  const peer = await startPacedBus([lock], BAUD);
  const profile = deviceProfileSchema.parse({
    id: "bench", vendor: "Simulator", model: "SIM-R100", link: "serial-rs485",
    serial: { baudRate: BAUD, parity: "none", dataBits: 8, stopBits: 1 },
    responseTimeoutMs: 250, retries: 2, offlineAfterTimeouts: 3, pollIntervalMs: 1000,
    capabilities: ["doorCodes", "keycards", "mobileKeys", "sealing", ...(kx ? (["authenticatedPairing"] as const) : [])],
    slots: { doorCode: 32, keycard: 32, smartKey: 16 }, code: { minLength: 4, maxLength: 12 },
    sealingRequired: true, pairing: kind,
  });
  const links = new LockLinks({ profiles: new ProfileRegistry([profile]), linkState: new MemoryLinkStateStore(), logger: pino({ level: "silent" }) });
  const client = links.client({ lockId: LOCK_ID, profileId: "bench", link: { type: "tcp", host: "127.0.0.1", port: peer.port, address: 1 } });
  const pair = () => (kx ? client.pairKx(SETUP_KEY) : client.pair());
  try {
    await client.ident(); // the SEQ 0 handshake, outside the measurement
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < ROUNDS + 3; i++) {
      lock.factoryReset();
      const before = links.transports()[0]!;
      const t = performance.now();
      await pair();
      const ms = performance.now() - t;
      const after = links.transports()[0]!;
      if (i >= 3) times.push(ms); // the first rounds warm up crypto and the JIT
      bytes = after.bytesOut - before.bytesOut + (after.bytesIn - before.bytesIn);
    }
    if (client.session.stats.retries > 0) throw new Error(`retries during the measurement: ${JSON.stringify(client.session.stats)}`);
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    const boundMs = (bytes * 10 * 1000) / BAUD;
    return {
      name: `lock-link: one ${kx ? "PAIR_KX (X25519 + HKDF, confirm checked)" : "legacy PAIR (key in clear)"} pairing at ${BAUD} baud, median of ${ROUNDS}`,
      value: median,
      unit: "ms",
      baseline: { value: boundMs, unit: "ms", name: "wire-time bound" },
      note: `${bytes} B request + ACK on the wire; p90 ${times[Math.floor(times.length * 0.9)]!.toFixed(1)} ms; lower ratio is better, 1.0 = the wire itself`,
    };
  } finally {
    await links.close();
    await peer.close();
  }
}

export async function run(): Promise<BenchResult[]> {
  return [await pairingTime("kx"), await pairingTime("plain")];
}

// Standalone: npx tsx bench/pairing.bench.ts
if (process.argv[1]?.endsWith("pairing.bench.ts")) {
  const { formatResult } = await import("./run.js");
  for (const r of await run()) console.log(formatResult(r));
}
