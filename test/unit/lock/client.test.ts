import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Cmd, CredentialKind, decodeFrame, decodeRequestBody, secretDigest, tableDigest } from "../../../src/protocol/llp/index.js";
import { ManualClock } from "../../../src/shared/clock.js";
import { SimLock } from "../../../sim/index.js";
import { drive, hubRig, InProcessLink, outcome, simRoomProfile } from "../../helpers/lock-link.js";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

function setup(lockOpts: ConstructorParameters<typeof SimLock>[0] = {}, profile = simRoomProfile()) {
  const clock = new ManualClock(T0);
  const lock = new SimLock({ clock, lockId: "4c42000000000001", fwRestartMs: 100, ...lockOpts });
  const link = new InProcessLink([lock], clock);
  const rig = hubRig(link, clock, [lock], { profile });
  return { clock, lock, link, client: rig.clients[0]! };
}

describe("LockClient", () => {
  it("provisions, reads back and verifies a table: put, readSlots, tableDigest, delete", async () => {
    const { clock, client, lock } = setup();
    await drive(clock, client.setTime(new Date(T0)));
    await drive(clock, client.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 5, validFrom: 1767279600, validUntil: 1767538800, secret: "482916" }));
    await drive(clock, client.putCredential({ kind: CredentialKind.DOOR_CODE, slot: 2, validFrom: 0, validUntil: 0, secret: "7351" }));
    const slots = await drive(clock, client.readAllSlots(CredentialKind.DOOR_CODE, 32));
    expect(slots.map((s) => s.slot)).toEqual([2, 5]);
    expect(Buffer.from(slots[1]!.secretDigest).equals(secretDigest(Buffer.from("482916")))).toBe(true);
    const digest = await drive(clock, client.tableDigest(CredentialKind.DOOR_CODE));
    expect(digest.used).toBe(2);
    expect(Buffer.from(digest.digest).toString("hex")).toBe("3c1bb9dcc976b3ba"); // spec §7 vector
    expect(Buffer.from(digest.digest).equals(tableDigest(slots))).toBe(true);
    await drive(clock, client.deleteCredential(CredentialKind.DOOR_CODE, 2));
    expect(lock.slots(CredentialKind.DOOR_CODE).map((s) => s.slot)).toEqual([5]);
    const st = await drive(clock, client.status());
    expect(st.lockTime).toBe(Math.floor(T0 / 1000));
  });

  it("unlocks, reads and acknowledges events", async () => {
    const { clock, client, lock } = setup();
    await drive(clock, client.unlock(3));
    expect(lock.unlocked).toBe(true);
    const events = await drive(clock, client.readEvents(1, 32));
    expect(events.map((e) => e.type)).toContain(0x05);
    await drive(clock, client.ackEvents(events.at(-1)!.seq));
    await expect(client.unlock(31)).rejects.toMatchObject({ code: "invalid_payload" });
  });

  it("sends a firmware image and resumes at the lock's expected offset after INVALID_STATE", async () => {
    const { clock, client, lock, link } = setup({ fwMaxChunk: 200 });
    const image = randomBytes(1000);
    // Lose the third chunk's request entirely and make the lock skip ahead: simulate a lock that
    // already holds some bytes by resuming from a wrong offset ourselves.
    const maxChunk = await drive(clock, client.firmwareBegin(image.length, createHash("sha256").update(image).digest(), "2.0.0"));
    expect(maxChunk).toBe(200);
    await drive(clock, client.firmwareChunk(0, image.subarray(0, 200)));
    await drive(clock, client.firmwareChunk(200, image.subarray(200, 400)));
    // The hub restarted and lost track: it resumes from 0; the lock says 400.
    link.written.length = 0;
    await drive(clock, client.sendFirmware(image, "2.0.0", { resumeFrom: { offset: 0, maxChunk: 200 } }));
    const offsets = link.written
      .map((b) => decodeFrame(b))
      .filter((f) => f.cmd === Cmd.FW_CHUNK)
      .map((f) => (decodeRequestBody(f.cmd, f.body) as { offset: number }).offset);
    expect(offsets).toEqual([0, 400, 600, 800]);
    await drive(clock, Promise.resolve(clock.advance(200)));
    expect(lock.firmware).toBe("2.0.0");
  });

  it("flags a lock whose IDENT disagrees with its profile, naming each difference", async () => {
    const profile = simRoomProfile({ model: "NV-M485", slots: { doorCode: 64, keycard: 32, smartKey: 16 }, code: { minLength: 4, maxLength: 8 } });
    const { clock, client } = setup({}, profile);
    const { differences } = await drive(clock, client.checkIdentity());
    expect(differences).toEqual([
      { field: "model", expected: "NV-M485", actual: "SIM-R100" },
      { field: "codeSlots", expected: 64, actual: 32 },
      { field: "codeMaxLen", expected: 8, actual: 12 },
    ]);
    const ok = setup();
    expect((await drive(ok.clock, ok.client.checkIdentity())).differences).toEqual([]);
  });

  it("flags a replaced lock (another lockId) and missing capabilities", async () => {
    const { clock, client, lock } = setup({ profile: "sim-basic" }, simRoomProfile({ model: "SIM-B10" }));
    lock.replace("4c420000000000ff");
    const { differences } = await drive(clock, client.checkIdentity());
    const fields = differences.map((d) => d.field);
    expect(fields).toContain("lockId");
    expect(fields).toContain("capabilities");
  });

  it("a NAK on PAIR discards the pending key", async () => {
    const { clock, client, lock } = setup({ linkKey: "000102030405060708090a0b0c0d0e0f" });
    const r = await outcome(clock, client.pair());
    expect(!r.ok && (r.error as { nak: string }).nak).toBe("INVALID_STATE");
    expect(lock.linkKey?.toString("hex")).toBe("000102030405060708090a0b0c0d0e0f");
  });
});
