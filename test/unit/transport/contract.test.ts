// One contract for the byte-stream transports, run against each real implementation:
// TcpTransport over loopback and SerialTransport over a socat pty pair.
import { createServer, type Server, type Socket } from "node:net";
import { SerialPort } from "serialport";
import { afterEach, describe, expect, it } from "vitest";
import { isLockBridgeError } from "../../../src/shared/errors.js";
import { SerialTransport } from "../../../src/transport/serial.js";
import { TcpTransport } from "../../../src/transport/tcp.js";
import type { Transport } from "../../../src/transport/types.js";
import { FAST_BACKOFF, quietLogger, until } from "../../helpers/lock-link.js";
import { startSocatPair } from "../../helpers/socat.js";

interface Far {
  transport: Transport;
  /** Bytes the far end received. */
  received(): Buffer;
  send(bytes: Buffer): void;
  vanish(): Promise<void>;
  comeBack(): Promise<void>;
  dispose(): Promise<void>;
}

async function tcpFar(): Promise<Far> {
  let got = Buffer.alloc(0);
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const listen = async () => {
    server = createServer((s) => {
      sockets.add(s);
      s.on("data", (d: Buffer) => (got = Buffer.concat([got, d])));
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
    port = (server.address() as { port: number }).port;
  };
  await listen();
  const transport = new TcpTransport({ host: "127.0.0.1", port, logger: quietLogger, backoff: FAST_BACKOFF });
  const vanish = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return {
    transport,
    received: () => got,
    send: (b) => sockets.forEach((s) => s.write(b)),
    vanish,
    comeBack: listen,
    dispose: async () => {
      await transport.close();
      if (server.listening) await vanish();
    },
  };
}

async function serialFar(): Promise<Far> {
  let got = Buffer.alloc(0);
  const pair = await startSocatPair();
  let port: SerialPort | undefined;
  const openFar = async () => {
    const p = new SerialPort({ path: pair.lockPath, baudRate: 115200, autoOpen: false });
    await new Promise<void>((res, rej) => p.open((e) => (e ? rej(e) : res())));
    p.on("data", (d: Buffer) => (got = Buffer.concat([got, d])));
    p.on("error", () => undefined);
    port = p;
  };
  await openFar();
  const transport = new SerialTransport({
    path: pair.hubPath,
    serial: { baudRate: 19200, parity: "even", dataBits: 8, stopBits: 1 },
    logger: quietLogger,
    backoff: FAST_BACKOFF,
  });
  const closeFar = async () => {
    const p = port;
    port = undefined;
    if (p?.isOpen) await new Promise<void>((r) => p.close(() => r()));
  };
  return {
    transport,
    received: () => got,
    send: (b) => void port?.write(b),
    vanish: async () => {
      await closeFar();
      await pair.kill();
    },
    comeBack: async () => {
      await pair.start();
      await openFar();
    },
    dispose: async () => {
      await transport.close();
      await closeFar();
      await pair.close();
    },
  };
}

const impls: [string, () => Promise<Far>][] = [
  ["tcp", tcpFar],
  ["serial (socat pty)", serialFar],
];

const disposers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (disposers.length) await disposers.pop()!();
});

for (const [name, make] of impls) {
  describe(`Transport contract: ${name}`, () => {
    it("opens, carries bytes both ways, and counts them", async () => {
      const far = await make();
      disposers.push(far.dispose);
      const states: string[] = [];
      far.transport.on("state", (s) => states.push(s.state));
      const chunks: Buffer[] = [];
      far.transport.on("data", (d) => chunks.push(d));
      await far.transport.open();
      expect(far.transport.status().state).toBe("open");
      await far.transport.write(Buffer.from([0xa5, 1, 2, 3]));
      await until(() => far.received().length === 4, 3000, "far end receives");
      expect([...far.received()]).toEqual([0xa5, 1, 2, 3]);
      far.send(Buffer.from([9, 8, 7]));
      await until(() => Buffer.concat(chunks).length === 3, 3000, "hub receives");
      expect(far.transport.status()).toMatchObject({ bytesOut: 4, bytesIn: 3, reconnects: 0 });
      expect(states).toEqual(["opening", "open"]);
    });

    it("reopens with backoff when the far end vanishes, and reports it", async () => {
      const far = await make();
      disposers.push(far.dispose);
      const chunks: Buffer[] = [];
      far.transport.on("data", (d) => chunks.push(d));
      await far.transport.open();
      await until(() => far.transport.status().state === "open", 3000, "open");
      await far.vanish();
      await until(() => far.transport.status().state === "reconnecting", 3000, "reconnecting");
      const err = await far.transport.write(Buffer.from([1])).catch((e: unknown) => e);
      expect(isLockBridgeError(err, "transport_closed")).toBe(true);
      expect(far.transport.status().lastError).toBeTruthy();
      await far.comeBack();
      await until(() => far.transport.status().state === "open", 5000, "reopened");
      expect(far.transport.status().reconnects).toBe(1);
      far.send(Buffer.from([5]));
      await until(() => chunks.length > 0, 3000, "data after reopen");
    });

    it("close(): closed for good, writes fail with transport_closed, no reconnect", async () => {
      const far = await make();
      disposers.push(far.dispose);
      await far.transport.open();
      await far.transport.close();
      expect(far.transport.status().state).toBe("closed");
      const err = await far.transport.write(Buffer.from([1])).catch((e: unknown) => e);
      expect(isLockBridgeError(err, "transport_closed")).toBe(true);
      await new Promise((r) => setTimeout(r, 200));
      expect(far.transport.status().state).toBe("closed");
    });
  });
}
