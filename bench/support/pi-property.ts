/**
 * The Pi benchmark's property and snapshot: rooms (rs485-mortise) on RS-485-style TCP buses at
 * 19,200 baud, a lobby and a gym controller (common-door-controller, linked to every room) each
 * on its own 115,200-baud line; keys of one room each, with a door code, so that every key is
 * three credentials (its room, the lobby, the gym).
 */
export const ROOM_BAUD = 19_200;
export const COMMON_BAUD = 115_200;
const ROOMS_PER_BUS = 16;
const COMMONS = ["lobby", "gym"] as const;
/** A page well under the contract's 128 KiB. */
const PAGE_BYTES = 100_000;
export const CREDENTIALS_PER_KEY = 1 + COMMONS.length;

export function piProperty(locks: number): { property: Record<string, unknown>; baudByBus: Map<string, number> } {
  const rooms = Math.max(1, locks - COMMONS.length);
  const buses: { id: string; type: "tcp"; port: 0; wireBaud: number }[] = [];
  const baudByBus = new Map<string, number>();
  const roomList = Array.from({ length: rooms }, (_, i) => {
    const bus = `bus${Math.floor(i / ROOMS_PER_BUS) + 1}`;
    if (!baudByBus.has(bus)) {
      buses.push({ id: bus, type: "tcp", port: 0, wireBaud: ROOM_BAUD });
      baudByBus.set(bus, ROOM_BAUD);
    }
    return { doorId: `room-${1001 + i}`, name: `Room ${1001 + i}`, profile: "rs485-mortise", link: { bus, address: (i % ROOMS_PER_BUS) + 1 } };
  });
  const commonDoors = COMMONS.map((doorId) => {
    buses.push({ id: doorId, type: "tcp", port: 0, wireBaud: COMMON_BAUD });
    baudByBus.set(doorId, COMMON_BAUD);
    return { doorId, name: doorId, profile: "common-door-controller", link: { bus: doorId, address: 1 }, linkedToAllRooms: true };
  });
  return { property: { name: "Pi Bench Hotel", timezone: "Europe/Prague", buses, control: { port: 0 }, rooms: roomList, commonDoors }, baudByBus };
}

const localDate = (days: number): string =>
  new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Prague", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(Date.now() + days * 86_400_000));

export interface SnapshotDoor {
  doorId: string;
  name: string;
  kind: "room" | "common";
  linkedDoorIds: string[];
  lockId: string;
}

/** The pages of a sync.snapshot: site on page 1, then doors, then keys, each page under PAGE_BYTES. */
export function snapshotPages(snapshotId: string, siteId: string, doors: readonly SnapshotDoor[], keyCount: number): Record<string, unknown>[] {
  const rooms = doors.filter((d) => d.kind === "room");
  const site = { siteId, timezone: "Europe/Prague", credentialTypes: { doorCode: true, keycard: true, smartKey: true }, doorCodeLength: 6 };
  const items: { field: "doors" | "keys"; value: object }[] = [
    ...doors.map((d) => ({ field: "doors" as const, value: { doorId: d.doorId, name: d.name, lockId: d.lockId, kind: d.kind, linkedDoorIds: d.linkedDoorIds, protectConfiguration: false } })),
    ...Array.from({ length: keyCount }, (_, i) => ({
      field: "keys" as const,
      value: {
        keyId: `k-${i}`,
        version: 1,
        source: "pms",
        pms: { provider: "mews", reservationId: `R-${i}` },
        checkedIn: true,
        doors: [{ doorId: rooms[i % rooms.length]!.doorId, accessPeriod: { from: localDate(-1), to: localDate(3) }, arrivalTime: "00:00", departureTime: "11:00", allowProvisioning: true, allowLinkedDoorsAccess: true }],
        doorCode: { enabled: true, assignment: "random" },
        keycard: { enabled: false },
        smartKey: { enabled: false },
      },
    })),
  ];
  const pages: { doors: object[]; keys: object[]; bytes: number }[] = [];
  let page = { doors: [] as object[], keys: [] as object[], bytes: JSON.stringify(site).length };
  for (const item of items) {
    const size = JSON.stringify(item.value).length + 1;
    if (page.bytes + size > PAGE_BYTES) {
      pages.push(page);
      page = { doors: [], keys: [], bytes: 0 };
    }
    page[item.field].push(item.value);
    page.bytes += size;
  }
  pages.push(page);
  return pages.map((p, i) => ({ cmd: "sync.snapshot", snapshotId, page: i + 1, pages: pages.length, ...(i === 0 ? { site } : {}), doors: p.doors, keys: p.keys }));
}
