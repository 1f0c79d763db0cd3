// A scenario harness for one simulated lock: a HubPeer talking to a SimLock in-process
// on a manual clock, so tests read like "the hub sends X, the lock answers Y".
import type { AckBodies, LlpCommandName, LlpRequest } from "../../src/protocol/llp/index.js";
import { ManualClock } from "../../src/shared/clock.js";
import { HubPeer, SimLock, type PeerReply, type SimLockOptions } from "../../sim/index.js";

export const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
export const KEY = "000102030405060708090a0b0c0d0e0f";

export interface LockHarness {
  lock: SimLock;
  peer: HubPeer;
  clock: ManualClock;
  /** Send a request, expect an answer, decode it. */
  send<N extends LlpCommandName>(req: LlpRequest & { cmd: N }, opts?: { seq?: number; seal?: boolean }): PeerReply<N>;
  /** Send and require an ACK; returns its body. */
  ok<N extends LlpCommandName>(req: LlpRequest & { cmd: N }): AckBodies[N];
  /** Send and return the NAK name (or "ACK"). */
  nakName(req: LlpRequest, opts?: { seq?: number; seal?: boolean }): string;
}

export function lockHarness(opts: SimLockOptions & { paired?: boolean } = {}): LockHarness {
  const clock = (opts.clock as ManualClock | undefined) ?? new ManualClock(T0);
  const lockId = opts.lockId ?? "4c42000000000001";
  const lock = new SimLock({ ...opts, clock, lockId, ...(opts.paired ? { linkKey: KEY } : {}) });
  const peer = new HubPeer(opts.address ?? 1, { lockId, ...(opts.paired ? { linkKey: KEY } : {}) });
  const send = <N extends LlpCommandName>(req: LlpRequest & { cmd: N }, o: { seq?: number; seal?: boolean } = {}): PeerReply<N> => {
    const res = lock.handleRequest(peer.encode(req, o));
    if (!res) throw new Error(`no answer to ${req.cmd}`);
    return peer.decode(req.cmd, res);
  };
  return {
    lock,
    peer,
    clock,
    send,
    ok(req) {
      const r = send<typeof req.cmd>(req);
      if (!r.ok) throw new Error(`${req.cmd} got NAK ${r.nak.name}`);
      return r.body;
    },
    nakName(req, o) {
      const r = send(req, o);
      return r.ok ? "ACK" : (r.nak.name ?? `0x${r.nak.code.toString(16)}`);
    },
  };
}

export const code = (slot: number, secret: string, extra: Partial<{ validFrom: number; validUntil: number; flags: number }> = {}) =>
  ({ cmd: "PUT_CREDENTIAL" as const, kind: 1, slot, validFrom: 0, validUntil: 0, flags: 0, secret: Buffer.from(secret), ...extra });
export const card = (slot: number, uidHex: string, extra: Partial<{ validFrom: number; validUntil: number; flags: number }> = {}) =>
  ({ cmd: "PUT_CREDENTIAL" as const, kind: 2, slot, validFrom: 0, validUntil: 0, flags: 0, secret: Buffer.from(uidHex, "hex"), ...extra });
