/**
 * `lockbridge scan`: serial ports with their USB ids; with --bus, the locks answering IDENT
 * on a serial port or serial server (addresses of the hub's own locks skipped); with --ble,
 * locks advertising nearby. Everything found is a hint to commission, never trusted as is.
 */
import { join } from "node:path";
import { z } from "zod";
import { busViewSchema } from "../api/schemas.js";
import { loadConfig, type Config } from "../config/index.js";
import { loadProfiles } from "../profiles/index.js";
import { bleScan } from "../scan/ble-scan.js";
import { identScan, parseAddressRange } from "../scan/ident-scan.js";
import { listSerialPorts } from "../scan/serial-ports.js";
import { errorMessage, LockBridgeError } from "../shared/errors.js";
import { createLogger } from "../shared/logger.js";
import { peekLocks, STORE_FILE } from "../store/index.js";
import { createNobleCentral } from "../transport/ble/noble-central.js";
import { ProxyCentral } from "../transport/ble/proxy-central.js";
import type { BleCentral } from "../transport/ble/central.js";
import { SerialTransport } from "../transport/serial.js";
import { TcpTransport } from "../transport/tcp.js";
import type { Transport } from "../transport/types.js";
import { ApiClient } from "./api-client.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { outOf, table, type Out } from "./output.js";
import { CliUsageError, parseCli } from "./property-commands.js";

export async function scanCommand(args: string[], out: Out = outOf(process.stdout), err: Out = outOf(process.stderr)): Promise<ExitCode> {
  const { values } = parseCli("scan", args, { bus: { type: "string" }, addresses: { type: "string" }, profile: { type: "string" }, timeout: { type: "string" }, ble: { type: "boolean" }, seconds: { type: "string" } });
  const config = loadConfig({ file: typeof values.config === "string" ? values.config : undefined, env: process.env });
  const log = createLogger({ level: "silent" });
  if (typeof values.bus === "string") return busScan(config, values, out, err);
  if (values.ble === true) return bleCommand(config, Number(values.seconds ?? 5), out, log);
  const ports = await listSerialPorts();
  if (values.json) {
    out.write(`${JSON.stringify(ports, null, 2)}\n`);
    return EXIT.ok;
  }
  if (ports.length === 0) out.write("no serial ports found (plug the USB-RS485 adapter in; dmesg | tail shows whether the kernel saw it)\n");
  else out.write(table(["PORT", "USB VENDOR:PRODUCT", "MANUFACTURER", "SERIAL", "STABLE PATH"], ports.map((p) => [p.path, p.vendorId ? `${p.vendorId}:${p.productId ?? "?"}` : "-", p.manufacturer ?? "-", p.serialNumber ?? "-", p.byId ?? "-"])));
  out.write("\nNext: lockbridge scan --bus PORT --profile PROFILE (locks answering on it), lockbridge scan --ble (BLE locks nearby)\n");
  return EXIT.ok;
}

