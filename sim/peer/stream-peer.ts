import { Cmd, decodeFrame, encodeFrame, FrameDecoder, type Frame, type LlpCommandName, type LlpRequest } from "../../src/protocol/llp/index.js";
import type { HubPeer, PeerReply } from "./hub-peer.js";

interface Waiter {
  addr: number;
  seq: number;
  resolve: (bytes: Buffer) => void;
  timer: NodeJS.Timeout;
}

/**
 * A hub-like requester over any byte stream (TCP socket, serial port): one request in
 * flight per stream, like a polling RS-485 master. Unasked EVENT_NOTIFY frames are kept
 * in `notifies`. For tests and benches; the real hub is src/lock.
 */
export class StreamPeer {
  private readonly decoder = new FrameDecoder();
  private waiter: Waiter | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  readonly notifies: Frame[] = [];
  private readonly notifyListeners = new Set<(f: Frame) => void>();

  constructor(private readonly write: (bytes: Buffer) => void) {}

  /** Feed bytes received from the stream. */
  push(chunk: Uint8Array): void {
    for (const f of this.decoder.push(chunk)) {
      if (!f.fromLock) continue;
      if (f.cmd === Cmd.EVENT_NOTIFY) {
        this.notifies.push(f);
        for (const l of this.notifyListeners) l(f);
        continue;
      }
      const w = this.waiter;
      if (w && w.addr === f.addr && w.seq === f.seq) {
        clearTimeout(w.timer);
        this.waiter = null;
        // Hand back exact frame bytes so the caller decodes (and unseals) them itself.
        w.resolve(reframe(f));
      }
    }
  }

  onNotify(l: (f: Frame) => void): () => void {
    this.notifyListeners.add(l);
    return () => this.notifyListeners.delete(l);
  }

  get decoderStats() {
    return this.decoder.stats;
  }

  /** Send raw request bytes; resolves with the answer's bytes, or null after `timeoutMs`. */
  exchange(bytes: Buffer, timeoutMs = 1000): Promise<Buffer | null> {
    const run = () =>
      new Promise<Buffer | null>((resolve) => {
        const f = decodeFrame(bytes);
        const timer = setTimeout(() => {
          this.waiter = null;
          resolve(null);
        }, timeoutMs);
        this.waiter = { addr: f.addr, seq: f.seq, resolve, timer };
        this.write(bytes);
      });
    const p = this.chain.then(run, run);
    this.chain = p;
    return p;
  }

  /** Encode with `peer`, send, decode the answer; null on timeout. Retries identical bytes `retries` times. */
  async request<N extends LlpCommandName>(
    peer: HubPeer,
    req: LlpRequest & { cmd: N },
    opts: { timeoutMs?: number; retries?: number } = {},
  ): Promise<PeerReply<N> | null> {
    const bytes = peer.encode(req);
    for (let attempt = 0; attempt <= (opts.retries ?? 0); attempt++) {
      const res = await this.exchange(bytes, opts.timeoutMs);
      if (res) return peer.decode(req.cmd, res);
    }
    return null;
  }
}

/** The decoder hands back fields; re-encoding yields the same bytes (our locks leave CTRL's reserved bits 0). */
function reframe(f: Frame): Buffer {
  return encodeFrame(f);
}
