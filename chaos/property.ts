/**
 * A generated property for the chaos run: `locks` rooms and one lobby linked to all. Most rooms
 * are on RS-485-style TCP buses (up to 200 per bus, EVENT_NOTIFY on, as the hub expects of TCP
 * links); every tenth room (up to 16) is on a serial pseudo-terminal bus made by socat, which the
 * hub polls; every twelfth room (up to 8) has a `ble-deadbolt` behind the simulator's BLE proxy
 * (door codes and phones' smart keys, no card reader). Also the site and doors exactly as
 * `lockbridge sim commission` sends them, which a snapshot must repeat.
 */
import { stringify } from "yaml";

/** What `sim commission` configures for this property (site.configure). */
export const CHAOS_SITE = { siteId: "chaos-hotel", timezone: "Europe/Prague", credentialTypes: { doorCode: true, keycard: true, smartKey: true }, doorCodeLength: 6 };

const LOBBY = { doorId: "lobby", name: "Lobby", lockId: "4c4400000000beef" };
const roomLockId = (n: number) => `4c43${n.toString(16).padStart(12, "0")}`;
const MAX_PTY_ROOMS = 16;
const MAX_BLE_ROOMS = 8;

/** Rooms on the pty bus: every tenth, at most 16 (none below 4 rooms). */
function onPty(n: number, locks: number): boolean {
  return locks >= 4 && n % 10 === 4 && Math.floor(n / 10) < MAX_PTY_ROOMS;
}

/** Rooms behind the BLE proxy: every twelfth (3, 15, 27, ...: never a pty room), at most 8 (none below 4 rooms). */
function onBle(n: number, locks: number): boolean {
  return locks >= 4 && n % 12 === 3 && Math.floor(n / 12) < MAX_BLE_ROOMS;
}

export function chaosProperty(locks: number): string {
  const tcpRooms = Array.from({ length: locks }, (_, i) => i + 1).filter((n) => !onPty(n, locks) && !onBle(n, locks));
  const bleRooms = Array.from({ length: locks }, (_, i) => i + 1).filter((n) => onBle(n, locks));
  const ptyRooms = Array.from({ length: locks }, (_, i) => i + 1).filter((n) => onPty(n, locks));
  const buses = Array.from({ length: Math.ceil(tcpRooms.length / 200) }, (_, i) => ({ id: `bus-${i}`, type: "tcp", port: 0, eventNotify: true }));
  const rooms = [
    ...tcpRooms.map((n, i) => ({ n, link: { bus: `bus-${Math.floor(i / 200)}`, address: (i % 200) + 1 } })),
    ...ptyRooms.map((n, i) => ({ n, link: { bus: "serial-0", address: i + 1 } })),
    ...bleRooms.map((n) => ({ n, link: { ble: true } })),
  ]
    .sort((a, b) => a.n - b.n)
    .map(({ n, link }) => ({ doorId: `room-${n}`, name: `Room ${n}`, lockId: roomLockId(n), profile: "ble" in link ? "ble-deadbolt" : "rs485-mortise", link }));
  return stringify({
    name: "Chaos Hotel",
    timezone: CHAOS_SITE.timezone,
    buses: [...buses, ...(ptyRooms.length > 0 ? [{ id: "serial-0", type: "pty" }] : []), { id: "lobby", type: "tcp", port: 0, eventNotify: true }],
    ...(bleRooms.length > 0 && { ble: { port: 0, eventNotify: true } }),
    control: { port: 0 },
    rooms,
    commonDoors: [{ ...LOBBY, profile: "common-door-controller", link: { bus: "lobby", address: 1 }, linkedToAllRooms: true }],
  });
}

/**
 * The doors as `sim commission` sends them (door.upsert), for a snapshot; `lockIds` (door ->
 * lockId) names the lock a replaced room's door points to now (the lock-replaced fault).
 */
export function chaosDoors(locks: number, lockIds?: ReadonlyMap<string, string>): Record<string, unknown>[] {
  return [
    { ...LOBBY, kind: "common", linkedDoorIds: [], protectConfiguration: false },
    ...Array.from({ length: locks }, (_, i) => {
      const doorId = `room-${i + 1}`;
      return { doorId, name: `Room ${i + 1}`, lockId: lockIds?.get(doorId) ?? roomLockId(i + 1), kind: "room", linkedDoorIds: [LOBBY.doorId], protectConfiguration: false };
    }),
  ];
}

/** The doorIds of the rooms behind the BLE proxy (door codes and smart keys, no keycards). */
export function bleRooms(locks: number): string[] {
  return Array.from({ length: locks }, (_, i) => i + 1).filter((n) => onBle(n, locks)).map((n) => `room-${n}`);
}

/** How many rooms are on the pty bus. */
export function ptyRoomCount(locks: number): number {
  return ptyRooms(locks).length;
}

/** The doorIds of the rooms on the pty bus. */
export function ptyRooms(locks: number): string[] {
  return Array.from({ length: locks }, (_, i) => i + 1).filter((n) => onPty(n, locks)).map((n) => `room-${n}`);
}
