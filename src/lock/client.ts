/**
 * The typed face of one lock: what the provisioning engine calls. Each method is one LLP
 * request through the lock's session (queued, retried, sealed as needed); NAKs come back as
 * LockNakError (code lock_nak), silence as lock_timeout.
 */
import { randomBytes as cryptoRandomBytes, createHash } from "node:crypto";
import type { Logger } from "pino";
import {
  confirmMatches, derivePairKx, freshKxKeyPair, MAX_FW_CHUNK, SETUP_KEY_LEN, type KxKeyPair,
  type CredentialKind, type IdentInfo, type LockEvent, type SlotInfo, type StatusInfo, type TableDigestInfo,
} from "../protocol/llp/index.js";
import { compareIdentity, type IdentityDifference } from "../profiles/identity.js";
import type { DeviceProfile } from "../profiles/schema.js";
import { LockBridgeError } from "../shared/errors.js";
import { isLockNak } from "./errors.js";
import type { LinkStateStore } from "./link-state.js";
import type { LockSession } from "./session.js";

export type CredentialKindValue = (typeof CredentialKind)[keyof typeof CredentialKind];

export interface CredentialWrite {
  kind: CredentialKindValue;
  slot: number;
  /** Unix seconds; 0 = unbounded. */
  validFrom: number;
  validUntil: number;
  /** PUT flags (bit 0 one-time). */
  flags?: number | undefined;
  /** Door code digits (ASCII), keycard UID bytes, or a 32-byte Ed25519 public key. Never logged. */
  secret: Uint8Array | string;
}

export interface IdentityCheck {
  ident: IdentInfo;
  /** Empty when the lock matches its profile and lockId. */
  differences: IdentityDifference[];
}

export interface FirmwareProgress {
  offset: number;
  size: number;
}

export interface LockClientOptions {
  session: LockSession;
  profile: DeviceProfile;
  linkState: LinkStateStore;
  logger: Logger;
  /** Injected for tests; crypto.randomBytes otherwise. */
  randomBytes?: ((n: number) => Buffer) | undefined;
  /** Injected for the spec's test vectors; a fresh X25519 pair per pairing otherwise. */
  kxKeyPair?: (() => KxKeyPair) | undefined;
}

export class LockClient {
  readonly session: LockSession;
  readonly profile: DeviceProfile;
  private readonly store: LinkStateStore;
  private readonly log: Logger;
  private readonly random: (n: number) => Buffer;
  private readonly kxKeyPair: () => KxKeyPair;

  constructor(opts: LockClientOptions) {
    this.session = opts.session;
    this.profile = opts.profile;
    this.store = opts.linkState;
    this.log = opts.logger;
    this.random = opts.randomBytes ?? cryptoRandomBytes;
    this.kxKeyPair = opts.kxKeyPair ?? freshKxKeyPair;
  }

  get lockId(): string {
    return this.session.lockId;
  }

  get online(): boolean | undefined {
    return this.session.online;
  }

  /** IDENT, sealed once the hub holds the lock's key (LLP v1.1 §9.1). */
  ident(): Promise<IdentInfo> {
    return this.session.request({ cmd: "IDENT" });
  }

  /**
   * IDENT sent unsealed whatever keys are held: who answers at this link, as a hint only (a
   * lock that lost its key, a swapped lock, or an impostor all answer it alike).
   */
  identHint(): Promise<IdentInfo> {
    return this.session.request({ cmd: "IDENT" }, { unsealed: true });
  }

  /** IDENT compared with the profile and the commissioned lockId (a replaced lock shows another lockId). */
  async checkIdentity(): Promise<IdentityCheck> {
    const ident = await this.ident();
    const differences = compareIdentity(ident, this.profile, this.lockId);
    if (differences.length > 0) {
      this.log.warn({ lockId: this.lockId, profile: this.profile.id, differences }, "lock does not match its profile");
    }
    return { ident, differences };
  }

