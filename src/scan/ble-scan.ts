/**
 * LLP locks advertising nearby (lock-link-protocol.md: local name LB-<lockId>, manufacturer
 * data 0xFFFF || lockId || STATUS flags), with RSSI and pairing mode, for a few seconds.
 */
import { StatusFlag } from "../protocol/llp/constants.js";
import type { BleCentral, BlePeripheral } from "../transport/ble/central.js";
import { LLP_SERVICE_UUID } from "../transport/ble/central.js";

export interface BleSighting {
  lockId: string;
  rssi: number;
  pairingMode: boolean;
}

export function sightingOf(p: BlePeripheral): BleSighting | undefined {
  const data = p.advertisement.manufacturerData;
  if (data && data.length >= 11 && data[0] === 0xff && data[1] === 0xff) {
    return { lockId: data.subarray(2, 10).toString("hex"), rssi: p.rssi, pairingMode: (data[10]! & StatusFlag.PAIRING_MODE) !== 0 };
  }
  const m = /^LB-([0-9A-F]{16})$/i.exec(p.advertisement.localName ?? "");
  return m ? { lockId: m[1]!.toLowerCase(), rssi: p.rssi, pairingMode: false } : undefined;
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
  return [...seen.values()].sort((a, b) => b.rssi - a.rssi);
}
