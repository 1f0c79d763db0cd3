/** Numbers of LLP v1 (lock-link-protocol.md). Names follow the spec. */
export const SOF = 0xa5;
export const MAX_LEN = 1024;
/** SOF + ADDR + LEN(2) + CTRL + CMD + CRC(2) */
export const FRAME_OVERHEAD = 8;
export const BLE_ADDR = 0x01;
export const MIN_BUS_ADDR = 1;
export const MAX_BUS_ADDR = 250;

export const Cmd = {
  IDENT: 0x01,
  STATUS: 0x02,
  SET_TIME: 0x03,
  PUT_CREDENTIAL: 0x10,
  DELETE_CREDENTIAL: 0x11,
  READ_SLOTS: 0x12,
  TABLE_DIGEST: 0x13,
  UNLOCK: 0x20,
  READ_EVENTS: 0x30,
  ACK_EVENTS: 0x31,
  FW_BEGIN: 0x40,
  FW_CHUNK: 0x41,
  FW_COMMIT: 0x42,
  FW_ABORT: 0x43,
  PAIR: 0x50,
  /** Extension (LLP v1.1 §8): authenticated pairing. */
  PAIR_KX: 0x60,
  ACK: 0x80,
  NAK: 0x81,
  EVENT_NOTIFY: 0x90,
} as const;
export type CmdName = keyof typeof Cmd;

export const NakCode = {
  MALFORMED: 0x01,
  UNKNOWN_COMMAND: 0x02,
  NOT_AUTHENTICATED: 0x03,
  SLOT_OUT_OF_RANGE: 0x04,
  MEMORY_FULL: 0x05,
  DUPLICATE_CREDENTIAL: 0x06,
  BUSY: 0x07,
  INVALID_STATE: 0x08,
  VERIFY_FAILED: 0x09,
  NOT_SUPPORTED: 0x0a,
} as const;
export type NakName = keyof typeof NakCode;

export function nakName(code: number): NakName | undefined {
  return (Object.keys(NakCode) as NakName[]).find((k) => NakCode[k] === code);
}

export const CredentialKind = { DOOR_CODE: 1, KEYCARD: 2, MOBILE_KEY: 3 } as const;
export type CredentialKindValue = (typeof CredentialKind)[keyof typeof CredentialKind];

export const Capability = {
  DOOR_CODES: 1 << 0,
  KEYCARDS: 1 << 1,
  MOBILE_KEYS: 1 << 2,
  REMOTE_UNLOCK: 1 << 3,
  DOOR_SENSOR: 1 << 4,
  FIRMWARE_UPDATE: 1 << 5,
  SEALING: 1 << 6,
  /** LLP v1.1 §8: pairs with PAIR_KX. */
  PAIR_KX: 1 << 7,
} as const;

export const StatusFlag = {
  DOOR_OPEN: 1 << 0,
  BOLT_THROWN: 1 << 1,
  TAMPER: 1 << 2,
  CLOCK_NOT_SET: 1 << 3,
  LOW_BATTERY: 1 << 4,
  PAIRING_MODE: 1 << 5,
} as const;

export const PutFlag = { ONE_TIME: 1 << 0 } as const;

export const EventType = {
  ACCESS_GRANTED: 0x01,
  ACCESS_DENIED: 0x02,
  DOOR_OPENED: 0x03,
  DOOR_CLOSED: 0x04,
  REMOTE_UNLOCK: 0x05,
  TAMPER: 0x06,
  BATTERY_LOW: 0x07,
  CLOCK_LOST: 0x08,
  FIRMWARE_APPLIED: 0x09,
} as const;

export const DenyReason = { UNKNOWN_CREDENTIAL: 1, OUTSIDE_WINDOW: 2, WRONG_CODE_LENGTH: 3 } as const;

export const UNKNOWN_SLOT = 0xffff;
export const EVENT_SIZE = 13;
export const MAX_FW_CHUNK = 1000;
export const SEAL_TAG_LEN = 8;
export const LINK_KEY_LEN = 16;
export const LOCK_ID_LEN = 8;
