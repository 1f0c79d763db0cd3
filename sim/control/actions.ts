import { z } from "zod";
import { EventType } from "../../src/protocol/llp/index.js";
import { LockBridgeError } from "../../src/shared/errors.js";
import type { Fleet, FleetDoor } from "../fleet/fleet.js";

/** Faults a running fleet takes on demand (`lockbridge sim fault <lock> <fault> [args]`). */
export const FAULTS = {
  offline: "no answers at all (and no BLE advertising)",
  online: "clear offline, flaky, noise and slow",
  flaky: "[drop=0.2] [corrupt=0.1] [seed=1]: drop / corrupt that share of frames",
  noise: "[share=0.2] [seed=1]: that share of answers comes after garbage bytes on the line (line noise)",
  unplug: "the lock's serial (pty) bus vanishes: socat killed, the device path gone (every lock on it)",
  replug: "the serial bus comes back on the same path",
  slow: "<ms>: answer after that long",
  "memory-full": "[on|off]: PUT_CREDENTIAL gets MEMORY_FULL",
  "clock-lost": "power loss: RTC reset, STATUS clock-not-set, CLOCK_LOST event",
  "memory-loss": "every credential table lost (pairing and event log kept)",
  "clock-jump": "<seconds>: the RTC jumps forward (+) or back (-) and stays set",
  drift: "<ppm>: the lock's clock runs fast (+) or slow (-)",
  "factory-reset": "forget link key and every slot (lockId kept)",
  replaced: "[lockId]: a new lock at the same place (new lockId, unpaired)",
  "ble-drop": "drop the lock's BLE connection",
  rssi: "<dBm>: the signal strength the BLE proxy reports for the lock from now on (-127..20)",
  battery: "<percent>: set the battery level",
  tamper: "tamper alarm (TAMPER event)",
} as const;
export type FaultName = keyof typeof FAULTS;

const EVENT_NAMES = Object.fromEntries(Object.entries(EventType).map(([k, v]) => [v, k]));

/** A door's lock as `sim list` shows it. */
export function describeLock(d: FleetDoor) {
  const l = d.lock;
  const flags = l.statusFlags;
  return {
    doorId: d.doorId,
    name: d.name,
    kind: d.kind,
    lockId: l.lockId,
    link: d.busId === null ? "ble" : `${d.busId}#${l.address}`,
    profile: d.profile,
    model: l.profile.model,
    firmware: l.firmware,
    battery: l.battery,
    paired: l.linkKey !== null,
    flags,
    doorOpen: l.state.doorOpen,
    lockTime: new Date(l.time * 1000).toISOString(),
    eventHead: l.events.head,
    faults: {
      offline: l.faults.offline,
      drop: l.faults.drop,
      corrupt: l.faults.corrupt,
      noise: l.faults.noise,
      slowMs: l.faults.slowMs,
      memoryFull: l.state.memoryFull,
      clockNotSet: l.clock.notSet,
    },
    slotsUsed: { doorCode: l.slots(1).length, keycard: l.slots(2).length, smartKey: l.slots(3).length },
  };
}

/**
 * What the lock's label says (LLP v1.1 §8): its lockId and, on PAIR_KX models, the setup key
 * as 8 groups of 4 hex digits the way it is printed (an installer types it into
 * `lockbridge lock commission --setup-key`, spaces or not), plus the pairing it needs.
 */
export function lockLabel(d: FleetDoor): { lockId: string; pairing: "kx" | "plain"; setupKey: string | null } {
  const key = d.lock.setupKey;
  return { lockId: d.lock.lockId, pairing: key ? "kx" : "plain", setupKey: key ? key.match(/.{4}/g)!.join(" ") : null };
}

export function recentEvents(d: FleetDoor, n = 10) {
  return d.lock.events.all().slice(-n).map((e) => ({ ...e, name: EVENT_NAMES[e.type] ?? `0x${e.type.toString(16)}` }));
}

const bodies = {
  code: z.object({ code: z.string().regex(/^[0-9]{1,32}$/, { error: "a code is digits" }) }),
  card: z.object({ uid: z.string().min(2) }),
  phone: z.object({ privateKey: z.string().min(1) }),
  bolt: z.object({ thrown: z.boolean() }),
  fault: z.object({ fault: z.string(), args: z.array(z.string()).default([]) }),
};

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) throw new LockBridgeError("invalid_payload", r.error.issues[0]?.message ?? "invalid body", r.error.issues[0]?.path.join("."));
  return r.data;
}

