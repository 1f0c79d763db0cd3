/**
 * The chaos run's fault kinds and their weights (what each does: docs/reliability.md, the
 * faults table); FaultInjector (chaos/faults.ts) draws from them with the run's seeded stream.
 */
import type { FaultInjector } from "./faults.js";

/** `optIn`: drawn only when asked for by name (--faults): it still breaks the hub (docs/reliability.md). */
export type Kind = { name: string; weight: number; optIn?: boolean; run: (f: FaultInjector) => Promise<void> };

/** The property's common door (chaos/property.ts): linked to every room. */
const LOBBY = "lobby";
export const sign = (f: FaultInjector) => (f.random() < 0.5 ? -1 : 1);

export const HUB_KILL = "hub SIGKILL+restart";
export const HUB_KILL_MID_SNAPSHOT = "hub SIGKILL mid-snapshot";
export const HUB_KILL_MID_PAIRING = "hub SIGKILL mid-pairing";
export const LOCK_REPLACED = "lock replaced (installer: commission, door.upsert, decommission)";

/** A flaky link: 10–40 % of frames dropped, 2–15 % of answers bit-flipped (bad CRC). */
const flaky = (f: FaultInjector) => ["flaky", f.between(0.1, 0.4).toFixed(2), f.between(0.02, 0.15).toFixed(2), String(Math.floor(f.between(1, 1e6)))];
const slow = (f: FaultInjector) => ["slow", String(Math.round(f.between(200, 1_500)))];

export const KINDS: Kind[] = [
  { name: HUB_KILL, weight: 34, run: (f) => f.t.restartHub(f.between(0, 2_000)) },
  { name: HUB_KILL_MID_SNAPSHOT, weight: 6, run: (f) => f.killMidSnapshot() },
  { name: "broker restart", weight: 8, run: (f) => f.brokerRestart() },
  { name: "broker unreachable (SIGSTOP)", weight: 7, run: (f) => f.brokerPaused() },
  { name: "data disk full", weight: 4, run: (f) => f.diskFull() },
  { name: "lock offline", weight: 8, run: (f) => f.lockFault(["offline"], ["online"]) },
  { name: "lock flaky link (drops, corrupt answers)", weight: 8, run: (f) => f.lockFault(flaky(f), ["online"]) },
  { name: "lock noisy link (garbage bytes)", weight: 4, run: (f) => f.lockFault(["noise", f.between(0.1, 0.5).toFixed(2), String(Math.floor(f.between(1, 1e6)))], ["online"]) },
  { name: "serial device unplugged (pty bus)", weight: 4, run: (f) => f.unplugSerial() },
  { name: "BLE connection drops", weight: 4, run: (f) => f.bleDrops() },
  { name: "lock factory reset (kx: re-paired with the setup key)", weight: 3, run: (f) => f.factoryReset() },
  { name: HUB_KILL_MID_PAIRING, weight: 3, run: (f) => f.killMidPairing() },
  { name: LOCK_REPLACED, weight: 3, run: (f) => f.lockReplaced() },
  { name: "lock slow link", weight: 6, run: (f) => f.lockFault(slow(f), ["online"]) },
  { name: "lock memory full", weight: 5, run: (f) => f.lockFault(["memory-full", "on"], ["memory-full", "off"]) },
  // Slots wiped first, then the power loss the hub can see (CLOCK_LOST, clock not set).
  { name: "lock memory loss (with power loss)", weight: 6, run: (f) => f.lockOnce(["memory-loss"], ["clock-lost"]) },
  { name: "lock memory loss (silent: no power loss)", weight: 3, run: (f) => f.silentMemoryLoss() },
  {
    // The common door every key links to: its controller's link, like a room's.
    name: "lobby controller link fault (offline, flaky or slow)",
    weight: 3,
    run: (f) => f.lockFault(f.pick([["offline"], flaky(f), slow(f)]), ["online"], [LOBBY]),
  },
  { name: "stacked lock faults (slow + flaky link, clock jump, power loss with memory loss)", weight: 3, run: (f) => f.stackedFaults() },
  { name: "lock power loss (RTC reset)", weight: 3, run: (f) => f.lockOnce(["clock-lost"]) },
  { name: "lock clock jump", weight: 5, run: (f) => f.lockOnce(["clock-jump", String(Math.round(sign(f) * f.between(60, 2 * 86_400)))]) },
  { name: "lock clock drift", weight: 3, run: (f) => f.lockOnce(["drift", String(Math.round(sign(f) * f.between(500, 20_000)))]) },
];

