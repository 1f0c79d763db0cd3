/**
 * Several simulated locks on one half-duplex line behind a TCP serial server, honouring wire
 * time precisely (hrtime, not timer ticks): an answer leaves when request and response would
 * have crossed the line at `baud` (10 bits per byte), one exchange at a time; the frame goes
 * to whichever lock its ADDR names (an RS-485 bus). One lock: a point-to-point line.
 */
import { createServer, type Server } from "node:net";
import { FrameDecoder } from "../../src/protocol/llp/index.js";
import type { SimLock } from "../../sim/index.js";

export interface PacedBus {
  port: number;
  /** Nanoseconds the line carried bytes so far (requests and answers). */
  readonly busyNs: bigint;
  close(): Promise<void>;
}

export async function startPacedBus(locks: readonly SimLock[], baud: number): Promise<PacedBus> {
  let busyNs = 0n;
  const server: Server = createServer((sock) => {
    sock.setNoDelay(true);
    const decoder = new FrameDecoder();
    let busyUntil = 0n; // the line is busy until then (ns)
    sock.on("data", (chunk: Buffer) => {
      const arrived = process.hrtime.bigint();
      for (const frame of decoder.push(chunk)) {
        const reqBytes = 8 + frame.body.length;
        let reply = null;
        for (const lock of locks) {
          if (!lock.isForMe(frame)) continue;
          reply = lock.answer(frame);
          break;
        }
        if (!reply) continue;
        const wireNs = BigInt(Math.round(((reqBytes + reply.bytes.length) * 10 * 1e9) / baud));
        busyNs += wireNs;
        const start = arrived > busyUntil ? arrived : busyUntil;
        const due = start + wireNs;
        busyUntil = due;
        const bytes = reply.bytes;
        const send = () => {
          if (process.hrtime.bigint() >= due) sock.write(bytes);
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
  return {
    port: addr.port,
    get busyNs() {
      return busyNs;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
