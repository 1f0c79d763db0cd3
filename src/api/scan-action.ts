/**
 * The console's "scan a bus": IDENT on each address of a TCP serial server or a serial port,
 * skipping the addresses of locks this hub already has on that bus (a scan never talks to a
 * commissioned lock), as `lockbridge scan --bus` does (src/scan). What answers is a hint to
 * commission, never trusted as is: commissioning checks the lockId again.
 * A serial port the hub itself holds cannot be opened twice: the answer says so.
 */
import { loadProfiles } from "../profiles/index.js";
import { identScan, parseAddressRange, type IdentAnswer } from "../scan/ident-scan.js";
import { errorMessage, LockBridgeError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { SerialTransport } from "../transport/serial.js";
import { TcpTransport } from "../transport/tcp.js";
import type { Transport } from "../transport/types.js";
import type { HubView } from "./hub-view.js";
import { busOf } from "./read-models.js";

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
