/**
 * A key's window edge re-derives it; one that fails (the chaos run's full data disk: "database
 * or disk is full") is tried again until it commits, not dropped with the credential owed.
 */
import { describe, expect, it } from "vitest";
import { KeyAgendas, WINDOW_EDGE_RETRY_MS, type KeyAgendaPorts } from "../../../src/provisioning/status/key-agendas.js";
import { ManualClock } from "../../../src/shared/clock.js";
import { createLogger } from "../../../src/shared/logger.js";
import { doorMap, makeDoor, makeKey, makeSite } from "../../helpers/access-fixtures.js";

describe("key agendas", () => {
  it("a window edge whose re-derivation fails is tried again until it succeeds", () => {
    // 13:00 UTC = 14:00 in Prague, an hour before the arrival time of 15:00 on 1 December.
    const clock = new ManualClock(Date.UTC(2026, 11, 1, 13, 0, 0));
    const key = { ...makeKey("k-1"), removedAt: null };
    const resynced: number[] = [];
    let failures = 2;
    const ports = {
      store: { keys: { get: () => key }, site: { get: () => makeSite() } },
      clock,
      log: createLogger({ level: "silent" }),
      doors: () => doorMap(makeDoor("room-101")),
      keyStatus: () => null,
      resyncKeys: () => {
        if (failures-- > 0) throw new Error("database or disk is full");
        resynced.push(clock.now());
      },
      emit: () => undefined,
    } as unknown as KeyAgendaPorts;
    const agendas = new KeyAgendas(ports);
    agendas.schedule("k-1");
    clock.advance(60 * 60_000); // the arrival edge: the first try fails
    expect(resynced).toEqual([]);
    clock.advance(WINDOW_EDGE_RETRY_MS); // the second fails too
    expect(resynced).toEqual([]);
    clock.advance(WINDOW_EDGE_RETRY_MS);
    expect(resynced).toEqual([Date.UTC(2026, 11, 1, 14, 0, 0) + 2 * WINDOW_EDGE_RETRY_MS]);
    agendas.stop();
  });
});
