/**
 * Provisioning benchmark: a sync.snapshot of 2,000 keys (each: one room + the 2 common doors
 * linked to every room) over 300 simulated locks, through the whole hub (createHub: store,
 * embedded broker, provisioning engine, cloud sync) driven over MQTT as the cloud would.
 *
 * - 298 room locks (device profile rs485-mortise) on 20 RS-485-style buses behind TCP serial
 *   servers at 19,200 baud; 2 common-door controllers (common-door-controller, 5,000 code
 *   slots) each on its own line at 115,200 baud. The simulated far ends honour wire time
 *   (10 bits per byte, request and response) and run in a child process, so the CPU and
 *   memory figures are the hub's alone. The locks are commissioned beforehand (records and
 *   link keys installed in the store), so the measure is the snapshot alone.
 * - Figure: seconds from the first snapshot page sent until the cloud has seen every key's
 *   retained status `active` (every credential on its locks and verified by TABLE_DIGEST).
 * - Baseline: the link-time lower bound for the same frames: per line, the bytes the hub
 *   actually exchanged during the run x 10 bits / baud; the busiest line bounds the whole
 *   (lines run in parallel). Ratio = measured / bound (>= 1, lower is better).
 * - Also: hub CPU seconds (user + system) during the run, peak RSS of the hub process.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import type { KeyStatus } from "../src/access/model.js";
import { CloudClient } from "../src/cloud/index.js";
import { loadConfig } from "../src/config/index.js";
import { createHub } from "../src/hub.js";
import { capabilityBits, loadProfiles, type DeviceProfile } from "../src/profiles/index.js";
import type { ProvisioningService } from "../src/provisioning/service.js";
import { createLogger } from "../src/shared/logger.js";
import { openStore } from "../src/store/index.js";
import type { FleetSpec } from "./support/provisioning-fleet.js";
import type { BenchResult } from "./run.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..");
const KEYS = 2000;
const ROOMS = 298;
const COMMONS = ["lobby", "gym"];
const LOCKS_PER_BUS = 15;
const ROOM_BAUD = 19_200;
const COMMON_BAUD = 115_200;
const KEYS_PER_PAGE = 200;

const simProfile = (p: DeviceProfile, over: { codeSlots?: number } = {}) => ({
  model: p.model,
  firmware: "1.0.0",
  capabilities: capabilityBits(p.capabilities),
  codeSlots: over.codeSlots ?? p.slots.doorCode,
  cardSlots: p.slots.keycard,
  mobileKeySlots: p.slots.smartKey,
  codeMinLen: p.code.minLength,
  codeMaxLen: p.code.maxLength,
});

const localDate = (days: number): string =>
  new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Prague", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(Date.now() + days * 86_400_000));

export async function run(): Promise<BenchResult[]> {
  const profiles = loadProfiles(path.join(ROOT, "device-profiles"));
  const room = profiles.get("rs485-mortise");
  const common = profiles.get("common-door-controller");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lb-bench-prov-"));

  // The fleet: rooms on 19,200-baud lines, each common door on its own 115,200-baud line.
  interface LockSpec { doorId: string; lockId: string; address: number; linkKey: string; profile: DeviceProfile; bus: number }
  const locks: LockSpec[] = [];
  const fleet: FleetSpec = { buses: [] };
  for (let i = 0; i < ROOMS; i++) {
    const bus = Math.floor(i / LOCKS_PER_BUS);
    (fleet.buses[bus] ??= { baud: ROOM_BAUD, locks: [] });
    locks.push({ doorId: `room-${1000 + i}`, lockId: `4c42b0${i.toString(16).padStart(10, "0")}`, address: (i % LOCKS_PER_BUS) + 1, linkKey: randomBytes(16).toString("hex"), profile: room, bus });
  }
  for (const [j, doorId] of COMMONS.entries()) {
    fleet.buses.push({ baud: COMMON_BAUD, locks: [] });
    locks.push({ doorId, lockId: `4c42c0${j.toString(16).padStart(10, "0")}`, address: 1, linkKey: randomBytes(16).toString("hex"), profile: common, bus: fleet.buses.length - 1 });
  }
  for (const l of locks) {
    fleet.buses[l.bus]!.locks.push({ lockId: l.lockId, address: l.address, linkKey: l.linkKey, profile: simProfile(l.profile, l.profile === common ? { codeSlots: 5000 } : {}) });
  }

  const child = spawn(process.execPath, ["--import", "tsx", path.join(HERE, "support", "provisioning-fleet.ts"), JSON.stringify(fleet)], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const ports = await new Promise<number[]>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve((JSON.parse(out.slice(0, nl)) as { ports: number[] }).ports);
    });
    child.once("exit", (code) => reject(new Error(`fleet exited (${code})`)));
  });

  // Pre-commissioned locks: records, link keys and IDENTs in the store.
  const storeFile = path.join(dataDir, "lockbridge.db");
  const store = openStore(storeFile);
  store.transaction(() => {
    for (const l of locks) {
      const sp = simProfile(l.profile, l.profile === common ? { codeSlots: 5000 } : {});
      store.locks.upsert({ lockId: l.lockId, profileId: l.profile.id, link: { type: "tcp", host: "127.0.0.1", port: ports[l.bus]!, address: l.address } });
      store.locks.setLinkKey(l.lockId, Buffer.from(l.linkKey, "hex"));
      store.locks.setIdent(l.lockId, { protocolVersion: 1, lockId: l.lockId, ...sp });
      store.locks.setState(l.lockId, "commissioned");
    }
  });
  store.close();

  const silent = createLogger({ level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });
  const config = loadConfig({ env: { LOCKBRIDGE_DATA_DIR: dataDir, LOCKBRIDGE_MQTT_EMBEDDED_PORT: "0", LOCKBRIDGE_BLE_ENABLED: "false", LOCKBRIDGE_OUTBOX_MAX_EVENTS: "1000000" } });
  const hub = createHub(config, silent);
  await hub.start();
  const provisioning = hub.services.find((s) => s.name === "provisioning") as ProvisioningService;
  const engine = provisioning.engine!;
  const cloud = await CloudClient.connect({ url: hub.brokerUrl!, hubId: config.hubId });
  try {
    // Every lock answered and verified its (empty) tables before the clock starts.
    const warmDeadline = Date.now() + 120_000;
    while (!engine.idle || engine.fleet.lockIds().some((id) => engine.statuses.lockStatus(id)?.online !== true)) {
      if (Date.now() > warmDeadline) throw new Error("locks did not come online");
      await new Promise((r) => setTimeout(r, 100));
    }

    const states = new Map<string, string>();
    cloud.onMessage((m) => {
      const prefix = `${cloud.topics.base}/status/keys/`;
      if (m.topic.startsWith(prefix) && m.payload && typeof m.payload === "object") states.set(m.topic.slice(prefix.length), (m.payload as KeyStatus).state);
    });
    await cloud.watch([`${cloud.topics.base}/status/keys/+`]);

    const doors = [
      ...COMMONS.map((d) => ({ doorId: d, name: d, lockId: locks.find((l) => l.doorId === d)!.lockId, kind: "common", linkedDoorIds: [], protectConfiguration: false })),
      ...locks.filter((l) => l.profile === room).map((l) => ({ doorId: l.doorId, name: l.doorId, lockId: l.lockId, kind: "room", linkedDoorIds: COMMONS, protectConfiguration: false })),
    ];
    const keys = Array.from({ length: KEYS }, (_, i) => ({
      keyId: `k-${i}`,
      version: 1,
      source: "pms",
      pms: { provider: "mews", reservationId: `R-${i}` },
      checkedIn: true,
      doors: [{ doorId: `room-${1000 + (i % ROOMS)}`, accessPeriod: { from: localDate(-1), to: localDate(3) }, arrivalTime: "00:00", departureTime: "11:00", allowProvisioning: true, allowLinkedDoorsAccess: true }],
      doorCode: { enabled: true, assignment: "random" },
      keycard: { enabled: false },
      smartKey: { enabled: false },
    }));
    const pages = Math.ceil(KEYS / KEYS_PER_PAGE);
    const site = { siteId: "bench", timezone: "Europe/Prague", credentialTypes: { doorCode: true, keycard: true, smartKey: true }, doorCodeLength: 6 };

    const bytesBefore = new Map(provisioning.transports().map((t) => [t.target, t.bytesIn + t.bytesOut]));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let applied: Record<string, unknown> | undefined;
    for (let page = 1; page <= pages; page++) {
      const payload = {
        cmd: "sync.snapshot",
        snapshotId: "bench-1",
        page,
        pages,
        ...(page === 1 ? { site, doors } : {}),
        keys: keys.slice((page - 1) * KEYS_PER_PAGE, page * KEYS_PER_PAGE),
      };
      if (Buffer.byteLength(JSON.stringify(payload)) > 128 * 1024) throw new Error(`page ${page} exceeds 128 KiB`);
      const r = await cloud.send(payload, { timeoutMs: 300_000 });
      if (!r?.ok) throw new Error(`snapshot page ${page}: ${JSON.stringify(r)}`);
      applied = r.result as Record<string, unknown>;
    }
    const tApplied = performance.now();
    const deadline = Date.now() + 600_000;
    while ([...states.values()].filter((s) => s === "active").length < KEYS) {
      if (Date.now() > deadline) throw new Error(`only ${[...states.values()].filter((s) => s === "active").length} of ${KEYS} keys active`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const peakRssMb = process.resourceUsage().maxRSS / 1024;

    // Link-time lower bound of the frames exchanged: the busiest line.
    const baudOf = new Map(ports.map((p, i) => [`127.0.0.1:${p}`, fleet.buses[i]!.baud]));
    let bound = 0;
    let busiest = "";
    for (const t of provisioning.transports()) {
      const bytes = t.bytesIn + t.bytesOut - (bytesBefore.get(t.target) ?? 0);
      const baud = baudOf.get(t.target);
      if (baud === undefined) continue;
      const s = (bytes * 10) / baud;
      if (s > bound) {
        bound = s;
        busiest = `${t.target} ${bytes} B at ${baud} baud`;
      }
    }
    const credentials = KEYS * 3;
    return [
      {
        name: `provisioning: sync.snapshot ${KEYS.toLocaleString("en")} keys (room + 2 linked common doors) over ${locks.length} locks -> every key active`,
        value: seconds,
        unit: "s",
        baseline: { value: bound, unit: "s", name: "link-time lower bound of the same frames" },
        note: `ratio = measured / bound, lower is better; ${credentials} credentials; snapshot applied in ${((tApplied - t0) / 1000).toFixed(1)} s (${JSON.stringify({ added: applied?.added })}); busiest line ${busiest}`,
      },
      { name: "provisioning: hub CPU during that snapshot (user + system)", value: (cpu.user + cpu.system) / 1e6, unit: "s" },
      { name: "provisioning: hub peak RSS", value: peakRssMb, unit: "MB", note: "hub process only; locks simulated in a child process" },
    ];
  } finally {
    await cloud.close().catch(() => undefined);
    await hub.stop().catch(() => undefined);
    child.stdin.end();
    await new Promise((r) => child.once("exit", r));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
