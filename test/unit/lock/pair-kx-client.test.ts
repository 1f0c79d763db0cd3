/**
 * PAIR_KX end to end between the hub's LockClient and the simulated lock (LLP v1.1 §8):
 * the genuine lock pairs and everything after is sealed under the derived key; a lock (or an
 * impostor) without the setup key gets nothing sealed and the hub keeps its key; the legacy
 * PAIR is refused by a kx model; pairing mode and rotation rules hold.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Capability, Cmd, CredentialKind, decodeFrame, kxKeyPairFromPrivate, NakCode } from "../../../src/protocol/llp/index.js";
import { ManualClock } from "../../../src/shared/clock.js";
import { isLockBridgeError } from "../../../src/shared/errors.js";
import { MemoryLinkStateStore } from "../../../src/lock/link-state.js";
import { SimLock } from "../../../sim/index.js";
import { drive, hubRig, InProcessLink, outcome, simRoomProfile } from "../../helpers/lock-link.js";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const LOCK_ID = "4c42000000000001";
const SETUP_KEY = "000102030405060708090a0b0c0d0e0f";
const KX_CAPS = ["doorCodes", "keycards", "mobileKeys", "remoteUnlock", "doorSensor", "firmwareUpdate", "sealing", "authenticatedPairing"] as const;

function setup(lockSetupKey = SETUP_KEY) {
  const clock = new ManualClock(T0);
  const lock = new SimLock({ clock, lockId: LOCK_ID, setupKey: lockSetupKey, profile: { capabilities: 0x7f | Capability.PAIR_KX } });
  const link = new InProcessLink([lock], clock);
  const store = new MemoryLinkStateStore();
  const rig = hubRig(link, clock, [lock], { store, profile: simRoomProfile({ capabilities: [...KX_CAPS], pairing: "kx", sealingRequired: true }) });
  return { clock, lock, link, store, client: rig.clients[0]! };
}

describe("PAIR_KX between the hub and a simulated lock", () => {
  it("pairs the genuine lock: both hold the derived key, it never crossed the link, and commands are sealed under it", async () => {
    const { clock, lock, link, store, client } = setup();
    await drive(clock, client.pairKx(Buffer.from(SETUP_KEY, "hex")));
    const key = store.linkKeys(LOCK_ID).active!;
    expect(key).not.toBeNull();
    expect(lock.linkKey?.equals(key)).toBe(true);
    const wire = Buffer.concat(link.written);
    expect(wire.includes(key)).toBe(false);
    link.written.length = 0;
    await drive(clock, client.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 0, validFrom: 0, validUntil: 0, secret: "482916" }));
    expect(link.written.map((b) => decodeFrame(b).sec)).toEqual([true]);
    expect(lock.slots(CredentialKind.DOOR_CODE)).toHaveLength(1);
  });

  it("refuses a confirm that does not prove the setup key: lock_pairing_unconfirmed, key kept, nothing sealed sent", async () => {
    const { clock, lock, link, store, client } = setup("ffeeddccbbaa99887766554433221100");
    store.setActiveLinkKey(LOCK_ID, Buffer.alloc(16, 9));
    const r = await outcome(clock, client.pairKx(Buffer.from(SETUP_KEY, "hex")));
    expect(!r.ok && isLockBridgeError(r.error, "lock_pairing_unconfirmed")).toBe(true);
    expect(!r.ok && (r.error as Error).message).toMatch(/does not prove the setup key/);
    expect(store.linkKeys(LOCK_ID)).toEqual({ active: Buffer.alloc(16, 9), pending: null });
    // The other end took a key the hub never uses: no frame after the PAIR_KX is sealed under it.
    const sent = link.written.map((b) => decodeFrame(b));
    expect(sent.map((f) => f.cmd)).toEqual([Cmd.IDENT, Cmd.PAIR_KX]);
    expect(sent.every((f) => !f.sec)).toBe(true);
    expect(lock.linkKey).not.toBeNull();
  });

  it("a kx model refuses the legacy PAIR (its key never travels in clear)", async () => {
    const { clock, lock, client } = setup();
    const r = await outcome(clock, client.pair());
    expect(!r.ok && (r.error as Error).message).toMatch(/NOT_SUPPORTED/);
    expect(lock.linkKey).toBeNull();
  });

  it("a paired lock takes an unsealed PAIR_KX only in pairing mode", async () => {
    const { clock, lock, client } = setup();
    await drive(clock, client.pairKx(Buffer.from(SETUP_KEY, "hex")));
    const first = Buffer.from(lock.linkKey!);
    // A second hub session (the store forgot the key) tries again: INVALID_STATE, the lock keeps its key.
    const again = setup();
    again.lock.state.linkKey = Buffer.from(first);
    const refused = await outcome(again.clock, again.client.pairKx(Buffer.from(SETUP_KEY, "hex")));
    expect(!refused.ok && isLockBridgeError(refused.error, "lock_nak")).toBe(true);
    expect((refused.ok ? {} : (refused.error as { context?: { nakCode?: number } }).context)?.nakCode ?? NakCode.INVALID_STATE).toBe(NakCode.INVALID_STATE);
    expect(again.lock.linkKey?.equals(first)).toBe(true);
    again.lock.pressPairingButton();
    await drive(again.clock, again.client.pairKx(Buffer.from(SETUP_KEY, "hex")));
    expect(again.lock.linkKey?.equals(first)).toBe(false);
    expect(again.store.linkKeys(LOCK_ID).active?.equals(again.lock.linkKey!)).toBe(true);
  });
});

describe("PAIR_KX test vector (LLP v1.1 §8) through the hub's client and the simulator", () => {
  const vectors = JSON.parse(readFileSync(new URL("../../../../shared/spec/llp-test-vectors.json", import.meta.url), "utf8")) as {
    pairKx: Record<"lockId" | "setupKey" | "hubPrivateKey" | "lockPrivateKey" | "linkKey" | "requestFrame" | "ackFrame", string> & { addr: number };
  };
  const v = vectors.pairKx;
  const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

  it("the simulator answers the vector's request frame with the vector's ACK frame, byte for byte", () => {
    const lock = new SimLock({ lockId: v.lockId, address: v.addr, setupKey: v.setupKey, profile: { capabilities: 0x7f | Capability.PAIR_KX }, kxKeyPair: () => kxKeyPairFromPrivate(hex(v.lockPrivateKey)) });
    expect(lock.handleRequest(hex(v.requestFrame))?.toString("hex")).toBe(hex(v.ackFrame).toString("hex"));
    expect(lock.linkKey?.toString("hex")).toBe(v.linkKey);
  });

  it("the hub's client sends the vector's request frame and, on the vector's answer, holds the vector's link key", async () => {
    const clock = new ManualClock(T0);
    const lock = new SimLock({ clock, lockId: v.lockId, address: v.addr, setupKey: v.setupKey, profile: { capabilities: 0x7f | Capability.PAIR_KX }, kxKeyPair: () => kxKeyPairFromPrivate(hex(v.lockPrivateKey)) });
    const link = new InProcessLink([lock], clock);
    const store = new MemoryLinkStateStore();
    const rig = hubRig(link, clock, [lock], { store, profile: simRoomProfile({ capabilities: [...KX_CAPS], pairing: "kx" }), kxKeyPair: () => kxKeyPairFromPrivate(hex(v.hubPrivateKey)) });
    await drive(clock, rig.clients[0]!.pairKx(hex(v.setupKey)));
    // After the SEQ 0 handshake the PAIR_KX goes out with SEQ 1, as in the vector.
    expect(link.written.map((b) => b.toString("hex"))).toContain(hex(v.requestFrame).toString("hex"));
    expect(store.linkKeys(v.lockId).active?.toString("hex")).toBe(v.linkKey);
  });
});
