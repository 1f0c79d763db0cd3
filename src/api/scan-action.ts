/**
 * The console's "scan a bus": IDENT on each address of a TCP serial server or a serial port,
 * skipping the addresses of locks this hub already has on that bus (a scan never talks to a
 * commissioned lock), as `lockbridge scan --bus` does (src/scan). What answers is a hint to
 * commission, never trusted as is: commissioning checks the lockId again.
 * A serial port the hub itself holds cannot be opened twice: the answer says so.
 * "Scan for BLE locks" listens through the hub's own radio (or BLE proxy), shared with its BLE
 * locks, and IDENTs each lock heard that is not the hub's (IDENT is unsealed and changes nothing).
 */
import { loadProfiles } from "../profiles/index.js";
import { bleIdent, bleSurvey } from "../scan/ble-scan.js";
import { identScan, parseAddressRange, type IdentAnswer } from "../scan/ident-scan.js";
import { errorMessage, LockBridgeError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { SerialTransport } from "../transport/serial.js";
import { TcpTransport } from "../transport/tcp.js";
import type { Transport } from "../transport/types.js";
import type { HubView } from "./hub-view.js";
import { busOf, signalQuality } from "./read-models.js";

export interface ScanRequest {
  link: { type: "tcp"; host: string; port: number } | { type: "serial"; path: string };
  profile?: string | undefined;
  addresses: string;
  timeoutMs: number;
}

export interface ScanResult {
  bus: string;
  found: IdentAnswer[];
  skipped: number[];
  probed: number;
}

export async function scanBus(hub: HubView, req: ScanRequest, log: Logger, step: (text: string) => void): Promise<ScanResult> {
  let addresses: number[];
  try {
    addresses = parseAddressRange(req.addresses);
  } catch (e) {
    throw new LockBridgeError("invalid_payload", `addresses: ${errorMessage(e)}`, "addresses");
  }
  let transport: Transport;
  let bus: string;
  if (req.link.type === "tcp") {
    transport = new TcpTransport({ host: req.link.host, port: req.link.port, logger: log });
    bus = `tcp ${req.link.host}:${req.link.port}`;
  } else {
    if (req.profile === undefined) throw new LockBridgeError("invalid_payload", "a serial port needs the profile (its line settings: baud rate, parity)", "profile");
    const profile = loadProfiles(hub.config.profilesDir).get(req.profile);
    if (!profile.serial) throw new LockBridgeError("invalid_payload", `profile ${req.profile} is not a serial lock`, "profile");
    transport = new SerialTransport({ path: req.link.path, serial: profile.serial, logger: log });
    bus = `serial ${req.link.path}`;
  }
  const store = hub.store();
  const skip = new Set<number>();
  for (const lock of store?.locks.list() ?? []) {
    const where = busOf(lock);
    if (where.bus === bus && where.address !== null) skip.add(where.address);
  }
  step(`opening ${bus}`);
  await transport.open();
  const status = transport.status();
  if (status.state !== "open") {
    await transport.close();
    const busy = /lock|busy|EBUSY/i.test(status.lastError ?? "");
    throw new LockBridgeError("lock_offline", `cannot open ${bus}: ${status.lastError ?? status.state}${busy ? " (the hub holds this port for its locks: scan it with the hub stopped, lockbridge scan --bus)" : ""}`);
  }
  if (skip.size > 0) step(`skipping address${skip.size === 1 ? "" : "es"} ${[...skip].sort((a, b) => a - b).join(", ")}: locks this hub already has`);
  try {
    const found = await identScan(transport, { addresses, skip, timeoutMs: req.timeoutMs, log, onProgress: (a) => (a % 8 === 1 ? step(`probing address ${a}…`) : undefined) });
    step(`${found.length} lock${found.length === 1 ? "" : "s"} answered`);
    return { bus, found, skipped: [...skip].sort((a, b) => a - b), probed: addresses.filter((a) => !skip.has(a)).length };
  } finally {
    await transport.close();
  }
}

export interface BleFound {
  lockId: string;
  /** dBm of its last advertisement, with the Property page's quality words; null: not reported. */
  rssi: number | null;
  quality: ReturnType<typeof signalQuality> | null;
  /** The lock advertises pairing mode (its button was pressed). */
  pairingMode: boolean;
  /** Its IDENT answer over GATT (model, firmware, slots, setup key needed); null when it did not answer. */
  ident: Omit<IdentAnswer, "address"> | null;
}

export interface BleScanResult {
  bus: "ble";
  found: BleFound[];
  /** Locks heard that this hub already has (never IDENTed), with their signal. */
  skipped: { lockId: string; rssi: number | null }[];
  seconds: number;
}

export async function scanBle(hub: HubView, req: { seconds: number; timeoutMs: number }, log: Logger, step: (text: string) => void): Promise<BleScanResult> {
  const radio = hub.bleRadio?.();
  if (!radio) throw new LockBridgeError("ble_unavailable", "this hub has no BLE radio running (BLE scanning needs the hub's provisioning service)");
  const own = new Set((hub.store()?.locks.list() ?? []).map((l) => l.lockId));
  step(`listening for BLE locks for ${req.seconds} s`);
  const heard = await bleSurvey(radio, req.seconds * 1000);
  const skipped = heard.filter((s) => own.has(s.lockId)).map((s) => ({ lockId: s.lockId, rssi: s.rssi }));
  const fresh = heard.filter((s) => !own.has(s.lockId));
  step(`${heard.length} BLE lock${heard.length === 1 ? "" : "s"} heard${skipped.length > 0 ? `, ${skipped.length} of them this hub's` : ""}`);
  const found: BleFound[] = [];
  for (const s of fresh) {
    step(`asking ${s.lockId} who it is (IDENT over BLE)`);
    const answer = await bleIdent(radio, s.lockId, { timeoutMs: req.timeoutMs, log }).catch((e: unknown) => {
      log.debug({ lockId: s.lockId, err: errorMessage(e) }, "BLE IDENT failed");
      return undefined;
    });
    if (!answer) step(`${s.lockId} did not answer IDENT (out of reach, or connected to another central)`);
    const ident = answer ? (({ address: _address, ...rest }) => rest)(answer) : null;
    found.push({ lockId: s.lockId, rssi: s.rssi, quality: s.rssi === null ? null : signalQuality(s.rssi), pairingMode: s.pairingMode, ident });
  }
  return { bus: "ble", found, skipped, seconds: req.seconds };
}
