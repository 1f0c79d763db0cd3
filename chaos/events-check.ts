/**
 * Invariant 2 of the chaos run (events exactly once after de-duplication by seq, none
 * missing, or reported lost): gaps are asked for again with events.resend, then whatever is
 * still missing, every violating duplicate and every reused seq is a violation (the
 * EventLedger's classes). Duplicates that the contract allows (QoS 1 redelivery after a
 * reconnect, or the resend asked for here) are counted, not violations.
 */
import type { ChaosCloud } from "./cloud.js";
import type { EventCounts } from "./event-ledger.js";

export interface EventsReport extends EventCounts {
  missing: number;
  /** Loss the hub reported instead of delivering (lock.events_lost, hub.events_dropped): counted, allowed. */
  reportedLost: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function checkEvents(cloud: ChaosCloud, violations: string[], settleMs = 3_000): Promise<EventsReport> {
  await sleep(settleMs);
  const ledger = cloud.events;
  let missing = ledger.missingSeqs();
  if (missing.length > 0) {
    await cloud.send({ cmd: "events.resend", fromSeq: missing[0]! }, { giveUpMs: 30_000 });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && ledger.missingSeqs().length > 0) await sleep(500);
    await sleep(settleMs);
    missing = ledger.missingSeqs();
  }
  if (missing.length > 0) violations.push(`${missing.length} events never delivered (seqs ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", ..." : ""})`);
  const c = ledger.counts;
  if (c.duplicates > 0) violations.push(`${c.duplicates} events delivered twice within one hub session and cloud connection, unasked (${ledger.duplicateSamples.join("; ")})`);
  if (c.seqReused > 0) violations.push(`${c.seqReused} seqs arrived again carrying another event (seqs ${ledger.reusedSeqs.join(", ")})`);
  const reportedLost = (c.byType["lock.events_lost"] ?? 0) + (c.byType["hub.events_dropped"] ?? 0);
  return { ...c, byType: { ...c.byType }, missing: missing.length, reportedLost };
}
