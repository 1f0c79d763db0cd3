/**
 * Invariant 2 of the chaos run (events exactly once after de-duplication by seq, none
 * missing): gaps are asked for again with events.resend, then whatever is still missing and
 * every violating duplicate is a violation. Duplicates that the contract allows (QoS 1
 * redelivery after a reconnect, or the resend asked for here) are counted, not violations.
 */
import type { ChaosCloud } from "./cloud.js";

export interface EventsReport {
  received: number;
  /** Delivered again within the same hub session and cloud connection, unasked: a violation. */
  duplicates: number;
  /** Legitimate QoS 1 redeliveries: a new hub session or a cloud reconnect since the first copy. */
  duplicatesAfterReconnect: number;
  /** Sent again because this check (or the cloud) asked with events.resend. */
  duplicatesOnResendRequest: number;
  missing: number;
  outOfOrderFirstArrivals: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function checkEvents(cloud: ChaosCloud, violations: string[], settleMs = 3_000): Promise<EventsReport> {
  await sleep(settleMs);
  let missing = cloud.missingSeqs();
  if (missing.length > 0) {
    await cloud.send({ cmd: "events.resend", fromSeq: missing[0]! }, { giveUpMs: 30_000 });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && cloud.missingSeqs().length > 0) await sleep(500);
    await sleep(settleMs);
    missing = cloud.missingSeqs();
  }
  if (missing.length > 0) violations.push(`${missing.length} events never delivered (seqs ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", ..." : ""})`);
  const c = cloud.counts;
  if (c.eventDuplicates > 0) violations.push(`${c.eventDuplicates} events delivered twice within one hub session and cloud connection, unasked`);
  return {
    received: c.eventsReceived,
    duplicates: c.eventDuplicates,
    duplicatesAfterReconnect: c.eventDuplicatesAfterReconnect,
    duplicatesOnResendRequest: c.eventDuplicatesOnResendRequest,
    missing: missing.length,
    outOfOrderFirstArrivals: c.eventsOutOfOrder,
  };
}
