/**
 * A far end for link benchmarks that honours wire time precisely (hrtime, not timer ticks):
 * a simulated lock answers when request and response would have crossed a half-duplex line
 * at `baud` (10 bits per byte).
 */
import { createServer, type Server } from "node:net";
import { FrameDecoder } from "../../src/protocol/llp/index.js";
import type { SimLock } from "../../sim/index.js";

/** A far end that honours wire time precisely: answer when request + response would have crossed the line. */
export async function startPacedPeer(lock: SimLock, baud: number): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((sock) => {
    sock.setNoDelay(true);
    const decoder = new FrameDecoder();
    let busyUntil = 0; // ns: half duplex, the line is busy until then
    sock.on("data", (chunk: Buffer) => {
      const arrived = process.hrtime.bigint();
      for (const frame of decoder.push(chunk)) {
        const reqBytes = 8 + frame.body.length;
        const reply = lock.answer(frame);
        if (!reply) continue;
        const wireNs = BigInt(Math.round(((reqBytes + reply.bytes.length) * 10 * 1e9) / baud));
        const start = arrived > BigInt(busyUntil) ? arrived : BigInt(busyUntil);
        const due = start + wireNs;
        busyUntil = Number(due);
        const send = () => {
          if (process.hrtime.bigint() >= due) sock.write(reply.bytes);
          else setImmediate(send);
        };
        const msLeft = Number(due - process.hrtime.bigint()) / 1e6;
        if (msLeft > 2) setTimeout(send, Math.floor(msLeft - 1.5));
        else send();
      }
    });
    sock.on("error", () => sock.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("no port");
  return { port: addr.port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