  status(): Promise<StatusInfo> {
    return this.session.request({ cmd: "STATUS" });
  }

  /** Set the lock's clock; `time` in Unix seconds or a Date. */
  async setTime(time: number | Date): Promise<void> {
    const seconds = typeof time === "number" ? time : Math.floor(time.getTime() / 1000);
    await this.session.request({ cmd: "SET_TIME", time: seconds >>> 0 });
  }

  async putCredential(c: CredentialWrite): Promise<void> {
    const secret = typeof c.secret === "string" ? Buffer.from(c.secret, "ascii") : c.secret;
    await this.session.request({
      cmd: "PUT_CREDENTIAL", kind: c.kind, slot: c.slot, validFrom: c.validFrom, validUntil: c.validUntil, flags: c.flags ?? 0, secret,
    });
  }

  async deleteCredential(kind: CredentialKindValue, slot: number): Promise<void> {
    await this.session.request({ cmd: "DELETE_CREDENTIAL", kind, slot });
  }

  /** Used slots in [firstSlot, firstSlot+count), count 1..32. */
  readSlots(kind: CredentialKindValue, firstSlot: number, count: number): Promise<SlotInfo[]> {
    return this.session.request({ cmd: "READ_SLOTS", kind, firstSlot, count });
  }

  /** Every used slot of a kind, 32 slots per request. */
  async readAllSlots(kind: CredentialKindValue, slotCount: number): Promise<SlotInfo[]> {
    const out: SlotInfo[] = [];
    for (let first = 0; first < slotCount; first += 32) {
      out.push(...(await this.readSlots(kind, first, Math.min(32, slotCount - first))));
    }
    return out;
  }

  tableDigest(kind: CredentialKindValue): Promise<TableDigestInfo> {
    return this.session.request({ cmd: "TABLE_DIGEST", kind });
  }

