import { describe, expect, it } from "vitest";
import { Cmd, CredentialKind, decodeFrame, encodeFrame, NakCode } from "../../../src/protocol/llp/index.js";
import { ManualClock } from "../../../src/shared/clock.js";
import { isLockBridgeError } from "../../../src/shared/errors.js";
import { MemoryLinkStateStore } from "../../../src/lock/link-state.js";
import { SimLock } from "../../../sim/index.js";
import { drive, hubRig, InProcessLink, outcome, simRoomProfile } from "../../helpers/lock-link.js";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const LOCK_ID = "4c42000000000001";
const put = (slot: number, code: string) => ({ kind: CredentialKind.DOOR_CODE, slot, validFrom: 0, validUntil: 0, secret: code });

/** A lock-to-hub NAK in the clear, as anything on the link can send it. */
const nakFrame = (addr: number, seq: number, code: number) => encodeFrame({ addr, fromLock: true, sec: false, seq, cmd: Cmd.NAK, body: Uint8Array.of(code) });

function setup(opts: { store?: MemoryLinkStateStore; sealingRequired?: boolean; counterBlockSize?: number } = {}) {
  const clock = new ManualClock(T0);
  const lock = new SimLock({ clock, lockId: LOCK_ID });
  const link = new InProcessLink([lock], clock);
  const rig = hubRig(link, clock, [lock], {
    store: opts.store,
    profile: simRoomProfile({ sealingRequired: opts.sealingRequired ?? true }),
    counterBlockSize: opts.counterBlockSize ?? 8,
  });
  return { clock, lock, link, rig, client: rig.clients[0]!, store: rig.store };
}

