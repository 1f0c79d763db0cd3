/**
 * Who answers IDENT on a serial or TCP bus, address by address. IDENT is unsealed and
 * changes nothing on a lock, and addresses of locks this hub already has are skipped, so a
 * scan never talks to a commissioned lock (its session and SEQ stay the hub's).
 * A lock's answer is a hint (unsealed): it names a lock to commission, nothing more.
 */
import { decodeAckBody, type IdentInfo } from "../protocol/llp/commands.js";
import { Capability, Cmd } from "../protocol/llp/constants.js";

/** IDENT capability bit 7: the lock pairs with PAIR_KX (lock-link-protocol.md §8). */
import { FrameDecoder } from "../protocol/llp/decoder.js";
import { encodeFrame } from "../protocol/llp/frame.js";
import type { Logger } from "../shared/logger.js";
import type { Transport } from "../transport/types.js";

export interface IdentAnswer {
  address: number;
  lockId: string;
  model: string;
  firmware: string;
  /** PAIR_KX (capability bit 7): commissioning needs the setup key from the lock's label. */
  needsSetupKey: boolean;
  slots: { doorCode: number; keycard: number; smartKey: number };
}

export interface IdentScanOptions {
  addresses: readonly number[];
  /** Addresses of locks the hub already has on this bus: never probed. */
  skip: ReadonlySet<number>;
  timeoutMs: number;
  log: Logger;
  onProgress?: (address: number) => void;
}

/** Probes each address once (one retry on silence); resolves with who answered. */
export async function identScan(transport: Transport, opts: IdentScanOptions): Promise<IdentAnswer[]> {
  const decoder = new FrameDecoder();
  const found: IdentAnswer[] = [];
  let waiting: { addr: number; resolve: (info: IdentInfo | null) => void } | undefined;
  const onData = (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      if (!frame.fromLock || !waiting || frame.addr !== waiting.addr || frame.cmd !== Cmd.ACK) continue;
      try {
        waiting.resolve(decodeAckBody("IDENT", frame.body));
      } catch {
        waiting.resolve(null); // a garbled answer: someone is there, but not an LLP lock we understand
      }
    }
  };
  transport.on("data", onData);
  try {
    for (const addr of opts.addresses) {
      if (opts.skip.has(addr)) continue;
      opts.onProgress?.(addr);
      let info: IdentInfo | null = null;
      for (let attempt = 0; attempt < 2 && info === null; attempt++) {
        info = await new Promise<IdentInfo | null>((resolve) => {
          const timer = setTimeout(() => resolve(null), opts.timeoutMs);
          waiting = {
            addr,
            resolve: (i) => {
              clearTimeout(timer);
              resolve(i);
            },
          };
          // SEQ 0: a fresh master; the lock forgets any cached answer (lock-link-protocol.md §2).
          transport.write(encodeFrame({ addr, fromLock: false, sec: false, seq: 0, cmd: Cmd.IDENT, body: new Uint8Array(0) })).catch((e: unknown) => {
            opts.log.debug({ addr, err: String(e) }, "IDENT not written");
            clearTimeout(timer);
            resolve(null);
          });
        });
        waiting = undefined;
      }
      if (info) {
        found.push({
          address: addr,
          lockId: info.lockId,
          model: info.model,
          firmware: info.firmware,
          needsSetupKey: (info.capabilities & Capability.PAIR_KX) !== 0,
          slots: { doorCode: info.codeSlots, keycard: info.cardSlots, smartKey: info.mobileKeySlots },
        });
      }
    }
  } finally {
    transport.off("data", onData);
  }
  return found;
}

/** "1-32", "5", "1-4,9" -> [1..32]; addresses 1..250 only. */
export function parseAddressRange(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^\s*(\d{1,3})\s*(?:-\s*(\d{1,3}))?\s*$/.exec(part);
    if (!m) throw new Error(`expected addresses like 1-32 or 1,5,9, got "${text}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a < 1 || b > 250 || a > b) throw new Error(`addresses run from 1 to 250, got "${part.trim()}"`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}
