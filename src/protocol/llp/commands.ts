import { LockBridgeError } from "../../shared/errors.js";
import { ByteReader, ByteWriter } from "./bytes.js";
import { Cmd, EVENT_SIZE, LINK_KEY_LEN, LOCK_ID_LEN, nakName, NakCode, type NakName } from "./constants.js";
import { encodePairKxAck, PAIR_KX_CONFIRM_LEN, X25519_KEY_LEN, type PairKxAck } from "./pair-kx.js";

/**
 * Typed bodies of every LLP v1 command and response (lock-link-protocol.md §3, §5).
 * Both directions are here: the hub encodes requests and decodes responses, the
 * simulator does the opposite, so both speak the one definition of the wire.
 */

export interface CredentialEntry {
  kind: number;
  slot: number;
  validFrom: number;
  validUntil: number;
  flags: number;
}

export type LlpRequest =
  | { cmd: "IDENT" }
  | { cmd: "STATUS" }
  | { cmd: "SET_TIME"; time: number }
  | ({ cmd: "PUT_CREDENTIAL"; secret: Uint8Array } & CredentialEntry)
  | { cmd: "DELETE_CREDENTIAL"; kind: number; slot: number }
  | { cmd: "READ_SLOTS"; kind: number; firstSlot: number; count: number }
  | { cmd: "TABLE_DIGEST"; kind: number }
  | { cmd: "UNLOCK"; seconds: number }
  | { cmd: "READ_EVENTS"; fromSeq: number; max: number }
  | { cmd: "ACK_EVENTS"; uptoSeq: number }
  | { cmd: "FW_BEGIN"; size: number; sha256: Uint8Array; version: string }
  | { cmd: "FW_CHUNK"; offset: number; data: Uint8Array }
  | { cmd: "FW_COMMIT" }
  | { cmd: "FW_ABORT" }
  | { cmd: "PAIR"; linkKey: Uint8Array }
  /** LLP v1.1 §8: the hub's fresh X25519 public key. */
  | { cmd: "PAIR_KX"; hubPub: Uint8Array };

export type LlpCommandName = LlpRequest["cmd"];

export interface IdentInfo {
  protocolVersion: number;
  /** 16 lower-case hex digits. */
  lockId: string;
  model: string;
  firmware: string;
  capabilities: number;
  codeSlots: number;
  cardSlots: number;
  mobileKeySlots: number;
  codeMinLen: number;
  codeMaxLen: number;
}

export interface StatusInfo {
  battery: number;
  flags: number;
  lockTime: number;
  eventHead: number;
}

export interface SlotInfo extends Omit<CredentialEntry, "kind"> {
  secretDigest: Uint8Array;
}

export interface TableDigestInfo {
  used: number;
  digest: Uint8Array;
}

export interface LockEvent {
  seq: number;
  time: number;
  type: number;
  kind: number;
  slot: number;
  reason: number;
}

/** ACK bodies by command; commands whose ACK is empty map to `null`. */
export interface AckBodies {
  IDENT: IdentInfo;
  STATUS: StatusInfo;
  SET_TIME: null;
  PUT_CREDENTIAL: null;
  DELETE_CREDENTIAL: null;
  READ_SLOTS: SlotInfo[];
  TABLE_DIGEST: TableDigestInfo;
  UNLOCK: null;
  READ_EVENTS: LockEvent[];
  ACK_EVENTS: null;
  FW_BEGIN: { maxChunk: number };
  FW_CHUNK: null;
  FW_COMMIT: null;
  FW_ABORT: null;
  PAIR: null;
  PAIR_KX: PairKxAck;
}

export interface Nak {
  code: number;
  name: NakName | undefined;
  /** DUPLICATE_CREDENTIAL: conflicting slot. */
  conflictingSlot?: number;
  /** BUSY: retry-after ms. */
  retryAfterMs?: number;
  /** INVALID_STATE on FW_CHUNK: expected offset. */
  expectedOffset?: number;
}

