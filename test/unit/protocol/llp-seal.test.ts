/**
 * Sealing with the nonce and AAD written into shared buffers: frames sealed and opened
 * interleaved, for different locks, directions and counters, still open to what was sealed;
 * a body that is a view into a larger array opens in place; a flipped bit is refused.
 */
import { describe, expect, it } from "vitest";
import { openBody, sealBody } from "../../../src/protocol/llp/seal.js";

const key = (b: number) => Buffer.alloc(16, b);
const lockIdOf = (b: number) => Buffer.from([0x4c, 0x42, 0, 0, 0, 0, 0, b]);

describe("LLP sealing", () => {
  it("seals and opens interleaved frames of different locks and directions", () => {
    const sealed = Array.from({ length: 12 }, (_, i) => {
      const p = { linkKey: key(i % 3), lockId: lockIdOf(i), fromLock: i % 2 === 0, counter: 1000 + i, addr: i, ctrl: 0x40 | (i & 0x0f), cmd: 0x20 + i };
      const plain = Buffer.from(`credential ${i}`.repeat(1 + (i % 4)));
      return { p, plain, body: sealBody(p, plain) };
    });
    for (const { p, plain, body } of sealed.reverse()) {
      expect(body.length).toBe(4 + plain.length + 8);
      expect(body.readUInt32LE(0)).toBe(p.counter);
      expect(openBody(p, body)).toEqual({ counter: p.counter, plain });
      const other = { ...p, lockId: lockIdOf(99) };
      expect(openBody(other, body)).toBeNull();
    }
  });

  it("opens a body that is a view into a larger array, and refuses a flipped bit", () => {
    const p = { linkKey: key(7), lockId: lockIdOf(1), fromLock: true, counter: 42, addr: 3, ctrl: 0xc5, cmd: 0x81 };
    const body = sealBody(p, Buffer.from([1, 2, 3, 4, 5]));
    const big = new Uint8Array(body.length + 10);
    big.set(body, 5);
    const view = big.subarray(5, 5 + body.length);
    expect(openBody(p, view)).toEqual({ counter: 42, plain: Buffer.from([1, 2, 3, 4, 5]) });
    view[6] = view[6]! ^ 1;
    expect(openBody(p, view)).toBeNull();
  });
});
