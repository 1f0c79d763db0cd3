import { it } from "vitest";
import { cloudKeyPair, commandHarness, door, keyUpsert, nextId, signCommand, site } from "../helpers/cloud.js";
it("repro", async () => {
  const cloud = cloudKeyPair();
  const h = commandHarness({ commandKey: cloud.publicKey });
  for (const c of [site(), door("room-101")]) await h.send(signCommand({ id: nextId(), ts: new Date(h.clock.now()).toISOString(), ...c }, cloud.privateKey));
  const r = await h.send(signCommand({ id: nextId(), ts: new Date(h.clock.now()).toISOString(), cmd: "keycards.upsert", cards: [{ cardId: "|", uid: "04a1b2c3d4", label: "1" }] }, cloud.privateKey));
  console.log(JSON.stringify(r));
  h.cleanup();
});