const CMD_BY_NAME: Record<LlpCommandName, number> = {
  IDENT: Cmd.IDENT,
  STATUS: Cmd.STATUS,
  SET_TIME: Cmd.SET_TIME,
  PUT_CREDENTIAL: Cmd.PUT_CREDENTIAL,
  DELETE_CREDENTIAL: Cmd.DELETE_CREDENTIAL,
  READ_SLOTS: Cmd.READ_SLOTS,
  TABLE_DIGEST: Cmd.TABLE_DIGEST,
  UNLOCK: Cmd.UNLOCK,
  READ_EVENTS: Cmd.READ_EVENTS,
  ACK_EVENTS: Cmd.ACK_EVENTS,
  FW_BEGIN: Cmd.FW_BEGIN,
  FW_CHUNK: Cmd.FW_CHUNK,
  FW_COMMIT: Cmd.FW_COMMIT,
  FW_ABORT: Cmd.FW_ABORT,
  PAIR: Cmd.PAIR,
  PAIR_KX: Cmd.PAIR_KX,
};
const NAME_BY_CMD = new Map<number, LlpCommandName>(
  Object.entries(CMD_BY_NAME).map(([k, v]) => [v, k as LlpCommandName]),
);

export function commandCode(name: LlpCommandName): number {
  return CMD_BY_NAME[name];
}
export function commandName(code: number): LlpCommandName | undefined {
  return NAME_BY_CMD.get(code);
}

function putEntry(w: ByteWriter, e: Omit<CredentialEntry, "kind">): void {
  w.u16(e.slot).u32(e.validFrom).u32(e.validUntil).u8(e.flags);
}

export function encodeRequestBody(req: LlpRequest): Buffer {
  const w = new ByteWriter();
  switch (req.cmd) {
    case "IDENT":
    case "STATUS":
    case "FW_COMMIT":
    case "FW_ABORT":
      break;
    case "SET_TIME":
      w.u32(req.time);
      break;
    case "PUT_CREDENTIAL":
      w.u8(req.kind);
      putEntry(w, req);
      w.lstring(req.secret);
      break;
    case "DELETE_CREDENTIAL":
      w.u8(req.kind).u16(req.slot);
      break;
    case "READ_SLOTS":
      w.u8(req.kind).u16(req.firstSlot).u8(req.count);
      break;
    case "TABLE_DIGEST":
      w.u8(req.kind);
      break;
    case "UNLOCK":
      w.u8(req.seconds);
      break;
    case "READ_EVENTS":
      w.u32(req.fromSeq).u8(req.max);
      break;
    case "ACK_EVENTS":
      w.u32(req.uptoSeq);
      break;
    case "FW_BEGIN":
      if (req.sha256.length !== 32) throw new LockBridgeError("frame_invalid", "sha256 must be 32 bytes");
      w.u32(req.size).bytes(req.sha256).lstring(req.version);
      break;
    case "FW_CHUNK":
      w.u32(req.offset).bytes(req.data);
      break;
    case "PAIR":
      if (req.linkKey.length !== LINK_KEY_LEN) throw new LockBridgeError("frame_invalid", "link key must be 16 bytes");
      w.bytes(req.linkKey);
      break;
    case "PAIR_KX":
      if (req.hubPub.length !== X25519_KEY_LEN) throw new LockBridgeError("frame_invalid", `hubPub must be ${X25519_KEY_LEN} bytes`);
      w.bytes(req.hubPub);
      break;
  }
  return w.build();
}

