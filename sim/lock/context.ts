import type { Hash } from "node:crypto";
import { encodeAckBody, type AckBodies, type KxKeyPair, type LlpCommandName, type LlpRequest, type LockEvent } from "../../src/protocol/llp/index.js";
import type { Clock } from "../../src/shared/clock.js";
import type { CredentialTable } from "./credential-table.js";
import type { EventRing } from "./event-ring.js";
import type { LockClock } from "./lock-clock.js";
import type { LockProfile } from "./profile.js";

export interface NakDetail {
  code: number;
  conflictingSlot?: number;
  retryAfterMs?: number;
  expectedOffset?: number;
}

/** What a behaviour decided: an ACK body (plain) or a NAK. Sealing is the lock's job. */
export type Outcome = { ack: Buffer } | { nak: NakDetail };

export function ack<N extends LlpCommandName>(name: N, body: AckBodies[N]): Outcome {
  return { ack: encodeAckBody(name, body) };
}
export function nak(code: number, detail: Omit<NakDetail, "code"> = {}): Outcome {
  return { nak: { code, ...detail } };
}

export interface FirmwareTransfer {
  size: number;
  sha256: Buffer;
  version: string;
  offset: number;
  hash: Hash;
}

/** The mutable facts of one lock. Everything here survives in the state file except `fw.transfer`. */
export interface LockState {
  lockId: Buffer;
  address: number;
  firmware: string;
  battery: number;
  linkKey: Buffer | null;
  /** The setup key on the label (PAIR_KX models, LLP v1.1 §8); null for legacy models. */
  setupKey: Buffer | null;
  /** Last counter accepted from the hub (§4). */
  hubCounter: number;
  /** Last counter the lock sent. */
  lockCounter: number;
  pairingMode: boolean;
  doorOpen: boolean;
  /** Privacy deadbolt thrown from inside. */
  boltThrown: boolean;
  tamper: boolean;
  /** Base-clock ms until which the latch is released (UNLOCK or a granted credential). */
  unlockedUntilMs: number;
  /** Fault: every PUT_CREDENTIAL gets MEMORY_FULL. */
  memoryFull: boolean;
  fw: { transfer: FirmwareTransfer | null; restartUntilMs: number; pendingVersion: string | null };
}

/** What a behaviour module may see and do. SimLock implements it. */
export interface LockContext {
  readonly profile: LockProfile;
  readonly options: Readonly<ResolvedBehaviourOptions>;
  readonly base: Clock;
  readonly clock: LockClock;
  readonly events: EventRing;
  readonly state: LockState;
  /** The request being handled came sealed under the lock's current key. */
  readonly requestSealed: boolean;
  /** The table of a credential kind the lock has, or undefined (kind unknown or capability missing). */
  table(kind: number): CredentialTable | undefined;
  logEvent(e: { type: number; kind?: number; slot?: number; reason?: number }): LockEvent;
  /** Release the latch for `seconds`. */
  releaseLatch(seconds: number): void;
  /** Take `percent` off the battery, logging BATTERY_LOW on crossing the threshold. */
  drainBattery(percent: number): void;
  /** Restart (after FW_COMMIT): silent or BUSY for `ms`, then a pending firmware version is applied. */
  restart(ms: number): void;
}

export interface ResolvedBehaviourOptions {
  fwMaxChunk: number;
  fwMaxSize: number;
  fwRestartMs: number;
  fwRestartAnswer: "silent" | "busy";
  /** Fault: the image arrives damaged in the lock's flash (one byte flipped): FW_COMMIT gets VERIFY_FAILED. */
  fwCorruptImage: boolean;
  /** The update wipes the credential tables (a firmware whose storage layout changed). */
  fwWipesTables: boolean;
  unlockSeconds: number;
  batteryDrainPerUnlock: number;
  lowBatteryThreshold: number;
  /** The lock's X25519 key pair for a PAIR_KX (fresh per pairing; fixed for the spec's vector). */
  kxKeyPair: () => KxKeyPair;
}

/** One command group of the lock, like a Z-Wave JS mock CC behaviour. */
export interface Behavior {
  readonly name: string;
  readonly handles: readonly LlpCommandName[];
  handle(req: LlpRequest, ctx: LockContext): Outcome;
}
