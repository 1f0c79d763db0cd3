import { MAX_LEN, SOF } from "./constants.js";
import { crc16CcittFalse } from "./crc.js";
import { frameFields, type Frame } from "./frame.js";

export interface DecoderStats {
  frames: number;
  /** Bytes skipped while hunting for SOF. */
  garbageBytes: number;
  badCrc: number;
  badLen: number;
}

/**
 * Streaming LLP decoder: bytes in, frames out, no timers. Per §1 a frame with a bad CRC
 * or an invalid LEN is dropped and hunting resumes at the byte after its SOF, so the
 * decoder resynchronises after garbage, corruption and truncation. Drops are counted,
 * never hidden: the owner reads `stats`.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  readonly stats: DecoderStats = { frames: 0, garbageBytes: 0, badCrc: 0, badLen: 0 };

  push(chunk: Uint8Array): Frame[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    let pos = 0;
    for (;;) {
      const sof = this.buf.indexOf(SOF, pos);
      if (sof < 0) {
        this.stats.garbageBytes += this.buf.length - pos;
        pos = this.buf.length;
        break;
      }
      this.stats.garbageBytes += sof - pos;
      pos = sof;
      if (this.buf.length - pos < 4) break; // need ADDR and LEN
      const len = this.buf[pos + 2]! | (this.buf[pos + 3]! << 8);
      if (len < 2 || len > MAX_LEN) {
        this.stats.badLen++;
        pos += 1;
        continue;
      }
      const total = 6 + len;
      if (this.buf.length - pos < total) break; // wait for the rest
      const crc = this.buf[pos + 4 + len]! | (this.buf[pos + 5 + len]! << 8);
      if (crc !== crc16CcittFalse(this.buf, pos + 1, pos + 4 + len)) {
        this.stats.badCrc++;
        pos += 1;
        continue;
      }
      frames.push(frameFields(this.buf.subarray(pos, pos + total), len));
      this.stats.frames++;
      pos += total;
    }
    this.buf = this.buf.subarray(pos);
    return frames;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }

  /** Forget a partial frame, e.g. after a link reconnect. */
  reset(): void {
    this.buf = Buffer.alloc(0);
  }
}
