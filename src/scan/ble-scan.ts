/**
 * LLP locks advertising nearby (lock-link-protocol.md: local name LB-<lockId>, manufacturer
 * data 0xFFFF || lockId || STATUS flags), with RSSI and pairing mode, for a few seconds:
 * `bleScan` on a central of its own (`lockbridge scan --ble`, hub stopped or another radio),
 * `bleSurvey` through a running hub's radio (shared with its BLE locks' links), and `bleIdent`
 * to ask one lock who it is over GATT (IDENT: unsealed, changes nothing on the lock).
 */
import { BLE_ADDR, StatusFlag } from "../protocol/llp/constants.js";
import type { Logger } from "../shared/logger.js";
import type { BleCentral, BlePeripheral } from "../transport/ble/central.js";
import { LLP_SERVICE_UUID, validRssi } from "../transport/ble/central.js";
import type { BleRadio } from "../transport/ble/radio.js";
import { BleTransport } from "../transport/ble/transport.js";
import { identScan, type IdentAnswer } from "./ident-scan.js";

export interface BleSighting {
  lockId: string;
  /** dBm of the last advertisement heard; null when the radio did not report one. */
  rssi: number | null;
  pairingMode: boolean;
}

export function sightingOf(p: BlePeripheral): BleSighting | undefined {
  const rssi = validRssi(p.rssi) ? p.rssi : null;
  const data = p.advertisement.manufacturerData;
  if (data && data.length >= 11 && data[0] === 0xff && data[1] === 0xff) {
    return { lockId: data.subarray(2, 10).toString("hex"), rssi, pairingMode: (data[10]! & StatusFlag.PAIRING_MODE) !== 0 };
  }
  const m = /^LB-([0-9A-F]{16})$/i.exec(p.advertisement.localName ?? "");
  return m ? { lockId: m[1]!.toLowerCase(), rssi, pairingMode: false } : undefined;
}

/** Strongest first; unknown signal last. */
function strongestFirst(list: Iterable<BleSighting>): BleSighting[] {
  return [...list].sort((a, b) => (b.rssi ?? -999) - (a.rssi ?? -999) || a.lockId.localeCompare(b.lockId));
}

export async function bleScan(central: BleCentral, durationMs: number): Promise<BleSighting[]> {
  const seen = new Map<string, BleSighting>();
  const onDiscover = (p: BlePeripheral) => {
    const s = sightingOf(p);
    if (s) seen.set(s.lockId, s);
  };
  await central.waitForPoweredOnAsync(3000);
  central.on("discover", onDiscover);
  try {
    await central.startScanningAsync([LLP_SERVICE_UUID], true);
    await new Promise((r) => setTimeout(r, durationMs));
    await central.stopScanningAsync();
  } finally {
    central.removeListener("discover", onDiscover);
  }
  return strongestFirst(seen.values());
}

/**
 * The same through a running hub's radio: its scanner scans for the survey's duration (or
 * longer, when one of the hub's BLE locks is being looked for meanwhile) and stops after.
 * Rejects with ble_unavailable when the hub has no usable radio or proxy.
 */
export async function bleSurvey(radio: BleRadio, durationMs: number): Promise<BleSighting[]> {
  await radio.central.waitForPoweredOnAsync(3000);
  const peripherals = await radio.scanner.survey(durationMs);
  return strongestFirst([...peripherals.values()].map(sightingOf).filter((s): s is BleSighting => s !== undefined));
}

/**
 * IDENT one BLE lock over GATT through the radio (a connection of its own, under the radio's
 * connection cap, closed after): its model, firmware, slots and whether it pairs with the
 * setup key. Undefined when it does not answer.
 */
export async function bleIdent(radio: BleRadio, lockId: string, opts: { timeoutMs: number; log: Logger }): Promise<IdentAnswer | undefined> {
  const transport = new BleTransport({ lockId, radio, idleDisconnectMs: 5_000, scanTimeoutMs: 5_000, connectTimeoutMs: 5_000, logger: opts.log });
  await transport.open();
  try {
    const [answer] = await identScan(transport, { addresses: [BLE_ADDR], skip: new Set(), timeoutMs: opts.timeoutMs, log: opts.log });
    return answer;
  } finally {
    await transport.close();
  }
}
