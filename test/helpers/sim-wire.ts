// Hub-side byte streams to simulated links, for integration tests: a TCP socket or a
// serialport on the hub end of a pty, wrapped in a StreamPeer.
import { connect, type Socket } from "node:net";
import { SerialPort } from "serialport";
import { StreamPeer } from "../../sim/index.js";

export interface WireClient {
  peer: StreamPeer;
  close(): Promise<void>;
}

export async function tcpClient(port: number, host = "127.0.0.1"): Promise<WireClient & { socket: Socket }> {
  const socket = connect({ port, host });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.setNoDelay(true);
  const peer = new StreamPeer((b) => void socket.write(b));
  socket.on("data", (d) => peer.push(d));
  return {
    peer,
    socket,
    close: () => new Promise<void>((r) => (socket.destroyed ? r() : socket.end(() => r()))),
  };
}

export async function serialClient(path: string, baudRate = 115200): Promise<WireClient> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const peer = new StreamPeer((b) => void port.write(b));
  port.on("data", (d: Buffer) => peer.push(d));
  return { peer, close: () => new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r())) };
}
