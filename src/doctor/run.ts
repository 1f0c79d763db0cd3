/**
 * Runs every doctor check in order. The config comes first: without a valid one the rest
 * cannot be judged, so an invalid config is the only line (with every error in it).
 */
import { join } from "node:path";
import { z } from "zod";
import { busViewSchema, healthSchema, statusSchema } from "../api/schemas.js";
import { ApiClient } from "../cli/api-client.js";
import { probeBroker } from "../cloud/probe.js";
import { ConfigError, loadConfig, type Config } from "../config/index.js";
import { errorMessage } from "../shared/errors.js";
import { peekLocks, STORE_FILE, type PeekedLock } from "../store/index.js";
import { checkBle, checkClock, checkCommandKey, checkDataDir, checkSerialPorts, checkStore, type CheckResult } from "./checks.js";

/** The outbox is "stuck" when its oldest event waits longer than this while the hub runs. */
const OUTBOX_STUCK_S = 15 * 60;

export interface DoctorOptions {
  configFile?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  let config: Config;
  try {
    config = loadConfig({ file: options.configFile, env: options.env });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return [{ name: "config", status: "fail", detail: `invalid: ${e.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, fix: "fix the named keys (lockbridge config check FILE shows every error)" }];
  }
  return runDoctorChecks(config);
}

/** Every check after the config's, for a config already loaded (the running hub's own, for the console's "run doctor"). */
export async function runDoctorChecks(config: Config): Promise<CheckResult[]> {
  const results: CheckResult[] = [{ name: "config", status: "pass", detail: `valid (hub ${config.hubId})` }];
  const dataDir = checkDataDir(config);
  results.push(...dataDir);
  const dataDirUsable = dataDir[0]?.status !== "fail";
  if (dataDirUsable) results.push(checkStore(config));
  const broker = await probeBroker(config);
  results.push(broker.ok ? { name: "broker", status: "pass", detail: broker.detail } : { name: "broker", status: "fail", detail: broker.detail, fix: broker.fix ?? "check mqtt.url" });
  results.push(checkCommandKey(config));
  results.push(checkClock());
  let locks: PeekedLock[] = [];
  if (dataDirUsable) {
    try {
      locks = peekLocks(join(config.dataDir, STORE_FILE));
    } catch {
      locks = []; // no store yet, or reported by the store check
    }
  }
  results.push(...checkSerialPorts(locks));
  results.push(await checkBle(config, locks));
  results.push(...(await checkRunningHub(config)));
  return results;
}

/** What only the running hub knows: its health, each lock's reachability, the outbox. */
async function checkRunningHub(config: Config): Promise<CheckResult[]> {
  const api = ApiClient.fromConfig(config);
  let health;
  try {
    health = await api.get("/health", healthSchema, [503]);
  } catch (e) {
    return [{ name: "hub", status: "warn", detail: `not running, or its local API does not answer (${errorMessage(e)})`, fix: "start it: sudo systemctl start lockbridge; then journalctl -u lockbridge -e for why it stopped" }];
  }
  const out: CheckResult[] = [];
  out.push(
    health.ready && health.problems.length === 0
      ? { name: "hub", status: "pass", detail: `running, ${health.status}` }
      : { name: "hub", status: health.ready ? "warn" : "fail", detail: `${health.status}: ${health.problems.join("; ") || health.checks.services}`, fix: "see journalctl -u lockbridge -e; the line names what is missing" },
  );
  try {
    const { buses } = await api.get("/api/locks", z.object({ buses: z.array(busViewSchema) }));
    for (const bus of buses) {
      for (const lock of bus.locks) {
        const name = `lock ${lock.lockId}`;
        const where = `${lock.doorNames.join(", ") || "no door"} on ${bus.bus}${lock.address !== null ? ` address ${lock.address}` : ""}`;
        if (lock.state === "replaced") out.push({ name, status: "fail", detail: `${where}: ${lock.alerts[0] ?? "replaced"}`, fix: `lockbridge lock replace ${lock.lockId} ${lock.replacedBy ?? "NEW_LOCKID"}` });
        else if (lock.state !== "commissioned") out.push({ name, status: "warn", detail: `${where}: ${lock.state}`, fix: "commission it again: lockbridge lock commission ..." });
        else if (!lock.online) out.push({ name, status: "fail", detail: `${where}: offline${bus.lastError ? ` (${bus.lastError})` : ""}`, fix: "check the lock's power and wiring (A/B, termination) and its address; lockbridge scan --bus shows who answers" });
        else out.push({ name, status: "pass", detail: `${where}: online` });
      }
    }
    const status = await api.get("/api/status", statusSchema);
    const age = status.outbox.oldestPendingAgeS;
    if (age !== null && age > OUTBOX_STUCK_S) out.push({ name: "outbox", status: "fail", detail: `${status.outbox.pending} events waiting, the oldest for ${Math.round(age / 60)} min`, fix: "the cloud link is down or refusing: see the broker line above and journalctl -u lockbridge" });
    else out.push({ name: "outbox", status: "pass", detail: `${status.outbox.pending} event(s) waiting` });
  } catch (e) {
    out.push({ name: "locks", status: "warn", detail: `cannot read the hub's locks: ${errorMessage(e)}`, fix: "run doctor as the hub's user or with sudo" });
  }
  return out;
}