  async unlock(seconds: number): Promise<void> {
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 30) {
      throw new LockBridgeError("invalid_payload", `unlock seconds must be 1..30, got ${seconds}`);
    }
    await this.session.request({ cmd: "UNLOCK", seconds });
  }

  readEvents(fromSeq: number, max = 32): Promise<LockEvent[]> {
    return this.session.request({ cmd: "READ_EVENTS", fromSeq, max });
  }

  async ackEvents(uptoSeq: number): Promise<void> {
    await this.session.request({ cmd: "ACK_EVENTS", uptoSeq });
  }

  async firmwareBegin(size: number, sha256: Uint8Array, version: string): Promise<number> {
    const { maxChunk } = await this.session.request({ cmd: "FW_BEGIN", size, sha256, version });
    return maxChunk;
  }

  async firmwareChunk(offset: number, data: Uint8Array): Promise<void> {
    await this.session.request({ cmd: "FW_CHUNK", offset, data });
  }

  async firmwareCommit(): Promise<void> {
    await this.session.request({ cmd: "FW_COMMIT" });
  }

  async firmwareAbort(): Promise<void> {
    await this.session.request({ cmd: "FW_ABORT" });
  }

  /**
   * A whole image: FW_BEGIN, chunks in order, FW_COMMIT. A chunk NAKed INVALID_STATE with an
   * expected offset (the lock lost or already has data) resumes at the lock's offset.
   * `resumeFrom` continues an interrupted transfer without FW_BEGIN (the lock corrects the offset).
   */
  async sendFirmware(
    image: Uint8Array,
    version: string,
    opts: { onProgress?: (p: FirmwareProgress) => void; resumeFrom?: { offset: number; maxChunk: number } } = {},
  ): Promise<void> {
    const sha256 = createHash("sha256").update(image).digest();
    let maxChunk: number;
    let offset: number;
    if (opts.resumeFrom) {
      ({ offset, maxChunk } = opts.resumeFrom);
    } else {
      maxChunk = await this.firmwareBegin(image.length, sha256, version);
      offset = 0;
    }
    maxChunk = Math.max(1, Math.min(maxChunk, MAX_FW_CHUNK));
    let resumes = 0;
    while (offset < image.length) {
      const data = image.subarray(offset, Math.min(image.length, offset + maxChunk));
      try {
        await this.firmwareChunk(offset, data);
        offset += data.length;
        opts.onProgress?.({ offset, size: image.length });
      } catch (e) {
        if (!isLockNak(e, "INVALID_STATE") || e.expectedOffset === undefined || e.expectedOffset > image.length || ++resumes > 16) throw e;
        this.log.info({ lockId: this.lockId, from: offset, to: e.expectedOffset }, "firmware transfer resumes at the lock's offset");
        offset = e.expectedOffset;
      }
    }
    await this.firmwareCommit();
  }

  /**
   * Pair: a fresh random 16-byte link key, stored as pending BEFORE PAIR is sent (a crash
   * after the lock took it must not lose it), confirmed once the lock ACKs, used to seal
   * every later command. The lock accepts PAIR only without a key or in pairing mode.
   */
  async pair(): Promise<void> {
    const key = this.random(16);
    await this.store.savePendingLinkKey(this.lockId, key);
    this.session.notePendingLinkKey(key);
    try {
      await this.session.request({ cmd: "PAIR", linkKey: key });
    } catch (e) {
      // A NAK means the lock did not take the key; silence leaves it pending (the next sealed
      // request finds out which key the lock holds).
      if (isLockNak(e)) {
        await this.store.discardPendingLinkKey(this.lockId);
        await this.session.reloadLinkState();
      }
      throw e;
    }
    await this.store.confirmPendingLinkKey(this.lockId);
    this.session.adoptLinkKey(key);
    this.log.info({ lockId: this.lockId }, "paired: link key stored");
  }

  /**
   * PAIR_KX (LLP v1.1 §8): an X25519 agreement bound to the setup key on the lock's label.
   * The new key is used only after the lock's confirm proves it knows the setup key; a wrong
   * confirm rejects with lock_pairing_unconfirmed and the hub keeps the key it had (the other
   * end may be an impostor while the genuine lock still holds it). The private key lives only
   * for this call. Sent unsealed: the lock takes it when it has no key or is in pairing mode.
   */
  async pairKx(setupKey: Uint8Array): Promise<void> {
    if (setupKey.length !== SETUP_KEY_LEN) throw new LockBridgeError("invalid_payload", `a setup key is ${SETUP_KEY_LEN} bytes, got ${setupKey.length}`, "setupKey");
    const own = this.kxKeyPair();
    const ack = await this.session.request({ cmd: "PAIR_KX", hubPub: own.publicKey });
    let derived;
    try {
      derived = derivePairKx(own.privateKey, { lockId: Buffer.from(this.lockId, "hex"), setupKey, hubPub: own.publicKey, lockPub: ack.lockPub });
    } catch (e) {
      throw unconfirmed(this.lockId, e instanceof Error ? e.message : String(e));
    }
    if (!confirmMatches(derived.confirm, ack.confirm)) {
      throw unconfirmed(this.lockId, "its confirm does not prove the setup key");
    }
    // Durable before first use: pending, then confirmed (the lock already holds it).
    await this.store.savePendingLinkKey(this.lockId, derived.linkKey);
    await this.store.confirmPendingLinkKey(this.lockId);
    this.session.adoptLinkKey(derived.linkKey);
    this.log.info({ lockId: this.lockId }, "paired with PAIR_KX: setup key proven, link key stored");
  }
}

function unconfirmed(lockId: string, why: string): LockBridgeError {
  return new LockBridgeError(
    "lock_pairing_unconfirmed",
    `PAIR_KX with lock ${lockId} not confirmed: ${why} (a wrong setup key, or something else answers at this link); nothing was sent under the new key`,
    undefined,
    { lockId },
  );
}
