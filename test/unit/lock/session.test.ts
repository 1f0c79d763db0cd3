import { describe, expect, it } from "vitest";
import { Cmd, CredentialKind, decodeFrame, encodeEventNotify, encodeMessage, NakCode, type Frame } from "../../../src/protocol/llp/index.js";
import { ManualClock } from "../../../src/shared/clock.js";
import { isLockBridgeError } from "../../../src/shared/errors.js";
import { isLockNak, LockNakError } from "../../../src/lock/errors.js";
import { SimLock } from "../../../sim/index.js";
import { drive, hubRig, InProcessLink, outcome } from "../../helpers/lock-link.js";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const put = (slot: number, code = "482916") => ({ kind: CredentialKind.DOOR_CODE, slot, validFrom: 0, validUntil: 0, secret: code });

function setup(n = 1, lockOpts: ConstructorParameters<typeof SimLock>[0] = {}) {
  const clock = new ManualClock(T0);
  const locks = Array.from({ length: n }, (_, i) => new SimLock({ clock, address: i + 1, lockId: `4c4200000000000${i + 1}`, ...lockOpts }));
  const link = new InProcessLink(locks, clock);
  const rig = hubRig(link, clock, locks);
  return { clock, locks, link, rig, client: rig.clients[0]!, session: rig.sessions[0]! };
}

const frames = (bufs: Buffer[]): Frame[] => bufs.map((b) => decodeFrame(b));

describe("LockSession: SEQ", () => {
  it("spends SEQ 0 on an IDENT handshake first, then numbers requests 1..15 wrapping 15 -> 1", async () => {
    const { clock, link, client } = setup();
    for (let i = 0; i < 17; i++) await drive(clock, client.status());
    const sent = frames(link.written);
    expect(sent[0]!.cmd).toBe(Cmd.IDENT);
    expect(sent.map((f) => f.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 1, 2]);
  });

  it("uses SEQ 0 again for the first request after the lock was marked offline", async () => {
    const { clock, link, locks, client, session } = setup();
    await drive(clock, client.status());
    locks[0]!.setOffline(true);
    const r = await outcome(clock, client.status());
    expect(r.ok).toBe(false);
    expect(session.online).toBe(false);
    locks[0]!.setOffline(false);
    link.written.length = 0;
    await drive(clock, client.status());
    expect(frames(link.written).map((f) => [f.cmd, f.seq])).toEqual([[Cmd.IDENT, 0], [Cmd.STATUS, 1]]);
  });
});

describe("LockSession: retries, timeouts, online/offline", () => {
  it("retries with identical bytes and the same SEQ; a PUT whose answer was lost runs once on the lock", async () => {
    const { clock, link, locks, client } = setup();
    await drive(clock, client.status());
    let lost = 0;
    link.tap = (req, answer) => (req.cmd === Cmd.PUT_CREDENTIAL && lost++ === 0 ? null : answer);
    link.written.length = 0;
    await drive(clock, client.putCredential(put(3)));
    expect(link.written).toHaveLength(2);
    expect(link.written[1]!.equals(link.written[0]!)).toBe(true);
    expect(locks[0]!.executionCount("PUT_CREDENTIAL")).toBe(1);
    expect(locks[0]!.cachedResends).toBe(1);
  });

  it("gives up after 1 + retries attempts with lock_timeout, and marks the lock offline after N consecutive timeouts", async () => {
    const { clock, locks, client, session } = setup();
    await drive(clock, client.status());
    const events: string[] = [];
    session.on("offline", () => events.push("offline"));
    session.on("online", () => events.push("online"));
    locks[0]!.setOffline(true);
    const r = await outcome(clock, client.status());
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(isLockBridgeError(r.error, "lock_timeout")).toBe(true);
      expect((r.error as { context: { attempts: number } }).context.attempts).toBe(3);
    }
    expect(events).toEqual(["offline"]);
    // Offline: one attempt per request, so a dead lock costs one timeout per request.
    const before = session.stats.attempts;
    expect((await outcome(clock, client.status())).ok).toBe(false);
    expect(session.stats.attempts - before).toBe(1);
    locks[0]!.setOffline(false);
    await drive(clock, client.status());
    expect(events).toEqual(["offline", "online"]);
    expect(session.online).toBe(true);
  });

  it("accepts an answer that arrives late (after its attempt timed out) without executing twice", async () => {
    const { clock, locks, client, session } = setup();
    await drive(clock, client.status());
    locks[0]!.setSlow(150); // timeout is 100 ms: the first attempt times out, its answer still arrives
    await drive(clock, client.putCredential(put(4)), { stepMs: 5 });
    locks[0]!.setSlow(0);
    expect(locks[0]!.executionCount("PUT_CREDENTIAL")).toBe(1);
    expect(session.stats.timeouts).toBeGreaterThanOrEqual(1);
  });

  it("drops a corrupted answer (bad CRC) and converges by retry", async () => {
    const { clock, link, locks, client, rig } = setup();
    await drive(clock, client.status());
    let n = 0;
    link.tap = (req, answer) => {
      if (!answer || req.cmd !== Cmd.PUT_CREDENTIAL || n++ > 0) return answer;
      const bad = Buffer.from(answer);
      bad[6] = bad[6]! ^ 0x10;
      return bad;
    };
    await drive(clock, client.putCredential(put(5)));
    expect(rig.bus.decoder.stats.badCrc).toBeGreaterThanOrEqual(1);
    expect(locks[0]!.executionCount("PUT_CREDENTIAL")).toBe(1);
  });

  it("resets the decoder on timeout, so a stray SOF cannot hold the next answer", async () => {
    const { clock, link, client } = setup();
    await drive(clock, client.status());
    // A stray SOF + a plausible LEN (0x0100) swallows the answer's bytes until reset.
    link.tap = (_req, answer) => {
      link.tap = undefined;
      link.inject(Buffer.from([0xa5, 0x01, 0x00, 0x01]));
      return answer;
    };
    await drive(clock, client.status());
    expect(client.online).toBe(true);
  });

  it("keeps one request in flight per lock", async () => {
    const { clock, link, client, locks } = setup();
    locks[0]!.setSlow(20);
    const all = Promise.all([client.status(), client.putCredential(put(1)), client.putCredential(put(2, "5555")), client.tableDigest(CredentialKind.DOOR_CODE)]);
    await drive(clock, all, { stepMs: 5 });
    expect(link.overlaps).toBe(0);
    expect(locks[0]!.slots(CredentialKind.DOOR_CODE).map((s) => s.slot)).toEqual([1, 2]);
  });

  it("counts and drops frames from an unknown ADDR and a stale SEQ", async () => {
    const { clock, link, client, rig } = setup();
    await drive(clock, client.status());
    link.inject(encodeMessage({ addr: 9, fromLock: true, seq: 1, cmd: Cmd.ACK }, Buffer.alloc(0)));
    link.inject(encodeMessage({ addr: 1, fromLock: true, seq: 13, cmd: Cmd.ACK }, Buffer.alloc(0)));
    await drive(clock, client.status());
    expect(rig.bus.stats.unexpectedFrames).toBe(2);
  });

  it("raises eventNotify for an unasked EVENT_NOTIFY", async () => {
    const { clock, link, client, session } = setup();
    await drive(clock, client.status());
    const heads: number[] = [];
    session.on("eventNotify", (h) => heads.push(h));
    link.inject(encodeMessage({ addr: 1, fromLock: true, seq: 0, cmd: Cmd.EVENT_NOTIFY }, encodeEventNotify(42)));
    await drive(clock, Promise.resolve());
    expect(heads).toEqual([42]);
  });
});