describe("pairing and sealing", () => {
  it("pairs with a fresh random key stored as pending BEFORE PAIR goes out, then seals every command, IDENT too (LLP v1.1 §9.1)", async () => {
    const { clock, lock, link, client, store } = setup();
    let pendingWhenPairSent: Buffer | null = null;
    link.tap = (req, answer) => {
      if (req.cmd === Cmd.PAIR) pendingWhenPairSent = store.linkKeys(LOCK_ID).pending;
      return answer;
    };
    await drive(clock, client.pair());
    const keys = store.linkKeys(LOCK_ID);
    expect(pendingWhenPairSent).not.toBeNull();
    expect(keys.active?.equals(pendingWhenPairSent!)).toBe(true);
    expect(keys.pending).toBeNull();
    expect(lock.linkKey?.equals(keys.active!)).toBe(true);

    link.written.length = 0;
    await drive(clock, client.ident());
    await drive(clock, client.putCredential(put(1, "482916")));
    await drive(clock, client.status());
    await drive(clock, client.identHint());
    const sent = link.written.map((b) => decodeFrame(b));
    // Only an IDENT asked as a hint goes unsealed once paired.
    expect(sent.map((f) => [f.cmd, f.sec])).toEqual([[Cmd.IDENT, true], [Cmd.PUT_CREDENTIAL, true], [Cmd.STATUS, true], [Cmd.IDENT, false]]);
    expect(lock.slots(CredentialKind.DOOR_CODE)).toHaveLength(1);
  });

  it("refuses to drive a lock that requires sealing without a key (lock_not_paired), without sending", async () => {
    const { clock, link, client } = setup();
    await drive(clock, client.ident());
    const before = link.written.length;
    const r = await outcome(clock, client.status());
    expect(!r.ok && isLockBridgeError(r.error, "lock_not_paired")).toBe(true);
    expect(link.written.length).toBe(before);
  });

  it("hub counters strictly increase, come from blocks reserved in the store, and are never reused after a restart", async () => {
    const { clock, link, client, store, rig } = setup({ counterBlockSize: 8 });
    await drive(clock, client.pair());
    for (let i = 0; i < 10; i++) await drive(clock, client.status());
    const counters = () => link.written.map((b) => decodeFrame(b)).filter((f) => f.sec).map((f) => Buffer.from(f.body).readUInt32LE(0));
    const first = counters();
    expect(first).toHaveLength(10);
    for (let i = 1; i < first.length; i++) expect(first[i]!).toBeGreaterThan(first[i - 1]!);
    expect(store.reservations).toBe(2); // 10 sealed frames, blocks of 8: two durable writes, not ten
    // The hub restarts (crash): a new session on the same store continues above every reserved counter.
    link.written.length = 0;
    const again = rig.restart(0);
    await drive(clock, again.status());
    const next = counters();
    expect(next[0]!).toBeGreaterThan(16);
  });

  it("rejects a replayed sealed answer (lock counter not greater than the last accepted) and persists the last accepted counter", async () => {
    const { clock, link, client, store, lock } = setup();
    await drive(clock, client.pair());
    await drive(clock, client.status());
    const accepted = store.lastLockCounter(LOCK_ID);
    expect(accepted).toBe(lock.snapshot().lockCounter);
    // An attacker (or a confused link) answers the next STATUS with an old sealed answer of the same SEQ.
    let old: Buffer | null = null;
    link.tap = (req, answer) => {
      if (req.cmd !== Cmd.STATUS) return answer;
      if (!old) {
        old = answer;
        return answer;
      }
      return null;
    };
    await drive(clock, client.status());
    link.tap = undefined;
    // Cycle SEQ back to the old answer's SEQ, then replay it instead of the real one.
    const seqOf = (b: Buffer) => decodeFrame(b).seq;
    const oldSeq = seqOf(old!);
    let replayed = 0;
    link.tap = (req, answer) => {
      if (req.seq !== oldSeq || req.cmd !== Cmd.STATUS || replayed > 0) return answer;
      replayed++;
      return old;
    };
    for (let i = 0; i < 15; i++) await drive(clock, client.status());
    expect(replayed).toBe(1);
    expect(client.session.stats.replays).toBe(1);
    expect(store.lastLockCounter(LOCK_ID)).toBe(lock.snapshot().lockCounter);
  });

  it("the cached answer to a retry is accepted although a sealed EVENT_NOTIFY with a higher counter came in between; no replay alert (chaos run: flaky link on an EVENT_NOTIFY bus)", async () => {
    // LLP §3: a receiver rejects a counter not above the last accepted, "except that a retry
    // (identical bytes) gets the cached response". The lock acted on the PUT, its answer was
    // lost, it logged an event and sent a sealed EVENT_NOTIFY (counter c+1); the hub's retry
    // then gets the cached answer (counter c). It was dropped as a replay and raised
    // lock.security_alert (replay), and the PUT timed out.
    const { clock, link, client, lock } = setup();
    await drive(clock, client.pair());
    await drive(clock, client.status());
    let lost = 0;
    link.tap = (req, answer) => {
      if (req.cmd !== Cmd.PUT_CREDENTIAL || lost++ > 0) return answer;
      queueMicrotask(() => link.inject(lock.eventNotifyFrame()));
      return null;
    };
    const suspicious: string[] = [];
    client.session.on("suspicious", (k) => suspicious.push(k));
    const r = await outcome(clock, client.putCredential(put(3, "482916")));
    expect(r.ok).toBe(true);
    expect(lost).toBe(2);
    expect(lock.cachedResends).toBe(1);
    expect(suspicious).toEqual([]);
    expect(client.session.stats.replays).toBe(0);
  });

  it("a slow answer overtaken by the lock's sealed EVENT_NOTIFY (sealed after it, delivered first) is accepted; no replay alert (chaos run: the lobby on a slow line)", async () => {
    // The lock sealed its answer (counter c), then logged an event and sent EVENT_NOTIFY (c+1)
    // at once, while the answer waited out the slow line. The answer is still newer than
    // anything accepted before the request went out, which is all a replay check can ask.
    const { clock, link, client, lock } = setup();
    await drive(clock, client.pair());
    await drive(clock, client.status());
    let overtaken = 0;
    link.tap = (req, answer) => {
      if (req.cmd !== Cmd.STATUS || overtaken++ > 0) return answer;
      link.inject(lock.eventNotifyFrame());
      return answer;
    };
    const suspicious: string[] = [];
    client.session.on("suspicious", (k) => suspicious.push(k));
    const r = await outcome(clock, client.status());
    expect(r.ok).toBe(true);
    expect(overtaken).toBe(1);
    expect(suspicious).toEqual([]);
    expect(client.session.stats.replays).toBe(0);
  });

  it("a late copy of an answer to a retried request, come when its SEQ is in use again, is dropped without a replay alert (chaos run at 2a5a6b3: the lobby on a slow line)", async () => {
    // The lock answers every attempt it hears, a retry with its cached answer (LLP §2). On a
    // slow line the copy of the first attempt's answer can arrive after the hub took the
    // retry's, moved on and, after a SEQ 0 resync or a wrap, reused that SEQ: the lock's own
    // frame, not a replay. A replayed answer the hub took at once is still an alert (above).
    const { clock, link, client } = setup();
    await drive(clock, client.pair());
    await drive(clock, client.status());
    let copy: Buffer | null = null;
    link.tap = (req, answer) => {
      if (req.cmd !== Cmd.STATUS || copy) return answer;
      copy = answer; // the first attempt's answer, held up on the line
      return null;
    };
    const suspicious: string[] = [];
    client.session.on("suspicious", (k) => suspicious.push(k));
    expect((await outcome(clock, client.status())).ok).toBe(true); // taken from the retry's cached answer
    expect(client.session.stats.retries).toBeGreaterThan(0);
    const copySeq = decodeFrame(copy!).seq;
    let delivered = 0;
    link.tap = (req, answer) => {
      if (req.seq !== copySeq || req.cmd !== Cmd.STATUS || delivered > 0) return answer;
      delivered++;
      return copy;
    };
    for (let i = 0; i < 15; i++) expect((await outcome(clock, client.status())).ok).toBe(true);
    expect(delivered).toBe(1);
    expect(client.session.stats.retryCopies).toBe(1);
    expect(client.session.stats.replays).toBe(0);
    expect(suspicious).toEqual([]);
  });

  it("a crash after the lock took PAIR but before the hub confirmed it: the pending key is found and confirmed", async () => {
    const store = new MemoryLinkStateStore();
    const { clock, link, client, rig, lock } = setup({ store });
    await drive(clock, client.ident());
    // The PAIR reaches the lock, every answer is lost, the hub gives up (as if it crashed).
    link.tap = (req, answer) => (req.cmd === Cmd.PAIR ? null : answer);
    const r = await outcome(clock, client.pair());
    expect(!r.ok && isLockBridgeError(r.error, "lock_timeout")).toBe(true);
    expect(lock.linkKey).not.toBeNull();
    expect(store.linkKeys(LOCK_ID).active).toBeNull();
    expect(store.linkKeys(LOCK_ID).pending?.equals(lock.linkKey!)).toBe(true);
    link.tap = undefined;
    // Restart: the new session seals with the pending key, the lock answers, the key is confirmed.
    const again = rig.restart(0);
    await drive(clock, again.putCredential(put(2, "7351")));
    expect(store.linkKeys(LOCK_ID).active?.equals(lock.linkKey!)).toBe(true);
    expect(store.linkKeys(LOCK_ID).pending).toBeNull();
    expect(lock.slots(CredentialKind.DOOR_CODE)).toHaveLength(1);
  });

  it("re-pairing in pairing mode switches to a new key (also with a store that restarts hub counters at a new key)", async () => {
    const { clock, client, lock, store } = setup({ store: new MemoryLinkStateStore({ restartHubCountersOnPair: true }), counterBlockSize: 4 });
    await drive(clock, client.pair());
    for (let i = 0; i < 6; i++) await drive(clock, client.status());
    const first = store.linkKeys(LOCK_ID).active!;
    const refused = await outcome(clock, client.pair());
    expect(!refused.ok && (refused.error as { nak?: string }).nak).toBe("INVALID_STATE");
    expect(store.linkKeys(LOCK_ID).pending).toBeNull();
    lock.pressPairingButton();
    await drive(clock, client.pair());
    const second = store.linkKeys(LOCK_ID).active!;
    expect(second.equals(first)).toBe(false);
    // Across several counter blocks with the new key: every sealed request is accepted.
    for (let i = 0; i < 10; i++) await drive(clock, client.status());
    expect(client.online).toBe(true);
  });

  it("an unsealed NOT_AUTHENTICATED to a sealed request is a hint, not proof: lock_not_paired only after every attempt (LLP §9.1)", async () => {
    const { clock, client, lock, store } = setup({ sealingRequired: false });
    await drive(clock, client.pair());
    // The lock was factory-reset and paired by someone else: our key no longer verifies.
    lock.factoryReset();
    store.setActiveLinkKey(LOCK_ID, Buffer.alloc(16, 7));
    const fresh = await outcome(clock, client.session.reloadLinkState().then(() => client.status()));
    expect(!fresh.ok && isLockBridgeError(fresh.error, "lock_not_paired")).toBe(true);
    expect(!fresh.ok && (fresh.error as { context?: { unsealedHint?: boolean } }).context?.unsealedHint).toBe(true);
    expect(client.session.stats.unsealedRejected).toBeGreaterThan(0);
  });

  it("an impostor's forged unsealed NAK NOT_AUTHENTICATED does not beat the genuine lock's sealed answer", async () => {
    const { clock, link, client, lock, store } = setup();
    await drive(clock, client.pair());
    const key = store.linkKeys(LOCK_ID).active!;
    // Something else on the bus answers every sealed request first with a forged unsealed
    // NAK NOT_AUTHENTICATED (same ADDR and SEQ); the genuine lock answers right after it.
    let forged = 0;
    link.tap = (req, answer) => {
      if (!answer || req.cmd === Cmd.IDENT) return answer;
      forged++;
      return Buffer.concat([nakFrame(1, req.seq, NakCode.NOT_AUTHENTICATED), answer]);
    };
    await drive(clock, client.putCredential(put(2, "7351")));
    await drive(clock, client.status());
    expect(forged).toBeGreaterThanOrEqual(2);
    expect(client.session.stats.unsealedRejected).toBeGreaterThanOrEqual(2);
    expect(lock.slots(CredentialKind.DOOR_CODE)).toHaveLength(1);
    // Nothing about the pairing changed on the forged frames.
    expect(store.linkKeys(LOCK_ID).active?.equals(key)).toBe(true);
    expect(lock.linkKey?.equals(key)).toBe(true);
  });
});
