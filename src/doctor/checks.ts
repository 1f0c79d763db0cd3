/**
 * `lockbridge doctor`'s checks: each looks at one thing an installer can get wrong and says
 * pass, warn or fail, with the fix for that line. Checks never change anything.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, statfsSync, statSync } from "node:fs";
import { createConnection } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";
import type { Config } from "../config/index.js";
import { errorMessage } from "../shared/errors.js";
import { inspectDatabaseFile, SCHEMA_VERSION, STORE_FILE, type PeekedLock } from "../store/index.js";

export type CheckStatus = "pass" | "warn" | "fail";

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do; required for warn and fail. */
  fix?: string;
}

const pass = (name: string, detail: string): CheckResult => ({ name, status: "pass", detail });
const warn = (name: string, detail: string, fix: string): CheckResult => ({ name, status: "warn", detail, fix });
const fail = (name: string, detail: string, fix: string): CheckResult => ({ name, status: "fail", detail, fix });

const FREE_DISK_WARN = 500 * 1024 * 1024;
const FREE_DISK_FAIL = 50 * 1024 * 1024;

export function checkDataDir(config: Config): CheckResult[] {
  const dir = config.dataDir;
  const name = "data dir";
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return [warn(name, `${dir} does not exist yet`, "start the hub once (it creates it), or create it owned by the hub's user with mode 0700")];
    return [fail(name, `${dir}: ${code === "EACCES" ? "permission denied" : errorMessage(e)}`, `run doctor as the hub's user (sudo -u lockbridge lockbridge doctor) or with sudo; the hub's user must own ${dir}`)];
  }
  if (!st.isDirectory()) return [fail(name, `${dir} is not a directory`, "point dataDir (LOCKBRIDGE_DATA_DIR) at a directory")];
  const out: CheckResult[] = [];
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    return [fail(name, `${dir} is not readable and writable by ${userInfo().username}`, `run doctor as the hub's user (sudo -u lockbridge lockbridge doctor), or give that user the directory: sudo chown -R lockbridge: ${dir}`)];
  }
  // The store holds link keys: nobody but the hub's user may read it.
  if ((st.mode & 0o077) !== 0) out.push(warn(name, `${dir} is mode ${(st.mode & 0o777).toString(8)}: others can look inside`, `chmod 700 ${dir}`));
  else out.push(pass(name, `${dir} (owner uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`));
  try {
    const fs = statfsSync(dir);
    const free = fs.bavail * fs.bsize;
    const mb = Math.round(free / 1024 / 1024);
    if (free < FREE_DISK_FAIL) out.push(fail("free disk", `${mb} MB free on the data dir's disk`, "free space: the store cannot commit key changes when the disk is full"));
    else if (free < FREE_DISK_WARN) out.push(warn("free disk", `${mb} MB free on the data dir's disk`, "free space soon (old backups, logs: journalctl --vacuum-size=100M)"));
    else out.push(pass("free disk", `${mb} MB free`));
  } catch (e) {
    out.push(warn("free disk", `cannot tell: ${errorMessage(e)}`, "check with df -h"));
  }
  return out;
}

export function checkStore(config: Config): CheckResult {
  const path = join(config.dataDir, STORE_FILE);
  if (!existsSync(path)) return warn("store", `no store yet at ${path}`, "start the hub once: it creates the store");
  try {
    const found = inspectDatabaseFile(path, SCHEMA_VERSION);
    return found.kind === "new" ? warn("store", `${path} is empty`, "start the hub once: it creates the store") : pass("store", `${path} passes its integrity check (schema ${found.schemaVersion})`);
  } catch (e) {
    return fail("store", errorMessage(e), "stop the hub, keep the file for inspection, and restore the latest backup (lockbridge store backup makes them)");
  }
}