describe("LockSession: NAKs", () => {
  it("surfaces NAK codes as LockNakError with their detail", async () => {
    const { clock, client } = setup();
    await drive(clock, client.putCredential(put(1, "123987")));
    const r = await outcome(clock, client.putCredential(put(2, "123987")));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(LockNakError);
    const e = r.error as LockNakError;
    expect(e.code).toBe("lock_nak");
    expect(e.nak).toBe("DUPLICATE_CREDENTIAL");
    expect(e.conflictingSlot).toBe(1);
    const out = await outcome(clock, client.putCredential(put(999)));
    expect(!out.ok && isLockNak(out.error, "SLOT_OUT_OF_RANGE")).toBe(true);
  });
});

describe("bus scheduler", () => {
  it("serves locks round robin: with one dead lock on the bus the others still progress", async () => {
    const { clock, link, locks, rig } = setup(3);
    locks[1]!.setOffline(true);
    const work = rig.clients.map((c) => (async () => {
      const results: boolean[] = [];
      for (let i = 0; i < 5; i++) results.push((await outcome(clock, c.putCredential(put(i, `${4000 + i}`)))).ok);
      return results;
    })());
    const [a, b, c] = await drive(clock, Promise.all(work), { stepMs: 5 });
    expect(a).toEqual([true, true, true, true, true]);
    expect(c).toEqual([true, true, true, true, true]);
    expect(b!.every((ok) => !ok)).toBe(true);
    expect(locks[0]!.slots(CredentialKind.DOOR_CODE)).toHaveLength(5);
    expect(locks[2]!.slots(CredentialKind.DOOR_CODE)).toHaveLength(5);
    expect(link.overlaps).toBe(0);
    // The dead lock: 3 attempts for its first request (then offline), one per request after.
    expect(rig.sessions[1]!.stats.attempts).toBeLessThanOrEqual(3 + 4 * 2);
  });

  it("interleaves attempts: a live lock's request is not held behind a dead lock's retry series", async () => {
    const { clock, link, locks, rig } = setup(2);
    await drive(clock, Promise.all(rig.clients.map((c) => c.status())));
    locks[0]!.setOffline(true);
    link.written.length = 0;
    const dead = outcome(clock, rig.clients[0]!.status());
    const live = rig.clients[1]!.status();
    await drive(clock, live, { stepMs: 5 });
    // The live lock's STATUS went out right after the dead lock's first attempt, not after its retries.
    const order = frames(link.written).map((f) => f.addr);
    expect(order.slice(0, 2)).toEqual([1, 2]);
    await dead;
  });
});

describe("LockSession: time is the lock's", () => {
  it("surfaces NAK BUSY retry-after", async () => {
    const { clock, client, locks } = setup(1, { fwRestartMs: 5000, fwRestartAnswer: "busy" });
    locks[0]!.restart(5000);
    const r = await outcome(clock, client.status());
    expect(!r.ok && isLockNak(r.error, "BUSY") && (r.error.retryAfterMs ?? 0) > 0).toBe(true);
    expect(NakCode.BUSY).toBe(7);
  });
});
