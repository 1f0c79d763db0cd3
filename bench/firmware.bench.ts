/**
 * Firmware benchmark (issue 15): a 256 KiB image sent sealed to a lock on a 115,200-baud
 * RS-485-style line, through the whole hub (createHub: store, embedded broker, provisioning
 * engine, the firmware bridge in src/firmware/) driven over MQTT as the cloud would, with the
 * image fetched over HTTP on loopback. The line is a TCP serial server whose far end honours
 * wire time precisely (support/paced-bus.ts: request and answer, 10 bits per byte, one
 * exchange at a time); a second lock shares the line.
 *
 * 1. Transfer: milliseconds from the lock executing FW_BEGIN to it executing FW_COMMIT.
 *    Baseline: the wire-time bound, the time the line actually carried bytes in that window
 *    (every FW frame and its ACK, plus the other lock's polls). Ratio = bound / measured
 *    (higher is better, 1.0 = the line never idle; goal >= 0.8).
 * 2. A guest's new code on the other lock of the same line while a transfer runs: ms from
 *    key.upsert sent until the code is in the lock's table. Baseline: the same with no transfer
 *    running, measured in the same run. Ratio = during / idle (lower is better).
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { CloudClient } from "../src/cloud/index.js";
import { loadConfig } from "../src/config/index.js";
import { createHub } from "../src/hub.js";
import { capabilityBits, loadProfiles } from "../src/profiles/index.js";
import type { ProvisioningService } from "../src/provisioning/service.js";
import { createLogger } from "../src/shared/logger.js";
import { openStore } from "../src/store/index.js";
import { SimLock } from "../sim/index.js";
import type { BenchResult } from "./run.js";
import { startPacedBus } from "./support/paced-bus.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..");
const BAUD = 115_200;
const IMAGE_BYTES = 256 * 1024;
const GUEST_ROUNDS = 5;
/** Guest codes the hub accepts (no runs, no repeats). */
const CODES = ["482916", "915273", "731904", "264810", "583027", "649351", "802517", "376940", "158063", "927384", "410695"];

const localDate = (days: number): string =>
  new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Prague", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(Date.now() + days * 86_400_000));

async function until(what: string, fn: () => boolean, timeoutMs: number, everyMs = 1): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return performance.now();
}

