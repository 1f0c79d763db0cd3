import {
  Cmd, commandCode, decodeAckBody, decodeFrame, decodeNakBody, encodeRequest, openFrame,
  type AckBodies, type Frame, type LlpCommandName, type LlpRequest, type Nak,
} from "../../src/protocol/llp/index.js";

export type PeerReply<N extends LlpCommandName> =
  | { ok: true; frame: Frame; body: AckBodies[N] }
  | { ok: false; frame: Frame; nak: Nak };

/**
 * A minimal hub side of LLP for tests, benches and integrators driving simulated locks
 * without the hub: SEQ 1..15 wrapping (0 first), sealing with its own counter. It only
 * encodes and decodes; the caller moves the bytes.
 */
export class HubPeer {
  private seq = 0;
  private started = false;
  counter: number;
  linkKey: Buffer | null;
  lockId: Buffer | null;

  constructor(
    readonly addr: number,
    opts: { linkKey?: string | Uint8Array | null; lockId?: string; counter?: number } = {},
  ) {
    this.linkKey = opts.linkKey ? Buffer.from(typeof opts.linkKey === "string" ? Buffer.from(opts.linkKey, "hex") : opts.linkKey) : null;
    this.lockId = opts.lockId ? Buffer.from(opts.lockId, "hex") : null;
    this.counter = opts.counter ?? 0;
  }

  /** The next SEQ: 0 for the first request, then 1..15 wrapping. */
  nextSeq(): number {
    if (!this.started) {
      this.started = true;
      this.seq = 0;
      return 0;
    }
    this.seq = this.seq >= 15 ? 1 : this.seq + 1;
    return this.seq;
  }

  /** Encode a request; sealed when the peer has a link key and lockId (IDENT and PAIR too, when `seal` says so). */
  encode(req: LlpRequest, opts: { seq?: number; seal?: boolean } = {}): Buffer {
    const seq = opts.seq ?? this.nextSeq();
    const seal = opts.seal ?? (this.linkKey !== null && req.cmd !== "IDENT" && req.cmd !== "PAIR");
    if (!seal) return encodeRequest(this.addr, seq, req);
    if (!this.linkKey || !this.lockId) throw new Error("sealing needs linkKey and lockId");
    this.counter++;
    return encodeRequest(this.addr, seq, req, { linkKey: this.linkKey, lockId: this.lockId, counter: this.counter });
  }

  /** Decode the lock's reply to `cmd` (unsealing it when sealed). */
  decode<N extends LlpCommandName>(cmd: N, bytes: Uint8Array): PeerReply<N> {
    const frame = decodeFrame(bytes);
    let body: Uint8Array = frame.body;
    if (frame.sec) {
      if (!this.linkKey || !this.lockId) throw new Error("sealed reply but no link key");
      const opened = openFrame(frame, { linkKey: this.linkKey, lockId: this.lockId });
      if (!opened) throw new Error("sealed reply does not verify");
      body = opened.plain;
    }
    if (frame.cmd === Cmd.NAK) return { ok: false, frame, nak: decodeNakBody(body) };
    if (frame.cmd !== Cmd.ACK) throw new Error(`unexpected reply CMD 0x${frame.cmd.toString(16)} to ${cmd} (0x${commandCode(cmd).toString(16)})`);
    return { ok: true, frame, body: decodeAckBody(cmd, body) };
  }
}
