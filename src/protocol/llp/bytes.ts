import { LockBridgeError } from "../../shared/errors.js";

/** Little-endian writer for LLP bodies. */
export class ByteWriter {
  private parts: number[] = [];
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  bytes(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  /** uint8 length + bytes. */
  lstring(b: Uint8Array | string): this {
    const buf = typeof b === "string" ? Buffer.from(b, "utf8") : b;
    if (buf.length > 255) throw new LockBridgeError("frame_invalid", `string of ${buf.length} bytes exceeds 255`);
    return this.u8(buf.length).bytes(buf);
  }
  build(): Buffer {
    return Buffer.from(this.parts);
  }
}

/** Little-endian reader that throws frame_invalid (MALFORMED on the lock side) when a field is missing. */
export class ByteReader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}
  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new LockBridgeError("frame_invalid", `body too short for ${what}`);
    }
  }
  u8(what = "u8"): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }
  u16(what = "u16"): number {
    this.need(2, what);
    const v = this.buf[this.pos]! | (this.buf[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }
  u32(what = "u32"): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }
  bytes(n: number, what = "bytes"): Buffer {
    this.need(n, what);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
  lbytes(what = "string"): Buffer {
    return this.bytes(this.u8(what), what);
  }
  lstring(what = "string"): string {
    return this.lbytes(what).toString("utf8");
  }
  rest(): Buffer {
    return this.bytes(this.buf.length - this.pos);
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  /** Trailing bytes make a body malformed: the spec gives every body an exact shape. */
  end(what: string): void {
    if (this.pos !== this.buf.length) {
      throw new LockBridgeError("frame_invalid", `${what}: ${this.buf.length - this.pos} unexpected trailing bytes`);
    }
  }
}
