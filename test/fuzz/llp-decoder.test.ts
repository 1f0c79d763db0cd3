/**
 * Fuzz: the LLP frame decoder and body decoders against anything the lock side can send —
 * random bytes, valid frames (sealed or not) cut at random points, with garbage between
 * them, truncated, corrupted and reordered. Properties: no crash, bounded buffering, every
 * intact frame comes out exactly once, and a body decoder either decodes or refuses with a
 * LockBridgeError (never a TypeError/RangeError from reading past the end).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FrameDecoder,
  MAX_LEN,
  decodeAckBody,
  decodeEventNotify,
  decodeNakBody,
  decodeRequestBody,
  encodeFrame,
  type Frame,
  type LlpCommandName,
} from "../../src/protocol/llp/index.js";
import { Cmd } from "../../src/protocol/llp/constants.js";
import { isLockBridgeError } from "../../src/shared/errors.js";
import { FUZZ_TIMEOUT_MS, fuzzParams } from "./runs.js";

const frameArb: fc.Arbitrary<Frame> = fc.record({
  addr: fc.integer({ min: 0, max: 255 }),
  fromLock: fc.boolean(),
  sec: fc.boolean(),
  seq: fc.integer({ min: 0, max: 15 }),
  cmd: fc.integer({ min: 0, max: 255 }),
  body: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
}) as fc.Arbitrary<Frame>;

/** Splits bytes into chunks at the given cut points (as a socket or UART delivers them). */
function chunks(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

/** Refusal or success, never a crash of the reader. */
function decodesOrRefuses(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!isLockBridgeError(e)) throw e;
    expect(e.message.length).toBeGreaterThan(0);
  }
}

describe("fuzz: LLP decoder", () => {
  it("random bytes in random chunks: no crash, buffering bounded by one frame", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }), (parts) => {
        const d = new FrameDecoder();
        for (const p of parts) {
          for (const f of d.push(p)) expect(f.body.length).toBeLessThanOrEqual(MAX_LEN);
          expect(d.pending).toBeLessThanOrEqual(6 + MAX_LEN);
        }
      }),
      fuzzParams(2_000),
    );
  }, FUZZ_TIMEOUT_MS);

  it("valid frames with garbage between, cut anywhere: every intact frame comes out once, in order", () => {
    // Garbage without SOF cannot start a false frame; what it does to the next frame is the point.
    const garbage = fc.uint8Array({ maxLength: 20 }).map((g) => Buffer.from(g.filter((b) => b !== 0xa5)));
    fc.assert(
      fc.property(fc.array(fc.tuple(garbage, frameArb), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (items, cuts) => {
        const wire = Buffer.concat(items.flatMap(([g, f]) => [g, encodeFrame(f)]));
        const d = new FrameDecoder();
        const got = chunks(wire, cuts).flatMap((c) => d.push(c));
        expect(got.map((f) => [f.addr, f.cmd, f.seq, Buffer.from(f.body).toString("hex")])).toEqual(
          items.map(([, f]) => [f.addr, f.cmd, f.seq, Buffer.from(f.body).toString("hex")]),
        );
        expect(d.pending).toBe(0);
      }),
      fuzzParams(1_000),
    );
  }, FUZZ_TIMEOUT_MS);

  it("truncated, corrupted and reordered frames: no crash, a later intact frame is still found", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant("swap" as const), at: fc.nat(), with: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 5 }), fc.array(mutation, { maxLength: 4 }), frameArb, (frames, mutations, last) => {
        const parts = frames.map((f) => encodeFrame(f));
        for (const m of mutations) {
          const i = m.at % parts.length;
          const p = Buffer.from(parts[i]!);
          if (m.kind === "truncate") parts[i] = p.subarray(0, m.at % p.length);
          else if (m.kind === "flip") {
            p[m.at % p.length]! ^= 1 << m.bit;
            parts[i] = p;
          } else {
            const j = m.with % parts.length;
            [parts[i], parts[j]] = [parts[j]!, parts[i]!];
          }
        }
        const d = new FrameDecoder();
        const got = [...parts.flatMap((p) => d.push(p))];
        // A truncated frame may swallow the start of the next; a quiet gap then a fresh frame
        // must come through (the link layer resets the decoder after its inter-frame timeout).
        d.reset();
        got.push(...d.push(encodeFrame(last)));
        expect(got.at(-1)?.cmd).toBe(last.cmd);
        expect(got.length).toBeLessThanOrEqual(frames.length + 1);
      }),
      fuzzParams(1_000),
    );
  }, FUZZ_TIMEOUT_MS);

  it("body decoders: random and truncated bodies decode or are refused with a LockBridgeError", () => {
    const names = Object.keys(Cmd) as LlpCommandName[];
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 200 }), (name, code, body) => {
        decodesOrRefuses(() => decodeAckBody(name, body));
        decodesOrRefuses(() => decodeRequestBody(code, body));
        decodesOrRefuses(() => decodeNakBody(body));
        decodesOrRefuses(() => decodeEventNotify(body));
      }),
      fuzzParams(3_000),
    );
  }, FUZZ_TIMEOUT_MS);
});
