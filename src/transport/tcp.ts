/** LLP over TCP: a serial server (ser2net and the like) or the simulator's TCP bus. */
import { Socket } from "node:net";
import { StreamTransport, type StreamTransportOptions } from "./stream-transport.js";

export interface TcpTransportOptions extends StreamTransportOptions {
  host: string;
  port: number;
  connectTimeoutMs?: number | undefined;
}

export class TcpTransport extends StreamTransport {
  readonly kind = "tcp" as const;
  readonly target: string;
  private socket: Socket | undefined;

  constructor(private readonly opts: TcpTransportOptions) {
    super(opts);
    this.target = `${opts.host}:${opts.port}`;
  }

  protected connect(generation: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      this.socket = socket;
      // Requests are small and latency-bound: never let Nagle hold one back.
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      socket.setTimeout(this.opts.connectTimeoutMs ?? 5_000);
      let connected = false;
      socket.once("timeout", () => {
        if (!connected) socket.destroy(new Error("connect timed out"));
      });
      socket.on("data", (chunk: Buffer) => this.linkData(generation, chunk));
      socket.on("error", (err) => {
        if (!connected) reject(err);
        else this.linkLost(generation, err);
      });
      socket.on("close", () => {
        if (!connected) reject(new Error("connection closed"));
        else this.linkLost(generation);
      });
      socket.connect(this.opts.port, this.opts.host, () => {
        connected = true;
        socket.setTimeout(0);
        resolve();
      });
    });
  }

  protected disconnect(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once("close", () => resolve());
      socket.destroy();
    });
  }

  protected send(data: Uint8Array): Promise<void> {
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      if (!socket) return reject(new Error("no socket"));
      socket.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }
}