/** Lock side: parse a request body. Throws frame_invalid (answer MALFORMED). */
export function decodeRequestBody(cmd: number, body: Uint8Array): LlpRequest {
  const name = commandName(cmd);
  if (!name) throw new LockBridgeError("frame_invalid", `unknown command 0x${cmd.toString(16)}`, undefined, { unknownCommand: true });
  const r = new ByteReader(body);
  let req: LlpRequest;
  switch (name) {
    case "IDENT":
    case "STATUS":
    case "FW_COMMIT":
    case "FW_ABORT":
      req = { cmd: name };
      break;
    case "SET_TIME":
      req = { cmd: name, time: r.u32("time") };
      break;
    case "PUT_CREDENTIAL":
      req = {
        cmd: name,
        kind: r.u8("kind"),
        slot: r.u16("slot"),
        validFrom: r.u32("validFrom"),
        validUntil: r.u32("validUntil"),
        flags: r.u8("flags"),
        secret: r.lbytes("secret"),
      };
      break;
    case "DELETE_CREDENTIAL":
      req = { cmd: name, kind: r.u8("kind"), slot: r.u16("slot") };
      break;
    case "READ_SLOTS":
      req = { cmd: name, kind: r.u8("kind"), firstSlot: r.u16("firstSlot"), count: r.u8("count") };
      break;
    case "TABLE_DIGEST":
      req = { cmd: name, kind: r.u8("kind") };
      break;
    case "UNLOCK":
      req = { cmd: name, seconds: r.u8("seconds") };
      break;
    case "READ_EVENTS":
      req = { cmd: name, fromSeq: r.u32("fromSeq"), max: r.u8("max") };
      break;
    case "ACK_EVENTS":
      req = { cmd: name, uptoSeq: r.u32("uptoSeq") };
      break;
    case "FW_BEGIN":
      req = { cmd: name, size: r.u32("size"), sha256: r.bytes(32, "sha256"), version: r.lstring("version") };
      break;
    case "FW_CHUNK":
      req = { cmd: name, offset: r.u32("offset"), data: r.rest() };
      break;
    case "PAIR":
      req = { cmd: name, linkKey: r.bytes(LINK_KEY_LEN, "linkKey") };
      break;
    case "PAIR_KX":
      req = { cmd: name, hubPub: r.bytes(X25519_KEY_LEN, "hubPub") };
      break;
  }
  r.end(name);
  return req;
}

export function encodeEvent(w: ByteWriter, e: LockEvent): void {
  w.u32(e.seq).u32(e.time).u8(e.type).u8(e.kind).u16(e.slot).u8(e.reason);
}

function readEvent(r: ByteReader): LockEvent {
  return { seq: r.u32(), time: r.u32(), type: r.u8(), kind: r.u8(), slot: r.u16(), reason: r.u8() };
}

/** Lock side: the ACK body for a command. */
export function encodeAckBody<N extends LlpCommandName>(name: N, ack: AckBodies[N]): Buffer {
  const w = new ByteWriter();
  switch (name) {
    case "IDENT": {
      const a = ack as IdentInfo;
      const id = Buffer.from(a.lockId, "hex");
      if (id.length !== LOCK_ID_LEN) throw new LockBridgeError("frame_invalid", "lockId must be 8 bytes");
      w.u8(a.protocolVersion).bytes(id).lstring(a.model).lstring(a.firmware).u16(a.capabilities);
      w.u16(a.codeSlots).u16(a.cardSlots).u16(a.mobileKeySlots).u8(a.codeMinLen).u8(a.codeMaxLen);
      break;
    }
    case "STATUS": {
      const a = ack as StatusInfo;
      w.u8(a.battery).u8(a.flags).u32(a.lockTime).u32(a.eventHead);
      break;
    }
    case "READ_SLOTS": {
      const a = ack as SlotInfo[];
      w.u8(a.length);
      for (const s of a) {
        putEntry(w, s);
        w.bytes(s.secretDigest);
      }
      break;
    }
    case "TABLE_DIGEST": {
      const a = ack as TableDigestInfo;
      w.u16(a.used).bytes(a.digest);
      break;
    }
    case "READ_EVENTS": {
      const a = ack as LockEvent[];
      w.u8(a.length);
      for (const e of a) encodeEvent(w, e);
      break;
    }
    case "FW_BEGIN":
      w.u16((ack as { maxChunk: number }).maxChunk);
      break;
    case "PAIR_KX":
      w.bytes(encodePairKxAck(ack as PairKxAck));
      break;
    default:
      break;
  }
  return w.build();
}

