import { ctrlByte, encodeFrame, type Frame } from "./frame.js";
import { commandCode, encodeRequestBody, type LlpRequest } from "./commands.js";
import { openBody, sealBody } from "./seal.js";

/** What sealing needs besides the counter: the pair's link key and the lock's 8-byte id. */
export interface LinkSecrets {
  linkKey: Uint8Array;
  lockId: Uint8Array;
}

/** Encode a frame, sealing the plain body with `seal.counter` when sealing is asked for. */
export function encodeMessage(
  head: { addr: number; fromLock: boolean; seq: number; cmd: number },
  plainBody: Uint8Array,
  seal?: LinkSecrets & { counter: number },
): Buffer {
  if (!seal) return encodeFrame({ addr: head.addr, fromLock: head.fromLock, seq: head.seq, cmd: head.cmd, sec: false, body: plainBody });
  const frame = { addr: head.addr, fromLock: head.fromLock, seq: head.seq, cmd: head.cmd, sec: true, body: plainBody };
  frame.body = sealBody({ linkKey: seal.linkKey, lockId: seal.lockId, counter: seal.counter, fromLock: head.fromLock, addr: head.addr, ctrl: ctrlByte(frame), cmd: head.cmd }, plainBody);
  return encodeFrame(frame);
}

/** Hub side: the bytes of one request frame. */
export function encodeRequest(
  addr: number,
  seq: number,
  req: LlpRequest,
  seal?: LinkSecrets & { counter: number },
): Buffer {
  return encodeMessage({ addr, fromLock: false, seq, cmd: commandCode(req.cmd) }, encodeRequestBody(req), seal);
}

/** Unseal a received frame's body; null when the tag does not verify (count it, never trust it). */
export function openFrame(frame: Frame, secrets: LinkSecrets): { counter: number; plain: Buffer } | null {
  return openBody({ linkKey: secrets.linkKey, lockId: secrets.lockId, fromLock: frame.fromLock, addr: frame.addr, ctrl: ctrlByte(frame), cmd: frame.cmd }, frame.body);
}
