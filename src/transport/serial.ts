/**
 * LLP over a serial port (RS-485 adapter or USB/UART) through `serialport`. The port is
 * reopened with backoff when it errors or disappears (adapter unplugged: the path may come
 * back later, possibly as another device node behind the same udev symlink).
 */
import { SerialPort } from "serialport";
import { StreamTransport, type StreamTransportOptions } from "./stream-transport.js";

export interface SerialSettings {
  baudRate: number;
  parity: "none" | "even" | "odd";
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

export interface SerialTransportOptions extends StreamTransportOptions {
  path: string;
  serial: SerialSettings;
}

export class SerialTransport extends StreamTransport {
  readonly kind = "serial" as const;
  readonly target: string;
  private port: SerialPort | undefined;

  constructor(private readonly opts: SerialTransportOptions) {
    super(opts);
    this.target = opts.path;
  }

  get settings(): SerialSettings {
    return this.opts.serial;
  }

  protected connect(generation: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const { baudRate, parity, dataBits, stopBits } = this.opts.serial;
      const port = new SerialPort({ path: this.opts.path, baudRate, parity, dataBits, stopBits, autoOpen: false, hupcl: false });
      this.port = port;
      let opened = false;
      port.on("data", (chunk: Buffer) => this.linkData(generation, chunk));
      port.on("error", (err) => {
        if (opened) this.linkLost(generation, err);
      });
      // serialport reports a vanished device as 'close' with err.disconnected.
      port.on("close", (err: Error | null) => {
        if (opened) this.linkLost(generation, err ?? undefined);
      });
      port.open((err) => {
        if (err) return reject(err);
        opened = true;
        resolve();
      });
    });
  }

  protected disconnect(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (!port || !port.isOpen) return Promise.resolve();
    return new Promise((resolve) => {
      port.close(() => resolve());
    });
  }

  protected send(data: Uint8Array): Promise<void> {
    const port = this.port;
    return new Promise((resolve, reject) => {
      if (!port) return reject(new Error("port not open"));
      port.write(Buffer.from(data), (err) => (err ? reject(err) : resolve()));
    });
  }
}
