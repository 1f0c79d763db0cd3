/** Serial ports the OS sees, with their USB vendor and product (SerialPort.list). */
import { readdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { SerialPort } from "serialport";

export interface SerialPortInfo {
  path: string;
  manufacturer: string | null;
  vendorId: string | null;
  productId: string | null;
  serialNumber: string | null;
  /** /dev/serial/by-id/... when udev made one: survives reboots and re-plugging. */
  byId: string | null;
}

export async function listSerialPorts(): Promise<SerialPortInfo[]> {
  let ports: Awaited<ReturnType<typeof SerialPort.list>>;
  try {
    ports = await SerialPort.list();
  } catch {
    // No udevadm (a minimal container): the device nodes are still there to list.
    return devNodes();
  }
  return ports.map((p) => {
    const pnp = p.pnpId;
    return {
      path: p.path,
      manufacturer: p.manufacturer ?? null,
      vendorId: p.vendorId ?? null,
      productId: p.productId ?? null,
      serialNumber: p.serialNumber ?? null,
      byId: pnp !== undefined && pnp !== "" ? `/dev/serial/by-id/${pnp}` : null,
    };
  });
}

function devNodes(): SerialPortInfo[] {
  let names: string[] = [];
  try {
    names = readdirSync("/dev").filter((n) => /^tty(USB|ACM|AMA)\d+$/.test(n));
  } catch {
    names = [];
  }
  const byId = new Map<string, string>();
  try {
    for (const link of readdirSync("/dev/serial/by-id")) byId.set(realpathSync(join("/dev/serial/by-id", link)), join("/dev/serial/by-id", link));
  } catch {
    // no udev links
  }
  return names.sort().map((n) => ({ path: `/dev/${n}`, manufacturer: null, vendorId: null, productId: null, serialNumber: null, byId: byId.get(`/dev/${n}`) ?? null }));
}