/** Hub side: parse the ACK body of the command it sent. Throws frame_invalid on a malformed body. */
export function decodeAckBody<N extends LlpCommandName>(name: N, body: Uint8Array): AckBodies[N] {
  const r = new ByteReader(body);
  let out: unknown = null;
  switch (name) {
    case "IDENT":
      out = {
        protocolVersion: r.u8("protocolVersion"),
        lockId: r.bytes(LOCK_ID_LEN, "lockId").toString("hex"),
        model: r.lstring("model"),
        firmware: r.lstring("firmware"),
        capabilities: r.u16("capabilities"),
        codeSlots: r.u16("codeSlots"),
        cardSlots: r.u16("cardSlots"),
        mobileKeySlots: r.u16("mobileKeySlots"),
        codeMinLen: r.u8("codeMinLen"),
        codeMaxLen: r.u8("codeMaxLen"),
      } satisfies IdentInfo;
      break;
    case "STATUS":
      out = { battery: r.u8(), flags: r.u8(), lockTime: r.u32(), eventHead: r.u32() } satisfies StatusInfo;
      break;
    case "READ_SLOTS": {
      const n = r.u8("n");
      const slots: SlotInfo[] = [];
      for (let i = 0; i < n; i++) {
        slots.push({ slot: r.u16(), validFrom: r.u32(), validUntil: r.u32(), flags: r.u8(), secretDigest: r.bytes(4, "secretDigest") });
      }
      out = slots;
      break;
    }
    case "TABLE_DIGEST":
      out = { used: r.u16("used"), digest: r.bytes(8, "digest") } satisfies TableDigestInfo;
      break;
    case "READ_EVENTS": {
      const n = r.u8("n");
      if (r.remaining !== n * EVENT_SIZE) throw new LockBridgeError("frame_invalid", `READ_EVENTS: ${n} events need ${n * EVENT_SIZE} bytes, got ${r.remaining}`);
      const events: LockEvent[] = [];
      for (let i = 0; i < n; i++) events.push(readEvent(r));
      out = events;
      break;
    }
    case "FW_BEGIN":
      out = { maxChunk: r.u16("maxChunk") };
      break;
    case "PAIR_KX":
      out = { lockPub: r.bytes(X25519_KEY_LEN, "lockPub"), confirm: r.bytes(PAIR_KX_CONFIRM_LEN, "confirm") } satisfies PairKxAck;
      break;
    default:
      break;
  }
  r.end(`${name} ACK`);
  return out as AckBodies[N];
}

export function encodeNakBody(nak: { code: number; conflictingSlot?: number; retryAfterMs?: number; expectedOffset?: number }): Buffer {
  const w = new ByteWriter().u8(nak.code);
  if (nak.code === NakCode.DUPLICATE_CREDENTIAL) w.u16(nak.conflictingSlot ?? 0);
  else if (nak.code === NakCode.BUSY) w.u16(nak.retryAfterMs ?? 0);
  else if (nak.code === NakCode.INVALID_STATE && nak.expectedOffset !== undefined) w.u32(nak.expectedOffset);
  return w.build();
}

export function decodeNakBody(body: Uint8Array): Nak {
  const r = new ByteReader(body);
  const code = r.u8("code");
  const nak: Nak = { code, name: nakName(code) };
  if (code === NakCode.DUPLICATE_CREDENTIAL) nak.conflictingSlot = r.u16("conflicting slot");
  else if (code === NakCode.BUSY) nak.retryAfterMs = r.u16("retry-after");
  else if (code === NakCode.INVALID_STATE && r.remaining >= 4) nak.expectedOffset = r.u32("expected offset");
  return nak;
}

export function decodeEventNotify(body: Uint8Array): { eventHead: number } {
  const r = new ByteReader(body);
  const eventHead = r.u32("eventHead");
  r.end("EVENT_NOTIFY");
  return { eventHead };
}

export function encodeEventNotify(eventHead: number): Buffer {
  return new ByteWriter().u32(eventHead).build();
}
