/**
 * A lock's link with an attacker on it, for the issue 9 regression tests: the hub's frames
 * reach the genuine simulated lock (or nobody), and a `forge` function may answer in the
 * lock's place, as a device on the RS-485 bus, a BLE impostor or the network to a serial
 * server could. Every frame the hub sent is kept, so a test can show what left the hub.
 * Served on TCP (a serial server) or on the lock end of a socat pseudo-terminal (the bus).
 */
import { randomBytes } from "node:crypto";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { SerialPort } from "serialport";
import {
  Capability, Cmd, encodeAckBody, encodeFrame, encodeNakBody, FrameDecoder, NakCode, type Frame, type IdentInfo,
} from "../../src/protocol/llp/index.js";
import type { SimLock } from "../../sim/index.js";
import { startSocatPair, type SocatPair } from "./socat.js";

/** Answers in the lock's place: bytes, null (silence), or undefined (let the genuine lock answer). */
export type Forge = (frame: Frame, genuine: () => Buffer | null) => Buffer | null | undefined;

export class HostileWire {
  /** Every frame the hub sent, in order. */
  readonly fromHub: Frame[] = [];
  /** Raw bytes the hub sent, in order (for "no secret in clear" checks). */
  readonly rawFromHub: Buffer[] = [];
  forge: Forge | undefined;

  constructor(public lock: SimLock | null) {}

  handle(frame: Frame): Buffer | null {
    this.fromHub.push(frame);
    this.rawFromHub.push(encodeFrame(frame));
    const genuine = () => this.lock?.answer(frame)?.bytes ?? null;
    const forged = this.forge?.(frame, genuine);
    return forged === undefined ? genuine() : forged;
  }

  /** Frames sent from index `from` on. */
  since(from: number): Frame[] {
    return this.fromHub.slice(from);
  }
}

// ---------------------------------------------------------------- what an impostor sends

const answer = (f: Frame, cmd: number, body: Uint8Array): Buffer => encodeFrame({ addr: f.addr, fromLock: true, sec: false, seq: f.seq, cmd, body });

/** "I lost my key": the one NAK a lock sends unsealed. */
export const unsealedNotAuthenticated = (f: Frame): Buffer => answer(f, Cmd.NAK, encodeNakBody({ code: NakCode.NOT_AUTHENTICATED }));

/** An unsealed IDENT answer claiming `ident` (another lockId, or the genuine one with PAIR_KX). */
export const unsealedIdent = (f: Frame, ident: Omit<IdentInfo, "protocolVersion">): Buffer => answer(f, Cmd.ACK, encodeAckBody("IDENT", { protocolVersion: 1, ...ident }));

/** A PAIR_KX answer from something without the setup key: a fresh public key, a guessed confirm. */
export const guessedPairKx = (f: Frame): Buffer => answer(f, Cmd.ACK, encodeAckBody("PAIR_KX", { lockPub: randomBytes(32), confirm: randomBytes(16) }));

/** What an rs485-mortise lock shows in IDENT, under any lockId. */
export const mortiseIdent = (lockId: string): Omit<IdentInfo, "protocolVersion"> => ({
  lockId, model: "NV-M485", firmware: "1.0.0",
  capabilities: Capability.DOOR_CODES | Capability.KEYCARDS | Capability.REMOTE_UNLOCK | Capability.DOOR_SENSOR | Capability.FIRMWARE_UPDATE | Capability.SEALING | Capability.PAIR_KX,
  codeSlots: 32, cardSlots: 32, mobileKeySlots: 0, codeMinLen: 4, codeMaxLen: 8,
});

// ---------------------------------------------------------------- the link

export interface HostileLink {
  wire: HostileWire;
  /** The contract's link object for lock.commission. */
  link: Record<string, unknown>;
  close(): Promise<void>;
}

function feed(wire: HostileWire, write: (b: Buffer) => void): (chunk: Buffer) => void {
  const decoder = new FrameDecoder();
  return (chunk) => {
    for (const frame of decoder.push(chunk)) {
      if (frame.fromLock) continue;
      const reply = wire.handle(frame);
      if (reply) write(reply);
    }
  };
}

/** A serial server on loopback TCP with the attacker inside. */
export async function hostileTcpLink(lock: SimLock | null, address: number): Promise<HostileLink> {
  const wire = new HostileWire(lock);
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
    s.on("data", feed(wire, (b) => void s.write(b)));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    wire,
    link: { type: "tcp", host: "127.0.0.1", port, address },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A socat pseudo-terminal: the hub opens one end with serialport, the attacker and the lock share the other. */
export async function hostilePtyLink(lock: SimLock | null, address: number): Promise<HostileLink> {
  const wire = new HostileWire(lock);
  const pair: SocatPair = await startSocatPair();
  const serial = new SerialPort({ path: pair.lockPath, baudRate: 19200, autoOpen: false });
  await new Promise<void>((resolve, reject) => serial.open((e) => (e ? reject(e) : resolve())));
  serial.on("data", feed(wire, (b) => void serial.write(b)));
  serial.on("error", () => undefined);
  return {
    wire,
    link: { type: "serial", path: pair.hubPath, address },
    async close() {
      await new Promise<void>((r) => (serial.isOpen ? serial.close(() => r()) : r()));
      await pair.close();
    },
  };
}
