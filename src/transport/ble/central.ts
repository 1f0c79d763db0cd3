/**
 * The part of a BLE central the LLP BLE transport uses: the noble subset (scan, connect,
 * MTU, discover the LLP service's RX/TX characteristics, write-with-response on RX,
 * notify on TX, disconnect). Shaped like @abandonware/noble so NobleCentral passes noble's
 * peripherals through almost unchanged, and so a stand-in (sim/ble/stand-in-central.ts)
 * or the BLE proxy client (proxy-central.ts) can drive the real transport above the radio.
 *
 * UUIDs are in noble's form: lower-case hex without dashes.
 */
import { LockBridgeError } from "../../shared/errors.js";

/** lock-link-protocol.md §6, in noble's UUID form. */
export const LLP_SERVICE_UUID = "4c4b00016c624c4c800000805f9b34fb";
export const LLP_RX_UUID = "4c4b00026c624c4c800000805f9b34fb";
export const LLP_TX_UUID = "4c4b00036c624c4c800000805f9b34fb";
/** Manufacturer data company id (LE) used by LLP locks: 0xFFFF || lockId(8) || STATUS flags. */
export const LLP_COMPANY_ID = 0xffff;
/** ATT MTU before/without an exchange: 23, so a write carries 20 bytes. */
export const DEFAULT_ATT_MTU = 23;

export type BleRadioState = "unknown" | "resetting" | "unsupported" | "unauthorized" | "poweredOff" | "poweredOn";

export interface BleAdvertisement {
  /** `LB-` + lockId in 16 upper-case hex digits. */
  localName?: string | undefined;
  /** 0xFF 0xFF || lockId (8) || STATUS flags (1). */
  manufacturerData?: Buffer | undefined;
  serviceUuids?: string[] | undefined;
}

export interface BleCharacteristic {
  readonly uuid: string;
  /** RX: the transport always writes with response (withoutResponse = false). */
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>;
  /** TX: enable notifications; data then arrives as 'data' events. */
  subscribeAsync(): Promise<void>;
  on(event: "data", listener: (data: Buffer, isNotification: boolean) => void): unknown;
  removeListener(event: "data", listener: (data: Buffer, isNotification: boolean) => void): unknown;
}

export interface BlePeripheral {
  /** Stable per peripheral for this central (noble: the address/uuid). */
  readonly id: string;
  readonly advertisement: BleAdvertisement;
  /** dBm of the last advertisement seen (noble: 127 when unknown). */
  readonly rssi: number;
  /** Read the signal strength of the live connection (noble's updateRssiAsync); absent on a proxy, whose rssi is updated at connect. */
  updateRssiAsync?(): Promise<number>;
  /** ATT MTU once connected; null before. */
  readonly mtu: number | null;
  connectAsync(): Promise<void>;
  disconnectAsync(): Promise<void>;
  discoverSomeServicesAndCharacteristicsAsync(
    serviceUuids: string[],
    characteristicUuids: string[],
  ): Promise<{ characteristics: BleCharacteristic[] }>;
  /** Emitted when the link drops, whoever dropped it. */
  on(event: "disconnect", listener: () => void): unknown;
  removeListener(event: "disconnect", listener: () => void): unknown;
}

export interface BleCentral {
  /** Resolves once the radio is powered on; rejects with LockBridgeError `ble_unavailable` otherwise. */
  waitForPoweredOnAsync(timeoutMs?: number): Promise<void>;
  startScanningAsync(serviceUuids?: string[], allowDuplicates?: boolean): Promise<void>;
  stopScanningAsync(): Promise<void>;
  on(event: "discover", listener: (peripheral: BlePeripheral) => void): unknown;
  removeListener(event: "discover", listener: (peripheral: BlePeripheral) => void): unknown;
  /** Release the radio / proxy connection. */
  close(): Promise<void>;
}

/** The name a lock advertises: `LB-` + 16 upper-case hex digits of its lockId. */
export function advertisedName(lockIdHex: string): string {
  return `LB-${lockIdHex.toUpperCase()}`;
}

/** The lockId (16 lower-case hex) an advertisement names, by local name or manufacturer data; undefined if not an LLP lock. */
export function lockIdFromAdvertisement(adv: BleAdvertisement): string | undefined {
  const name = adv.localName;
  if (name && /^LB-[0-9A-Fa-f]{16}$/.test(name)) return name.slice(3).toLowerCase();
  const md = adv.manufacturerData;
  if (md && md.length >= 10 && md.readUInt16LE(0) === LLP_COMPANY_ID) return md.subarray(2, 10).toString("hex");
  return undefined;
}

/** STATUS flags byte from manufacturer data, when present. */
export function statusFlagsFromAdvertisement(adv: BleAdvertisement): number | undefined {
  const md = adv.manufacturerData;
  return md && md.length >= 11 && md.readUInt16LE(0) === LLP_COMPANY_ID ? md[10] : undefined;
}

/** A usable RSSI reading: noble reports 127 for "not available"; real readings run about -127..+20 dBm. */
export function validRssi(rssi: unknown): rssi is number {
  return typeof rssi === "number" && Number.isFinite(rssi) && rssi >= -127 && rssi <= 20;
}

export function bleUnavailable(message: string, cause?: unknown): LockBridgeError {
  return new LockBridgeError("ble_unavailable", message, undefined, cause === undefined ? undefined : { cause: String(cause) });
}