export async function run(): Promise<BenchResult[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lb-bench-fw-"));
  const profilesDir = path.join(dataDir, "profiles");
  fs.mkdirSync(profilesDir);
  // The mortise lock's profile on a 115,200-baud line.
  const mortise = JSON.parse(fs.readFileSync(path.join(ROOT, "device-profiles", "rs485-mortise.json"), "utf8")) as Record<string, unknown>;
  fs.writeFileSync(path.join(profilesDir, "bench-fw.json"), JSON.stringify({ ...mortise, $schema: undefined, id: "bench-fw", serial: { baudRate: BAUD, parity: "none", dataBits: 8, stopBits: 1 } }));
  const profile = loadProfiles(profilesDir).get("bench-fw");
  const sim = { model: profile.model, firmware: "1.0.0", capabilities: capabilityBits(profile.capabilities), codeSlots: profile.slots.doorCode, cardSlots: profile.slots.keycard, mobileKeySlots: profile.slots.smartKey, codeMinLen: profile.code.minLength, codeMaxLen: profile.code.maxLength };

  const ids = ["4c42f00000000001", "4c42f00000000002"];
  const keys = ids.map(() => randomBytes(16));
  const [updated, guest] = ids.map((lockId, i) => new SimLock({ lockId, address: i + 1, linkKey: keys[i]!, profile: sim, fwRestartMs: 500, fwMaxSize: 1024 * 1024 })) as [SimLock, SimLock];
  const bus = await startPacedBus([updated, guest], BAUD);

  const store = openStore(path.join(dataDir, "lockbridge.db"));
  store.transaction(() => {
    ids.forEach((lockId, i) => {
      store.locks.upsert({ lockId, profileId: "bench-fw", link: { type: "tcp", host: "127.0.0.1", port: bus.port, address: i + 1 } });
      store.locks.setLinkKey(lockId, keys[i]!);
      store.locks.setIdent(lockId, { protocolVersion: 1, lockId, ...sim });
      store.locks.setState(lockId, "commissioned");
    });
  });
  store.close();

  const image = randomBytes(IMAGE_BYTES);
  const http = createServer((_q, r) => r.end(image));
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/fw.bin`;
  const sha256 = createHash("sha256").update(image).digest("hex");

  const silent = createLogger({ level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });
  const config = loadConfig({
    env: { LOCKBRIDGE_DATA_DIR: dataDir, LOCKBRIDGE_PROFILES_DIR: profilesDir, LOCKBRIDGE_MQTT_EMBEDDED_PORT: "0", LOCKBRIDGE_BLE_ENABLED: "false", LOCKBRIDGE_API_ENABLED: "false", LOCKBRIDGE_FIRMWARE_ALLOW_HTTP: "true" },
  });
  const hub = createHub(config, silent);
  await hub.start();
  const engine = (hub.services.find((s) => s.name === "provisioning") as ProvisioningService).engine!;
  const cloud = await CloudClient.connect({ url: hub.brokerUrl!, hubId: config.hubId });
  const send = async (cmd: Record<string, unknown>) => {
    const res = await cloud.send(cmd);
    if (!res?.ok) throw new Error(`${String(cmd.cmd)} failed: ${JSON.stringify(res)}`);
  };
  try {
    await send({ cmd: "site.configure", siteId: "bench", timezone: "Europe/Prague", credentialTypes: { doorCode: true, keycard: false, smartKey: false } });
    for (const [i, lockId] of ids.entries()) await send({ cmd: "door.upsert", doorId: `room-${i + 1}`, name: `${i + 1}`, lockId, kind: "room", linkedDoorIds: [], protectConfiguration: false });
    await until("locks online and idle", () => engine.idle && ids.every((id) => engine.statuses.lockStatus(id)?.online === true), 60_000, 20);

    let n = 0;
    /** ms from key.upsert sent to the code in the guest lock's table. */
    const guestCode = async (): Promise<number> => {
      const before = guest.table(1)!.used;
      const code = CODES[n++ % CODES.length]!;
      const t = performance.now();
      await send({
        cmd: "key.upsert", keyId: `k-${n}`, version: 1, source: "manual", holder: { name: "Guest" },
        doors: [{ doorId: "room-2", accessPeriod: { from: localDate(-1), to: localDate(2) }, arrivalTime: "00:00", departureTime: "11:00", allowProvisioning: true, allowLinkedDoorsAccess: false }],
        doorCode: { enabled: true, assignment: "strict", code },
      });
      return (await until("the guest's code on the lock", () => guest.table(1)!.used > before, 30_000)) - t;
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

    // Baseline for 2: the guest's code with the line otherwise idle.
    const idle: number[] = [];
    for (let i = 0; i < GUEST_ROUNDS; i++) {
      idle.push(await guestCode());
      await until("idle", () => engine.idle, 30_000, 5);
    }

    // 1: one job, nothing else asked of the line but the other lock's polls.
    const transfer = async (jobId: string, version: string, during?: () => Promise<void>) => {
      const begins = updated.executionCount("FW_BEGIN");
      const commits = updated.executionCount("FW_COMMIT");
      await send({ cmd: "firmware.update", jobId, lockIds: [ids[0]], version, url, sha256, size: image.length });
      const t0 = await until("FW_BEGIN", () => updated.executionCount("FW_BEGIN") > begins, 30_000);
      const busy0 = bus.busyNs;
      const work = during?.();
      const t1 = await until("FW_COMMIT", () => updated.executionCount("FW_COMMIT") > commits, 300_000);
      const busy = Number(bus.busyNs - busy0) / 1e6;
      await work;
      await until("applied", () => updated.firmware === version, 60_000, 20);
      return { ms: t1 - t0, busyMs: busy };
    };
    const alone = await transfer("bench-1", "2.0.0");

    // 2: the guest's code while a second transfer runs on the same line.
    const during: number[] = [];
    await transfer("bench-2", "2.0.1", async () => {
      await until("a tenth sent", () => (updated.firmwareOffset ?? 0) > IMAGE_BYTES / 10, 60_000, 5);
      for (let i = 0; i < GUEST_ROUNDS && (updated.firmwareOffset ?? IMAGE_BYTES) < IMAGE_BYTES * 0.8; i++) during.push(await guestCode());
    });
    if (during.length === 0) throw new Error("no guest code measured during the transfer");

    return [
      {
        name: `firmware: a 256 KiB image, sealed, to a lock on a ${BAUD}-baud line through the hub (FW_BEGIN to FW_COMMIT)`,
        value: alone.ms,
        unit: "ms",
        baseline: { value: alone.busyMs, unit: "ms", name: "wire-time bound" },
        ratio: alone.busyMs / alone.ms,
        note: `${((IMAGE_BYTES * 8) / (alone.ms / 1000) / 1000).toFixed(1)} kbit/s of image; ratio = wire-time bound / measured, higher is better, goal >= 0.8; the bound counts every byte on the line in that window`,
      },
      {
        name: `firmware: a guest's new code usable on another lock of the same ${BAUD}-baud line during a transfer, median of ${during.length}`,
        value: median(during),
        unit: "ms",
        baseline: { value: median(idle), unit: "ms", name: "same, line idle" },
        note: `key.upsert sent to code in the lock's table; idle median of ${idle.length}; lower ratio is better`,
      },
    ];
  } finally {
    await cloud.close();
    await hub.stop();
    await bus.close();
    await new Promise((r) => http.close(r));
    updated.dispose();
    guest.dispose();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// Standalone: npx tsx bench/firmware.bench.ts
if (process.argv[1]?.endsWith("firmware.bench.ts")) {
  const { formatResult } = await import("./run.js");
  for (const r of await run()) console.log(formatResult(r));
}