export function checkCommandKey(config: Config): CheckResult {
  const name = "command key";
  if (config.cloud.commandPublicKey !== undefined) return pass(name, "cloud.commandPublicKey set: door.unlock, decommission and firmware need the cloud's signature");
  if (config.mqtt.url === undefined) return warn(name, "no command key (fine for the embedded demo broker only)", "set cloud.commandPublicKey (LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY) before connecting to the cloud");
  if (config.cloud.allowUnsignedCommands) return warn(name, "no cloud command key, and cloud.allowUnsignedCommands lets any client of the broker send commands (open doors)", "set cloud.commandPublicKey and remove cloud.allowUnsignedCommands");
  return fail(name, "no cloud command key: the hub refuses to start without one on a cloud broker", "set cloud.commandPublicKey (LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY) to the cloud's Ed25519 public key (PEM file path or base64)");
}

export function checkClock(run: typeof spawnSync = spawnSync): CheckResult {
  const name = "clock";
  const r = run("timedatectl", ["show", "-p", "NTPSynchronized", "--value"], { encoding: "utf8", timeout: 3000 });
  const answer = typeof r.stdout === "string" ? r.stdout.trim() : "";
  if (answer === "yes") return pass(name, "synchronised (NTP)");
  if (answer === "no") return warn(name, "not synchronised: lock clocks, access periods and signed commands depend on it", "enable time sync: sudo timedatectl set-ntp true (and allow NTP through the firewall)");
  return warn(name, "cannot tell whether the clock is synchronised (no timedatectl)", "check the hub's time sync (chrony, systemd-timesyncd)");
}

export function checkSerialPorts(locks: readonly PeekedLock[]): CheckResult[] {
  const ports = [...new Set(locks.filter((l) => l.link.type === "serial").map((l) => (l.link as { path: string }).path))].sort();
  return ports.map((path) => {
    const name = `serial ${path}`;
    if (!existsSync(path)) return fail(name, `missing serial device ${path} (${locks.filter((l) => l.link.type === "serial" && l.link.path === path).length} lock(s) use it)`, `plug the USB-RS485 adapter in; list what is there with lockbridge scan (ls -l /dev/serial/by-id); use the by-id path so it survives a reboot`);
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
      return pass(name, "present and accessible");
    } catch {
      return fail(name, `${path} is not accessible to ${userInfo().username}`, "add the hub's user to the dialout group: sudo usermod -aG dialout lockbridge (the unit's SupplementaryGroups=dialout does it for the service)");
    }
  });
}

export async function checkBle(config: Config, locks: readonly PeekedLock[]): Promise<CheckResult> {
  const name = "BLE";
  const bleLocks = locks.filter((l) => l.link.type === "ble").length;
  if (!config.ble.enabled) return bleLocks > 0 ? fail(name, `BLE is disabled but ${bleLocks} lock(s) use it`, "set ble.enabled: true") : pass(name, "disabled (no BLE locks)");
  if (config.ble.proxy) {
    const { host, port } = config.ble.proxy;
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host, port, timeout: 3000 }, () => (s.destroy(), resolve(true)));
      s.on("error", () => resolve(false));
      s.on("timeout", () => (s.destroy(), resolve(false)));
    });
    return ok ? pass(name, `BLE proxy ${host}:${port} answers`) : fail(name, `BLE proxy ${host}:${port} does not answer`, "check the proxy's power and network, and ble.proxy");
  }
  let adapters: string[] = [];
  try {
    adapters = readdirSync("/sys/class/bluetooth").filter((a) => a.startsWith("hci"));
  } catch {
    adapters = [];
  }
  if (adapters.length === 0) {
    const detail = "no BLE adapter (no /sys/class/bluetooth/hci*)";
    const fix = "plug a Bluetooth adapter in, or unblock it (rfkill unblock bluetooth), or set ble.proxy; set ble.enabled: false if the property has no BLE locks";
    return bleLocks > 0 ? fail(name, `${detail}, and ${bleLocks} lock(s) use BLE`, fix) : warn(name, detail, fix);
  }
  return pass(name, `adapter ${adapters.join(", ")}`);
}
