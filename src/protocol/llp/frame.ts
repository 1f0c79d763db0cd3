import { LockBridgeError } from "../../shared/errors.js";
import { FRAME_OVERHEAD, MAX_LEN, SOF } from "./constants.js";
import { crc16CcittFalse } from "./crc.js";

/** One LLP frame (lock-link-protocol.md §1). `body` is as on the wire: sealed when `sec` is set. */
export interface Frame {
  addr: number;
  /** DIR bit: true for lock-to-hub frames. */
  fromLock: boolean;
  sec: boolean;
  /** 0..15 */
  seq: number;
  cmd: number;
  body: Uint8Array;
}

export const CTRL_DIR = 0x80;
export const CTRL_SEC = 0x40;
export const CTRL_RESERVED = 0x30;

export function ctrlByte(f: Pick<Frame, "fromLock" | "sec" | "seq">): number {
  return (f.fromLock ? CTRL_DIR : 0) | (f.sec ? CTRL_SEC : 0) | (f.seq & 0x0f);
}

export function encodeFrame(f: Frame): Buffer {
  if (!Number.isInteger(f.addr) || f.addr < 0 || f.addr > 255) throw new LockBridgeError("frame_invalid", `ADDR ${f.addr} out of range`);
  if (!Number.isInteger(f.seq) || f.seq < 0 || f.seq > 15) throw new LockBridgeError("frame_invalid", `SEQ ${f.seq} out of range 0..15`);
  const len = 2 + f.body.length;
  if (len > MAX_LEN) throw new LockBridgeError("frame_invalid", `LEN ${len} exceeds ${MAX_LEN}`);
  const out = Buffer.alloc(FRAME_OVERHEAD + f.body.length);
  out[0] = SOF;
  out[1] = f.addr;
  out.writeUInt16LE(len, 2);
  out[4] = ctrlByte(f);
  out[5] = f.cmd;
  out.set(f.body, 6);
  out.writeUInt16LE(crc16CcittFalse(out, 1, 6 + f.body.length), 6 + f.body.length);
  return out;
}

/** Decode exactly one complete frame (for tests and vectors); streams use FrameDecoder. */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length < FRAME_OVERHEAD || bytes[0] !== SOF) throw new LockBridgeError("frame_invalid", "not an LLP frame");
  const len = bytes[2]! | (bytes[3]! << 8);
  if (len < 2 || len > MAX_LEN) throw new LockBridgeError("frame_invalid", `invalid LEN ${len}`);
  if (bytes.length !== 6 + len) throw new LockBridgeError("frame_invalid", `LEN ${len} does not match ${bytes.length} bytes`);
  const crc = bytes[4 + len]! | (bytes[5 + len]! << 8);
  if (crc !== crc16CcittFalse(bytes, 1, 4 + len)) throw new LockBridgeError("frame_invalid", "bad CRC");
  return frameFields(bytes, len);
}

export function frameFields(bytes: Uint8Array, len: number): Frame {
  const ctrl = bytes[4]!;
  return {
    addr: bytes[1]!,
    fromLock: (ctrl & CTRL_DIR) !== 0,
    sec: (ctrl & CTRL_SEC) !== 0,
    seq: ctrl & 0x0f,
    cmd: bytes[5]!,
    body: Buffer.from(bytes.subarray(6, 4 + len)),
  };
}
