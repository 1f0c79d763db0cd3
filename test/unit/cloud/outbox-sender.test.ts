/**
 * The outbox sender when writing the "sent" marks fails (the chaos run's data-disk-full fault:
 * "cannot mark events sent"): the events were published and acknowledged, only their marks
 * were lost, and nothing tried again until the next reconnect, so the outbox gauge stayed up
 * and the events went out a second time later. The marks are now kept and written again at a
 * later flush; nothing is published twice.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Outbox } from "../../../src/cloud/outbox.js";
import { OutboxSender } from "../../../src/cloud/outbox-sender.js";
import { silentLog } from "../../helpers/cloud.js";
import { tempStore } from "../../helpers/store.js";

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
const flush = () => new Promise((r) => setImmediate(r));

describe("outbox sender", () => {
  it("sent marks that could not be written are written at a later flush, without publishing again", async () => {
    const t = tempStore();
    cleanups.push(t.cleanup);
    const outbox = new Outbox(t.store, t.clock, silentLog, { maxEvents: 1000 });
    const published: string[] = [];
    const sender = new OutboxSender(t.store, outbox, { publish: (_topic: string, payload: string) => (published.push(payload), Promise.resolve()) } as never, "evt", t.clock, silentLog, {
      window: 16,
      batch: 100,
      flushMs: 50,
    });
    const mark = t.store.outbox.markSentRange.bind(t.store.outbox);
    let failures = 2;
    t.store.outbox.markSentRange = (...args: Parameters<typeof mark>) => {
      if (failures > 0) {
        failures--;
        throw new Error("database or disk is full");
      }
      return mark(...args);
    };
    sender.start();
    sender.setOnline(true);
    for (let i = 0; i < 5; i++) outbox.emit({ type: "door.opened", doorId: "d" });
    for (let i = 0; i < 50 && t.store.outbox.depth().pending > 0; i++) {
      await flush();
      t.clock.advance(1_000);
    }
    expect(t.store.outbox.depth().pending).toBe(0);
    expect(published).toHaveLength(5);
    await sender.stop();
  });
});
