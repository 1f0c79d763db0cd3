// Firmware update on the lock side: in-order chunks, sha256 verification, restart, new version.
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { EventType, encodeRequest } from "../../../src/protocol/llp/index.js";
import { lockHarness } from "../../helpers/sim-harness.js";

const image = randomBytes(2500);
const sha = createHash("sha256").update(image).digest();

function upload(h: ReturnType<typeof lockHarness>, img = image, hash = sha, version = "2.0.0") {
  const { maxChunk } = h.ok({ cmd: "FW_BEGIN", size: img.length, sha256: hash, version });
  for (let off = 0; off < img.length; off += maxChunk) h.ok({ cmd: "FW_CHUNK", offset: off, data: img.subarray(off, off + maxChunk) });
  return maxChunk;
}

describe("firmware update", () => {
  it("verifies, restarts (silent), then reports the new version and FIRMWARE_APPLIED", () => {
    const h = lockHarness({ paired: true, fwRestartMs: 3000 });
    expect(upload(h)).toBe(1000);
    h.ok({ cmd: "FW_COMMIT" });
    // Restarting: no answer at all.
    expect(h.lock.handleRequest(h.peer.encode({ cmd: "IDENT" }))).toBeNull();
    h.clock.advance(3000);
    expect(h.ok({ cmd: "IDENT" }).firmware).toBe("2.0.0");
    expect(h.lock.events.all().at(-1)?.type).toBe(EventType.FIRMWARE_APPLIED);
  });

  it("logs FIRMWARE_APPLIED when the restart ends even if nobody asks", () => {
    const h = lockHarness({ fwRestartMs: 1000 });
    upload(h);
    h.ok({ cmd: "FW_COMMIT" });
    const seen: number[] = [];
    h.lock.onEvent((e) => seen.push(e.type));
    h.clock.advance(1000);
    expect(seen).toEqual([EventType.FIRMWARE_APPLIED]);
  });

  it("answers BUSY with the remaining time when configured so", () => {
    const h = lockHarness({ fwRestartMs: 4000, fwRestartAnswer: "busy" });
    upload(h);
    h.ok({ cmd: "FW_COMMIT" });
    h.clock.advance(1000);
    const r = h.send({ cmd: "STATUS" });
    expect(r.ok ? null : r.nak).toMatchObject({ name: "BUSY", retryAfterMs: 3000 });
  });

  it("a request sent during the restart is not consumed: its identical retry afterwards is executed", () => {
    for (const mode of ["silent", "busy"] as const) {
      const h = lockHarness({ paired: true, fwRestartMs: 2000, fwRestartAnswer: mode });
      upload(h);
      h.ok({ cmd: "FW_COMMIT" });
      const req = h.peer.encode({ cmd: "STATUS" });
      const during = h.lock.handleRequest(req);
      if (mode === "silent") expect(during).toBeNull();
      else expect(h.peer.decode("STATUS", during!)).toMatchObject({ ok: false, nak: { name: "BUSY" }, frame: { sec: true } });
      h.clock.advance(2000);
      const after = h.peer.decode("STATUS", h.lock.handleRequest(req)!);
      expect(after.ok).toBe(true);
      expect(h.lock.executionCount("STATUS")).toBe(1);
    }
  });

  it("refuses an image whose hash does not match (VERIFY_FAILED) and keeps the old version", () => {
    const h = lockHarness();
    upload(h, image, Buffer.alloc(32, 9));
    expect(h.nakName({ cmd: "FW_COMMIT" })).toBe("VERIFY_FAILED");
    expect(h.ok({ cmd: "IDENT" }).firmware).toBe("1.0.0");
  });

  it("NAKs an out-of-order chunk with the expected offset, so a transfer resumes where the lock is", () => {
    const h = lockHarness();
    h.ok({ cmd: "FW_BEGIN", size: image.length, sha256: sha, version: "2.0.0" });
    h.ok({ cmd: "FW_CHUNK", offset: 0, data: image.subarray(0, 1000) });
    const r = h.send({ cmd: "FW_CHUNK", offset: 2000, data: image.subarray(2000, 2500) });
    expect(r.ok ? null : r.nak).toMatchObject({ name: "INVALID_STATE", expectedOffset: 1000 });
    expect(h.nakName({ cmd: "FW_COMMIT" })).toBe("INVALID_STATE");
    expect(h.nakName({ cmd: "FW_CHUNK", offset: 1000, data: Buffer.alloc(1001) })).toBe("MALFORMED");
  });

  it("a retried chunk (same bytes) is answered from the cache, not hashed twice", () => {
    const h = lockHarness();
    h.ok({ cmd: "FW_BEGIN", size: image.length, sha256: sha, version: "2.0.0" });
    const chunk = encodeRequest(1, 5, { cmd: "FW_CHUNK", offset: 0, data: image.subarray(0, 1000) });
    h.lock.handleRequest(chunk);
    h.lock.handleRequest(chunk);
    expect(h.lock.executionCount("FW_CHUNK")).toBe(1);
    h.lock.handleRequest(encodeRequest(1, 6, { cmd: "FW_CHUNK", offset: 1000, data: image.subarray(1000, 2000) }));
    h.lock.handleRequest(encodeRequest(1, 7, { cmd: "FW_CHUNK", offset: 2000, data: image.subarray(2000) }));
    expect(h.nakName({ cmd: "FW_COMMIT" })).toBe("ACK");
  });

  it("FW_ABORT drops the transfer; an image beyond the buffer is MEMORY_FULL", () => {
    const h = lockHarness({ fwMaxSize: 2000 });
    expect(h.nakName({ cmd: "FW_BEGIN", size: 2001, sha256: sha, version: "2" })).toBe("MEMORY_FULL");
    h.ok({ cmd: "FW_BEGIN", size: 1500, sha256: sha, version: "2" });
    h.ok({ cmd: "FW_ABORT" });
    expect(h.nakName({ cmd: "FW_CHUNK", offset: 0, data: Buffer.alloc(10) })).toBe("INVALID_STATE");
  });

  it("fault fwCorruptImage: FW_COMMIT gets VERIFY_FAILED and the lock keeps its firmware", () => {
    const h = lockHarness({ fwCorruptImage: true, fwRestartMs: 100 });
    const before = h.lock.firmware;
    upload(h);
    expect(h.lock.firmwareOffset).toBe(image.length);
    expect(h.nakName({ cmd: "FW_COMMIT" })).toBe("VERIFY_FAILED");
    expect(h.lock.firmwareOffset).toBeNull();
    h.clock.advance(1000);
    expect(h.ok({ cmd: "IDENT" }).firmware).toBe(before);
    h.lock.setFirmwareFaults({ corruptImage: false });
    upload(h);
    h.ok({ cmd: "FW_COMMIT" });
    h.clock.advance(100);
    expect(h.ok({ cmd: "IDENT" }).firmware).toBe("2.0.0");
  });

  it("fwWipesTables: the update clears every credential table as it is applied", () => {
    const h = lockHarness({ fwWipesTables: true, fwRestartMs: 100 });
    h.ok({ cmd: "PUT_CREDENTIAL", kind: 1, slot: 0, validFrom: 0, validUntil: 0, flags: 0, secret: Buffer.from("482916") });
    expect(h.lock.table(1)!.used).toBe(1);
    upload(h);
    h.ok({ cmd: "FW_COMMIT" });
    expect(h.lock.table(1)!.used).toBe(1); // still the old firmware until the restart ends
    h.clock.advance(100);
    expect(h.ok({ cmd: "IDENT" }).firmware).toBe("2.0.0");
    expect(h.lock.table(1)!.used).toBe(0);
  });
});