async function busScan(config: Config, values: Record<string, unknown>, out: Out, err: Out): Promise<ExitCode> {
  const bus = String(values.bus);
  let addresses: number[];
  try {
    addresses = parseAddressRange(typeof values.addresses === "string" ? values.addresses : "1-32");
  } catch (e) {
    throw new CliUsageError(`scan --addresses: ${errorMessage(e)}`);
  }
  const timeoutMs = Number(values.timeout ?? 300);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 20 || timeoutMs > 10_000) throw new CliUsageError("scan --timeout: expected milliseconds per address, 20..10000");
  const log = createLogger({ level: "silent" });
  const tcp = /^\[?([^\]/]+?)\]?:(\d{1,5})$/.exec(bus);
  let transport: Transport;
  let busName: string;
  if (tcp) {
    transport = new TcpTransport({ host: tcp[1]!, port: Number(tcp[2]), logger: log });
    busName = `tcp ${tcp[1]}:${tcp[2]}`;
  } else {
    const profileId = typeof values.profile === "string" ? values.profile : undefined;
    if (profileId === undefined) throw new CliUsageError("scan --bus on a serial port needs --profile (its line settings: baud rate, parity)");
    const profile = loadProfiles(config.profilesDir).get(profileId);
    if (!profile.serial) throw new CliUsageError(`scan: profile ${profileId} is not a serial lock`);
    transport = new SerialTransport({ path: bus, serial: profile.serial, logger: log });
    busName = `serial ${bus}`;
  }
  const skip = await knownAddresses(config, busName);
  await transport.open();
  const status = transport.status();
  if (status.state !== "open") {
    await transport.close();
    const busy = /lock|busy|EBUSY/i.test(status.lastError ?? "");
    throw new LockBridgeError("lock_offline", `cannot open ${bus}: ${status.lastError ?? status.state}${busy ? " (the hub holds this port: stop it to scan, sudo systemctl stop lockbridge)" : ""}`);
  }
  if (skip.size > 0) err.write(`skipping address${skip.size === 1 ? "" : "es"} ${[...skip].sort((a, b) => a - b).join(", ")}: locks this hub already has\n`);
  let found;
  try {
    found = await identScan(transport, { addresses, skip, timeoutMs, log, onProgress: (a) => (err.tty ? err.write(`\r\x1b[Kprobing address ${a}…`) : undefined) });
  } finally {
    if (err.tty) err.write("\r\x1b[K");
    await transport.close();
  }
  if (values.json) {
    out.write(`${JSON.stringify(found, null, 2)}\n`);
    return EXIT.ok;
  }
  if (found.length === 0) {
    out.write(`no lock answered on ${busName} at ${addresses.length - skip.size} address(es) (check wiring A/B, termination, baud rate: the profile's serial settings)\n`);
    return EXIT.ok;
  }
  out.write(table(["ADDR", "LOCK", "MODEL", "FIRMWARE", "SLOTS (code/card/mobile)", "PAIRING"], found.map((f) => [String(f.address), f.lockId, f.model, f.firmware, `${f.slots.doorCode}/${f.slots.keycard}/${f.slots.smartKey}`, f.needsSetupKey ? "setup key (label)" : "PAIR"])));
  const linkArg = tcp ? `--tcp ${tcp[1]}:${tcp[2]}` : `--serial ${bus}`;
  out.write(`\nCommission one with: lockbridge lock commission ${found[0]!.lockId} --profile PROFILE ${linkArg} --address ${found[0]!.address}\n`);
  return EXIT.ok;
}

/** Addresses the hub already uses on this bus: from the running hub, else from its store. */
async function knownAddresses(config: Config, busName: string): Promise<Set<number>> {
  try {
    const { buses } = await ApiClient.fromConfig(config).get("/api/locks", z.object({ buses: z.array(busViewSchema) }));
    return new Set(buses.filter((b) => b.bus === busName).flatMap((b) => b.locks.map((l) => l.address).filter((a): a is number => a !== null)));
  } catch {
    try {
      const locks = peekLocks(join(config.dataDir, STORE_FILE));
      const addrs = locks.map((l) => {
        const link = l.link;
        const name = link.type === "serial" ? `serial ${link.path}` : link.type === "tcp" ? `tcp ${link.host}:${link.port}` : "ble";
        return name === busName && link.type !== "ble" ? link.address : undefined;
      });
      return new Set(addrs.filter((a): a is number => a !== undefined));
    } catch {
      return new Set();
    }
  }
}

async function bleCommand(config: Config, seconds: number, out: Out, log: ReturnType<typeof createLogger>): Promise<ExitCode> {
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 60) throw new CliUsageError("scan --seconds: expected 1..60");
  let central: BleCentral;
  try {
    central = config.ble.proxy ? new ProxyCentral({ host: config.ble.proxy.host, port: config.ble.proxy.port, logger: log }) : await createNobleCentral({ logger: log });
  } catch (e) {
    out.write(`no BLE adapter: ${errorMessage(e)} (plug one in or unblock it: rfkill unblock bluetooth; or set ble.proxy)\n`);
    return EXIT.failure;
  }
  try {
    const found = await bleScan(central, seconds * 1000);
    if (found.length === 0) out.write(`no LockBridge BLE lock advertising nearby in ${seconds} s\n`);
    else out.write(table(["LOCK", "RSSI", "PAIRING MODE"], found.map((f) => [f.lockId, f.rssi === null ? "?" : `${f.rssi} dBm`, f.pairingMode ? "yes" : "no"])));
    return EXIT.ok;
  } catch (e) {
    out.write(`no BLE adapter: ${errorMessage(e)} (plug one in or unblock it: rfkill unblock bluetooth; or set ble.proxy)\n`);
    return EXIT.failure;
  } finally {
    await central.close().catch(() => undefined);
  }
}
