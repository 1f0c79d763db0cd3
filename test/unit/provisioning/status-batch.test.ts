/**
 * Key statuses computed in a batch (StatusModel.batch: the site, lock facts and doors read once
 * for many keys, as the status publisher computes them) are the statuses computed one by one;
 * nothing read in one batch is believed in the next.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { KeyChangeContext } from "../../../src/cloud/handlers/key-commands.js";
import { KeyService } from "../../../src/provisioning/desired/key-service.js";
import { ProvisioningEngine } from "../../../src/provisioning/engine.js";
import { createLogger } from "../../../src/shared/logger.js";
import { seededRandom } from "../../../src/shared/random.js";
import { makeDoor, makeEntry, makeKey, makeSite } from "../../helpers/access-fixtures.js";
import { tempStore } from "../../helpers/store.js";

const log = createLogger({ level: "silent" });
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function property() {
  const t = tempStore();
  cleanups.push(() => t.cleanup());
  const { store, clock } = t;
  store.site.put(makeSite());
  const lock = (lockId: string): void => {
    store.locks.upsert({ lockId, profileId: "p", link: { type: "tcp", host: "h", port: 1, address: 1 } });
    store.locks.setIdent(lockId, { protocolVersion: 1, lockId, model: "m", firmware: "1", capabilities: 0x7f, codeMinLen: 4, codeMaxLen: 10, codeSlots: 64, cardSlots: 32, mobileKeySlots: 16 });
    store.locks.setState(lockId, "commissioned");
  };
  lock("lock-lobby");
  store.doors.upsert(makeDoor("lobby"));
  for (let r = 0; r < 4; r++) {
    lock(`lock-room-${r}`);
    store.doors.upsert(makeDoor(`room-${r}`, { linkedDoorIds: ["lobby"] }));
  }
  const engine = new ProvisioningEngine({
    store, clock, log, events: { emit: () => 0 }, status: { keyChanged: () => undefined, lockChanged: () => undefined },
    links: { open: () => Promise.reject(new Error("no locks in unit tests")) },
  });
  const rnd = seededRandom(5);
  const keys = new KeyService(store, { desired: engine.desired, statuses: engine.statuses, clock }, { random: { int: (n) => Math.floor(rnd() * n) } });
  const ctx: KeyChangeContext = { clock, log, origin: "snapshot", emit: () => undefined, keyChanged: () => undefined, lockChanged: () => undefined };
  store.transaction(() => {
    for (let i = 0; i < 10; i++) keys.upsert(makeKey(`k-${i}`, { doors: [makeEntry(`room-${i % 4}`)] }), ctx);
  });
  const all = () => store.keys.ids({ includeRemoved: true }).map((id) => JSON.stringify(engine.statuses.keyStatus(id)));
  return { store, engine, all };
}

describe("key statuses in a batch", () => {
  it("are the statuses computed one by one", () => {
    const p = property();
    const alone = p.all();
    expect(p.engine.statuses.batch(() => p.all())).toEqual(alone);
    expect(p.engine.statuses.batch(() => p.engine.statuses.batch(() => p.all()))).toEqual(alone); // nested
  });

  it("read the site and the locks afresh in the next batch", () => {
    const p = property();
    const before = p.engine.statuses.batch(() => p.all());
    p.store.site.put(makeSite({ credentialTypes: { doorCode: false, keycard: false, smartKey: false } }));
    p.store.locks.setState("lock-lobby", "commissioning");
    p.engine.desired.forgetLock("lock-lobby"); // as the engine's writers of lock records do
    const after = p.engine.statuses.batch(() => p.all());
    expect(after).toEqual(p.all());
    expect(after).not.toEqual(before);
    const lobbyStates = (all: string[]) => all.map((j) => (JSON.parse(j) as { doors: { doorId: string; reasons: string[] }[] }).doors.find((d) => d.doorId === "lobby")?.reasons.join());
    expect(lobbyStates(before).some((r) => r?.includes("not_commissioned"))).toBe(false);
    expect(lobbyStates(after).every((r) => r?.includes("not_commissioned"))).toBe(true);
  });

  it("end with the batch even when it throws", () => {
    const p = property();
    const before = p.all();
    expect(() => p.engine.statuses.batch(() => {
      p.all();
      throw new Error("boom");
    })).toThrow("boom");
    p.store.site.put(makeSite({ credentialTypes: { doorCode: false, keycard: false, smartKey: false } }));
    expect(p.all()).not.toEqual(before);
  });
});
