/**
 * `npm run chaos -- --minutes N --locks M --seed S [--fault-every SEC] [--faults NAME,...]`: Mosquitto, the
 * simulator and the hub (compiled build) as separate processes, a signing cloud streaming hotel
 * traffic (chaos/traffic.ts), and faults at random (chaos/faults.ts: hub SIGKILLs, broker
 * restarts and outages, lock faults). Then the invariants (chaos/invariants.ts) and a report;
 * exit 1 on any violation. What it does not inject yet is listed in docs/reliability.md.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ControlClient } from "../sim/control/client.js";
import { seededRandom } from "../src/shared/random.js";
import { startMosquitto } from "../test/helpers/mosquitto.js";
import { ChaosCloud } from "./cloud.js";
import { ContinuousChecks } from "./continuous.js";
import { DataDisk } from "./disk.js";
import { FaultInjector } from "./faults.js";
import { FaultHistory, FaultWatchingControl, Guests } from "./guests.js";
import { DoorLocks, installReplacement, repairInterruptedPairing } from "./installer.js";
import { checkInvariants, type Report } from "./invariants.js";
import { logField, startLockbridge, runLockbridge, type Child } from "./procs.js";
import { bleRooms, chaosProperty, ptyRoomCount, ptyRooms } from "./property.js";
import { ResourceSampler } from "./resources.js";
import { HotelTraffic } from "./traffic.js";

export interface ChaosOptions {
  minutes: number;
  locks: number;
  seed: number;
  /** Mean seconds between faults. */
  faultEverySec?: number;
  /** Only the fault kinds whose name contains one of these (default: all). */
  faults?: string[];
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(opts: ChaosOptions): Promise<Report> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const random = seededRandom(opts.seed);
  const dir = mkdtempSync(join(tmpdir(), "lockbridge-chaos-"));
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const signKeyFile = join(dir, "cloud-signing.pem");
  writeFileSync(signKeyFile, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
  const propertyFile = join(dir, "property.yaml");
  writeFileSync(propertyFile, chaosProperty(opts.locks));
  const hubId = `chaos-${opts.seed}`;
  const hubOutput: string[] = [];
  const children: Child[] = [];

  let unmount = () => undefined as void;
  let stopping = false;
  const broker = await startMosquitto();
  try {
    // Subscribed before the hub first runs: the cloud's session holds every event from seq 1.
    const cloud = await ChaosCloud.connect(broker.url, hubId, privateKey);
    const sim = startLockbridge(["sim", "run", propertyFile, "--ephemeral", "--state", join(dir, "sim-state.json")], {});
    children.push(sim);
    const ready = await sim.first((l) => (l.startsWith('{"ready"') ? (JSON.parse(l) as { controlPort: number; bleProxyPort: number | null }) : undefined), 60_000);
    const hubEnv = {
      LOCKBRIDGE_RUNTIME: "dist",
      LOCKBRIDGE_DATA_DIR: join(dir, "hub"),
      LOCKBRIDGE_HUB_ID: hubId,
      LOCKBRIDGE_MQTT_URL: broker.url,
      LOCKBRIDGE_CLOUD_COMMAND_PUBLIC_KEY: publicKey.export({ format: "pem", type: "spki" }).toString(),
      // The BLE rooms' locks are reached through the simulator's BLE proxy (no radio).
      ...(ready.bleProxyPort !== null ? { LOCKBRIDGE_BLE_PROXY: `127.0.0.1:${ready.bleProxyPort}` } : { LOCKBRIDGE_BLE_ENABLED: "false" }),
      LOCKBRIDGE_LOG_LEVEL: "info",
    };
    // The data dir on a small tmpfs when the run may mount one (root): the disk can be filled.
    const disk = DataDisk.mount(hubEnv.LOCKBRIDGE_DATA_DIR, 256);
    if (disk) unmount = () => disk.unmount();
    log(disk ? "data dir on a 256 MiB tmpfs" : "data dir on the temp disk (no mount): no disk-full fault");
    // A hub that exits on its own is started again after 1 s, as systemd (Restart=always) would; counted.
    const hubExits: string[] = [];
    let killing = false;
    const startHub = (): Child => {
      const h = startLockbridge(["run"], hubEnv, hubOutput);
      children.push(h);
      h.proc.once("exit", (code, signal) => {
        if (killing || stopping) return;
        hubExits.push(`exit ${code ?? signal}: ${hubOutput.slice(-3).join(" | ").slice(0, 600)}`);
        log(`hub exited on its own (${code ?? signal}); starting it again`);
        setTimeout(() => {
          if (!stopping && hub === h) hub = startHub();
        }, 1_000);
      });
      return h;
    };
    let hub = startHub();
    await hub.first((l) => logField(l, "hub started", "msg"), 60_000);
    const ctl = ["--control", String(ready.controlPort)];
    const commissioned = await runLockbridge(["sim", "commission", ...ctl, "--mqtt", broker.url, "--hub-id", hubId, "--sign-key", signKeyFile]);
    if (commissioned.code !== 0) throw new Error(`commissioning failed: ${commissioned.stderr}`);
    log(`commissioned ${opts.locks} locks + lobby`);

    const rooms = Array.from({ length: opts.locks }, (_, i) => `room-${i + 1}`);
    // door -> lockId for this run: a replaced lock's door points to the new one (chaos/installer.ts).
    const doorLocks = new DoorLocks(opts.locks);
    const bleRoomSet = new Set(bleRooms(opts.locks));
    const traffic = new HotelTraffic(cloud, rooms, random, doorLocks.current, bleRoomSet);
    const control = new ControlClient(ready.controlPort);
    const installer = { cloud, control, traffic, doors: doorLocks, locks: opts.locks, bleRooms: bleRoomSet, log };
    const restartHub = async (downMs: number) => {
      killing = true;
      await hub.kill("SIGKILL");
      killing = false;
      await sleep(downMs);
      hub = startHub();
      await hub.first((l) => logField(l, "hub started", "msg"), 120_000);
    };
    // Faults draw from their own stream: the same seed gives the same faults in the same order,
    // however the traffic's timing went.
    const hubLogged = (msg: string, timeoutMs: number) => hub.first((l) => (logField(l, msg, "msg") !== undefined ? true : undefined), timeoutMs).then(() => true, () => false);
    // The injector's fault calls are noted per room (the guests' judge skips a lock under a fault, and for a while after).
    const faultHistory = new FaultHistory([...rooms, "lobby"]);
    const injector = new FaultInjector({ restartHub, broker, control: new FaultWatchingControl(ready.controlPort, faultHistory), disk, rooms, ptyRooms: ptyRooms(opts.locks), bleRooms: bleRooms(opts.locks), traffic, hubLogged, lockOf: (room) => doorLocks.lockOf(room), install: (room, oldId, newId) => installReplacement(installer, room, oldId, newId), repairInterruptedPairing: (room) => repairInterruptedPairing(installer, room), random: seededRandom(opts.seed + 1_000_003), log }, opts.faults);
    faultHistory.start((room) => injector.isBusy(room));
    // Guests draw from their own stream too: the faults' stream stays the same for a seed.
    const guests = new Guests({ control, cloud, traffic, lockOf: (door) => doorLocks.lockOf(door), faults: faultHistory, random: seededRandom(opts.seed + 2_000_003), log });
    const resources = new ResourceSampler(() => hub.proc.pid);
    resources.start();
    const continuous = new ContinuousChecks({ cloud, guests, secrets: traffic, hubOutput, resources, dataDir: hubEnv.LOCKBRIDGE_DATA_DIR, startedAt: Date.now(), log });
    continuous.start();
    const startedAt = Date.now();
    const endAt = startedAt + opts.minutes * 60_000;

    const senders = Array.from({ length: 3 }, async () => {
      while (Date.now() < endAt) await traffic.step();
    });
    // A paged snapshot of the whole state every 30–60 s (it runs alone; faults may kill the hub mid-way too).
    const snapshots = (async () => {
      while (Date.now() < endAt - 10_000) {
        await sleep(Math.min(30_000 + random() * 30_000, Math.max(0, endAt - 10_000 - Date.now())));
        if (Date.now() < endAt - 10_000) await traffic.snapshot();
      }
    })();
    const faulter = injector.run((opts.faultEverySec ?? 20) * 1000, endAt - 5_000);
    await Promise.all([...senders, snapshots, faulter, guests.run(endAt)]);
    faultHistory.stop();
    log("traffic over; checking invariants");
    const continuousReport = continuous.stop();
    const report = await checkInvariants({
      cloud, traffic, control, hubOutput, log, startedAt, locks: opts.locks, ptyLocks: ptyRoomCount(opts.locks), bleLocks: bleRooms(opts.locks).length,
      lastFaultAt: injector.lastFaultEndAt, faults: injector.counts, resetRooms: injector.resetRooms, replacedRooms: injector.replacedRooms,
      lockHistory: (room) => doorLocks.history(room), installerErrors: injector.installerErrors, installerRepairs: injector.installerRepairs, installed: doorLocks.installed, hubExits, dataDir: hubEnv.LOCKBRIDGE_DATA_DIR, resources, continuous, continuousReport, guests: guests.report(),
    });
    await cloud.close();
    return report;
  } finally {
    // The hub's whole output (every process of the run), for a violation's story: kept however the run ends.
    writeFileSync(join(dir, "hub-output.log"), `${hubOutput.join("\n")}\n`);
    log(`hub output: ${join(dir, "hub-output.log")}`);
    stopping = true;
    for (const c of children) await c.kill("SIGTERM").catch(() => undefined);
    broker.signal("SIGCONT");
    await broker.close();
    unmount();
  }
}

async function main(): Promise<void> {
  // A harness bug must not throw away a 30-minute run: it is reported as a violation instead.
  const harnessErrors: string[] = [];
  process.on("unhandledRejection", (e) => {
    harnessErrors.push(`harness: unhandled rejection: ${String(e)}`);
    process.stderr.write(`${harnessErrors.at(-1)}\n`);
  });
  const { values } = parseArgs({ options: { minutes: { type: "string", default: "2" }, locks: { type: "string", default: "10" }, seed: { type: "string", default: "1" }, "fault-every": { type: "string", default: "20" }, faults: { type: "string" } } });
  const report = await runChaos({ minutes: Number(values.minutes), locks: Number(values.locks), seed: Number(values.seed), faultEverySec: Number(values["fault-every"]), ...(values.faults ? { faults: values.faults.split(",") } : {}) });
  report.violations.push(...harnessErrors);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.violations.length === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) void main();
