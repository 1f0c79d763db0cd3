import { describe, expect, it } from "vitest";
import {
  Cmd, decodeAckBody, decodeRequestBody, encodeAckBody, encodeFrame, encodeRequest, encodeRequestBody,
  FrameDecoder, type LlpRequest,
} from "../../../src/protocol/llp/index.js";

const ident = encodeRequest(1, 1, { cmd: "IDENT" });
const status = encodeRequest(7, 3, { cmd: "STATUS" });
const put = encodeRequest(1, 2, { cmd: "PUT_CREDENTIAL", kind: 1, slot: 5, validFrom: 1, validUntil: 2, flags: 0, secret: Buffer.from("482916") });

describe("FrameDecoder", () => {
  it("decodes back-to-back frames fed one byte at a time", () => {
    const d = new FrameDecoder();
    const all = Buffer.concat([ident, put, status]);
    const frames = [...all].flatMap((b) => d.push(Buffer.from([b])));
    expect(frames.map((f) => f.cmd)).toEqual([Cmd.IDENT, Cmd.PUT_CREDENTIAL, Cmd.STATUS]);
    expect(d.pending).toBe(0);
  });

  it("skips garbage, including stray SOF bytes, before a frame", () => {
    const d = new FrameDecoder();
    const frames = d.push(Buffer.concat([Buffer.from([0x00, 0xa5, 0xff, 0xff, 0xff, 0x13]), ident]));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.cmd).toBe(Cmd.IDENT);
    expect(d.stats.frames).toBe(1);
  });

  it("drops a frame with a corrupted byte and resynchronises on the next one", () => {
    const d = new FrameDecoder();
    const bad = Buffer.from(put);
    bad[10]! ^= 0x40;
    const frames = d.push(Buffer.concat([bad, status]));
    expect(frames.map((f) => f.addr)).toEqual([7]);
    expect(d.stats.badCrc).toBeGreaterThanOrEqual(1);
  });

  it("drops an oversized LEN (> 1024) and a LEN below 2", () => {
    const d = new FrameDecoder();
    const huge = Buffer.from([0xa5, 0x01, 0x01, 0x04, 0x00, 0x01]); // LEN 1025
    const tiny = Buffer.from([0xa5, 0x01, 0x01, 0x00]); // LEN 1
    const frames = d.push(Buffer.concat([huge, tiny, ident]));
    expect(frames).toHaveLength(1);
    expect(d.stats.badLen).toBe(2);
  });

  it("recovers from a truncated frame once later bytes complete its claimed length", () => {
    const d = new FrameDecoder();
    const truncated = put.subarray(0, 12);
    const frames = d.push(Buffer.concat([truncated, status, ident, status]));
    // The truncated frame swallows bytes until its LEN is satisfied, fails its CRC, and hunting resumes.
    expect(frames.length).toBeGreaterThanOrEqual(1);
    expect(frames.at(-1)!.addr).toBe(7);
    expect(d.stats.badCrc).toBeGreaterThanOrEqual(1);
  });

  it("a stray SOF that forms a plausible LEN holds later bytes until the owner resets on timeout", () => {
    const d = new FrameDecoder();
    expect(d.push(Buffer.concat([Buffer.from([0xa5]), ident]))).toHaveLength(0);
    d.reset(); // what a session does when its response timeout fires
    expect(d.push(ident)).toHaveLength(1);
  });

  it("reset forgets a partial frame", () => {
    const d = new FrameDecoder();
    d.push(put.subarray(0, 10));
    expect(d.pending).toBe(10);
    d.reset();
    expect(d.push(ident)).toHaveLength(1);
  });
});

describe("command bodies round-trip", () => {
  const requests: LlpRequest[] = [
    { cmd: "IDENT" }, { cmd: "STATUS" }, { cmd: "SET_TIME", time: 1767279600 },
    { cmd: "PUT_CREDENTIAL", kind: 2, slot: 300, validFrom: 0, validUntil: 0, flags: 1, secret: Buffer.from("04a1b2c3d4", "hex") },
    { cmd: "DELETE_CREDENTIAL", kind: 1, slot: 7 }, { cmd: "READ_SLOTS", kind: 1, firstSlot: 0, count: 32 },
    { cmd: "TABLE_DIGEST", kind: 3 }, { cmd: "UNLOCK", seconds: 5 }, { cmd: "READ_EVENTS", fromSeq: 42, max: 32 },
    { cmd: "ACK_EVENTS", uptoSeq: 41 },
    { cmd: "FW_BEGIN", size: 100000, sha256: Buffer.alloc(32, 7), version: "2.1.0" },
    { cmd: "FW_CHUNK", offset: 1000, data: Buffer.alloc(1000, 1) }, { cmd: "FW_COMMIT" }, { cmd: "FW_ABORT" },
    { cmd: "PAIR", linkKey: Buffer.alloc(16, 9) },
  ];
  it.each(requests.map((r) => [r.cmd, r] as const))("%s request", (_n, req) => {
    const frame = encodeRequest(3, 4, req);
    expect(decodeRequestBody(frame[5]!, frame.subarray(6, frame.length - 2))).toEqual(req);
  });

  it("rejects a request body with trailing bytes or missing fields", () => {
    const body = encodeRequestBody({ cmd: "SET_TIME", time: 5 });
    expect(() => decodeRequestBody(Cmd.SET_TIME, Buffer.concat([body, Buffer.from([1])]))).toThrow(/trailing/);
    expect(() => decodeRequestBody(Cmd.SET_TIME, body.subarray(0, 3))).toThrow(/too short/);
    expect(() => decodeRequestBody(0x7f, Buffer.alloc(0))).toThrow(/unknown command/);
  });

  it("ACK bodies round-trip", () => {
    const identInfo = {
      protocolVersion: 1, lockId: "4c42000000000001", model: "LB-M100", firmware: "1.2.3", capabilities: 0x7f,
      codeSlots: 200, cardSlots: 100, mobileKeySlots: 50, codeMinLen: 4, codeMaxLen: 8,
    };
    expect(decodeAckBody("IDENT", encodeAckBody("IDENT", identInfo))).toEqual(identInfo);
    const events = [{ seq: 9, time: 100, type: 1, kind: 1, slot: 5, reason: 0 }];
    expect(decodeAckBody("READ_EVENTS", encodeAckBody("READ_EVENTS", events))).toEqual(events);
    const slots = [{ slot: 5, validFrom: 1, validUntil: 2, flags: 0, secretDigest: Buffer.from("1a0774b3", "hex") }];
    expect(decodeAckBody("READ_SLOTS", encodeAckBody("READ_SLOTS", slots))).toEqual(slots);
    expect(decodeAckBody("FW_BEGIN", encodeAckBody("FW_BEGIN", { maxChunk: 1000 }))).toEqual({ maxChunk: 1000 });
    expect(() => decodeAckBody("READ_EVENTS", Buffer.from([2, 1, 2, 3]))).toThrow(/events need/);
  });

  it("refuses to encode a frame with LEN over 1024", () => {
    expect(() => encodeFrame({ addr: 1, fromLock: false, sec: false, seq: 1, cmd: 1, body: Buffer.alloc(1023) })).toThrow(/LEN/);
  });
});