/** A number argument within [min, max]: a fault that cannot happen is refused, never "applied". */
const num = (s: string | undefined, what: string, def?: number, range: [number, number, string?] = [-Infinity, Infinity]): number => {
  if (s === undefined && def !== undefined) return def;
  const n = Number(s);
  const [min, max, unit] = range;
  const expected = Number.isFinite(min) && Number.isFinite(max) ? `a number from ${min} to ${max}${unit ? ` ${unit}` : ""}` : "a number";
  if (s === undefined || s.trim() === "" || !Number.isFinite(n)) throw new LockBridgeError("invalid_payload", `${what}: expected ${expected}${s === undefined ? "" : `, got "${s}"`}`);
  if (n < min || n > max) throw new LockBridgeError("invalid_payload", `${what}: expected ${expected}, got ${s}`);
  return n;
};
const PROBABILITY: [number, number, string] = [0, 1, "(a probability)"];

/** Apply one action to a door's lock; returns what happened. */
export function applyAction(fleet: Fleet, ref: string, action: string, body: unknown): unknown {
  const d = fleet.find(ref);
  const lock = d.lock;
  switch (action) {
    case "code":
      return lock.enterCode(parse(bodies.code, body).code);
    case "card":
      return lock.presentCard(parse(bodies.card, body).uid);
    case "phone":
      return lock.phoneUnlock(parse(bodies.phone, body).privateKey);
    case "open":
      lock.openDoor();
      return { doorOpen: true };
    case "close":
      lock.closeDoor();
      return { doorOpen: false };
    case "bolt":
      lock.setBolt(parse(bodies.bolt, body).thrown);
      return { boltThrown: lock.state.boltThrown };
    case "pair-button":
      lock.pressPairingButton();
      return { pairingMode: true };
    case "fault": {
      const { fault, args } = parse(bodies.fault, body);
      return applyFault(fleet, d, fault, args);
    }
    default:
      throw new LockBridgeError("unknown_command", `unknown action "${action}"`);
  }
}

function applyFault(fleet: Fleet, d: FleetDoor, fault: string, args: string[]): unknown {
  const lock = d.lock;
  const onOff = (s: string | undefined) => s === undefined || s === "on" || s === "true" || s === "1";
  switch (fault as FaultName) {
    case "offline":
      lock.setOffline(true);
      break;
    case "online":
      lock.setFlaky({ drop: 0, corrupt: 0 });
      lock.setNoise(0);
      lock.setSlow(0);
      lock.setOffline(false);
      break;
    case "flaky":
      lock.setFlaky({ drop: num(args[0], "flaky drop", 0.2, PROBABILITY), corrupt: num(args[1], "flaky corrupt", 0.1, PROBABILITY), seed: num(args[2], "flaky seed", 1) });
      break;
    case "noise":
      lock.setNoise(num(args[0], "noise share", 0.2, PROBABILITY), num(args[1], "noise seed", 1));
      break;
    case "unplug":
    case "replug": {
      const bus = fleet.ptyBusOf(d);
      if (!bus) throw new LockBridgeError("invalid_payload", `${d.doorId} is not on a serial (pty) bus`, "fault");
      return (fault === "unplug" ? bus.unplug() : bus.replug()).then(() => describeLock(d));
    }
    case "slow":
      lock.setSlow(num(args[0], "slow", undefined, [0, 60_000, "ms"]));
      break;
    case "memory-full":
      lock.setMemoryFull(onOff(args[0]));
      break;
    case "clock-lost":
      lock.powerLoss();
      break;
    case "memory-loss":
      lock.memoryLoss();
      break;
    case "clock-jump":
      lock.clock.jump(num(args[0], "clock-jump", undefined, [-1e9, 1e9, "s"]) * 1000);
      break;
    case "drift":
      lock.setDrift(num(args[0], "drift", undefined, [-100_000, 100_000, "ppm"]));
      break;
    case "factory-reset":
      lock.factoryReset();
      break;
    case "replaced":
      lock.replace(args[0]);
      break;
    case "ble-drop":
      fleet.bleProxy?.dropConnections(lock);
      break;
    case "rssi":
      if (d.busId !== null || !fleet.bleProxy) throw new LockBridgeError("invalid_payload", `${d.doorId} is not a BLE lock`, "fault");
      fleet.bleProxy.setRssi(lock, num(args[0], "rssi", undefined, [-127, 20, "dBm"]));
      break;
    case "battery":
      lock.setBattery(num(args[0], "battery", undefined, [0, 100, "%"]));
      break;
    case "tamper":
      lock.tamper();
      break;
    default:
      throw new LockBridgeError("invalid_payload", `unknown fault "${fault}"; one of: ${Object.keys(FAULTS).join(", ")}`, "fault");
  }
  return describeLock(d);
}
