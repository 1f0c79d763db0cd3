// The §7 test vectors, fed through a simulated lock: the lock must accept the hub's
// vectors and produce the lock-side vectors byte for byte.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CredentialKind, encodeRequest } from "../../../src/protocol/llp/index.js";
import { ManualClock } from "../../../src/shared/clock.js";
import { HubPeer, SimLock } from "../../../sim/index.js";

interface Vectors {
  frames: { name: string; hex: string; linkKey?: string; lockId?: string; counter?: number; plainBody?: string }[];
  tableDigest: { entries: unknown[]; digest: string }[];
}
const specPath = fileURLToPath(new URL("../../../../shared/spec/llp-test-vectors.json", import.meta.url));
const vectors = JSON.parse(readFileSync(specPath, "utf8")) as Vectors;
const vec = (prefix: string) => {
  const v = vectors.frames.find((f) => f.name.startsWith(prefix));
  if (!v) throw new Error(`vector ${prefix} missing`);
  return v;
};
const bytes = (h: string) => Buffer.from(h, "hex");
// Inside the vector code's window (2026-01-01 15:00Z .. 2026-01-04 15:00Z).
const inWindow = () => new ManualClock(Date.UTC(2026, 0, 2, 12));

describe("SimLock against the §7 vectors", () => {
  it("answers the IDENT vector (ADDR 1, SEQ 1) with its identity", () => {
    const lock = new SimLock({ lockId: "4c42000000000001", clock: inWindow() });
    const res = lock.handleRequest(bytes(vec("IDENT").hex))!;
    const r = new HubPeer(1).decode("IDENT", res);
    expect(r.ok).toBe(true);
    expect(r.frame).toMatchObject({ addr: 1, fromLock: true, seq: 1, sec: false });
    if (r.ok) expect(r.body).toMatchObject({ protocolVersion: 1, lockId: "4c42000000000001", model: "SIM-R100" });
  });

  it("answers the STATUS vector only at ADDR 7", () => {
    const at1 = new SimLock({ address: 1, clock: inWindow() });
    const at7 = new SimLock({ address: 7, clock: inWindow() });
    expect(at1.handleRequest(bytes(vec("STATUS").hex))).toBeNull();
    const r = new HubPeer(7).decode("STATUS", at7.handleRequest(bytes(vec("STATUS").hex))!);
    expect(r.ok && r.frame.seq).toBe(3);
    if (r.ok) expect(r.body.lockTime).toBe(Math.floor(Date.UTC(2026, 0, 2, 12) / 1000));
  });

  it("stores the plain PUT vector and its table digest equals the one-code vector", () => {
    const lock = new SimLock({ clock: inWindow() });
    const res = lock.handleRequest(bytes(vec("PUT_CREDENTIAL code").hex))!;
    expect(new HubPeer(1).decode("PUT_CREDENTIAL", res).ok).toBe(true);
    const [slot] = lock.slots(CredentialKind.DOOR_CODE);
    expect(slot).toMatchObject({ slot: 5, validFrom: 1767279600, validUntil: 1767538800, flags: 0 });
    expect(Buffer.from(slot!.secretDigest).toString("hex")).toBe("1a0774b3");
    const peer = new HubPeer(1);
    const d = peer.decode("TABLE_DIGEST", lock.handleRequest(peer.encode({ cmd: "TABLE_DIGEST", kind: 1 }))!);
    expect(d.ok && Buffer.from(d.body.digest).toString("hex")).toBe(vectors.tableDigest[1]!.digest);
    expect(d.ok && d.body.used).toBe(1);
  });

  it("reports the empty-table and two-code digests of the vectors", () => {
    const lock = new SimLock({ clock: inWindow() });
    const peer = new HubPeer(1);
    const digest = () => {
      const r = peer.decode("TABLE_DIGEST", lock.handleRequest(peer.encode({ cmd: "TABLE_DIGEST", kind: 1 }))!);
      return r.ok ? Buffer.from(r.body.digest).toString("hex") : "nak";
    };
    expect(digest()).toBe(vectors.tableDigest[0]!.digest);
    lock.handleRequest(bytes(vec("PUT_CREDENTIAL code").hex));
    lock.handleRequest(peer.encode({ cmd: "PUT_CREDENTIAL", kind: 1, slot: 2, validFrom: 0, validUntil: 0, flags: 0, secret: Buffer.from("7351") }));
    expect(digest()).toBe(vectors.tableDigest[2]!.digest);
  });

  it("accepts the sealed PUT vector with key 00..0f and lockId 4c42000000000001, answering sealed", () => {
    const v = vec("PUT_CREDENTIAL sealed");
    const lock = new SimLock({ lockId: v.lockId!, linkKey: v.linkKey!, clock: inWindow() });
    const res = lock.handleRequest(bytes(v.hex))!;
    const peer = new HubPeer(1, { linkKey: v.linkKey!, lockId: v.lockId! });
    const r = peer.decode("PUT_CREDENTIAL", res);
    expect(r.ok).toBe(true);
    expect(r.frame.sec).toBe(true);
    expect(r.frame.seq).toBe(2);
    expect(Buffer.from(lock.slots(1)[0]!.secretDigest).toString("hex")).toBe("1a0774b3");
    expect(lock.state.hubCounter).toBe(v.counter);
    // The same key with another lockId is another nonce: the tag cannot verify.
    const other = new SimLock({ lockId: "4c42000000000002", linkKey: v.linkKey!, clock: inWindow() });
    const nak = peer.decode("PUT_CREDENTIAL", other.handleRequest(bytes(v.hex))!);
    expect(nak.ok ? "ack" : nak.nak.name).toBe("NOT_AUTHENTICATED");
    expect(nak.frame.sec).toBe(false);
    expect(other.slots(1)).toEqual([]);
  });

  it("produces the NAK DUPLICATE_CREDENTIAL vector byte for byte", () => {
    const lock = new SimLock({ clock: inWindow() });
    const first = lock.handleRequest(
      encodeRequest(1, 1, { cmd: "PUT_CREDENTIAL", kind: 1, slot: 3, validFrom: 0, validUntil: 0, flags: 0, secret: Buffer.from("482916") }),
    );
    expect(new HubPeer(1).decode("PUT_CREDENTIAL", first!).ok).toBe(true);
    const res = lock.handleRequest(bytes(vec("PUT_CREDENTIAL code").hex));
    expect(res!.toString("hex")).toBe(vec("NAK DUPLICATE").hex);
  });
});
