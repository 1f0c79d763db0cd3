import { createServer, type Socket } from "node:net";
import type { SimLock } from "../lock/sim-lock.js";
import { LockBus, type BusOptions } from "./bus.js";
import { listenOn } from "../listen.js";

export interface TcpBusOptions extends BusOptions {
  host?: string;
  /** 0 or absent: a free port. */
  port?: number;
}

export interface TcpBus {
  host: string;
  port: number;
  bus: LockBus;
  /** Open hub connections. */
  readonly connections: number;
  /** Drop every hub connection (the serial server restarted), keep listening. */
  dropConnections(): void;
  close(): Promise<void>;
}

/** Locks behind one TCP port, like an RS-485 bus behind a serial server (ser2net). */
export async function startTcpBus(locks: readonly SimLock[], opts: TcpBusOptions = {}): Promise<TcpBus> {
  const bus = new LockBus(locks, opts);
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    const port = bus.attach({ write: (b) => void sock.write(b) });
    sock.on("data", (d) => port.push(d));
    sock.on("error", () => sock.destroy());
    sock.on("close", () => {
      port.detach();
      sockets.delete(sock);
    });
  });
  const { host, port } = await listenOn(server, opts, "TCP bus");
  return {
    host,
    port,
    bus,
    get connections() {
      return sockets.size;
    },
    dropConnections() {
      for (const s of sockets) s.destroy();
    },
    async close() {
      bus.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
