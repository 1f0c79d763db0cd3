/** A generated property for the chaos run: `locks` rooms on TCP buses (up to 200 per bus), one lobby linked to all. */
import { stringify } from "yaml";

export function chaosProperty(locks: number): string {
  const buses = Array.from({ length: Math.ceil(locks / 200) }, (_, i) => ({ id: `bus-${i}`, type: "tcp", port: 0 }));
  const rooms = Array.from({ length: locks }, (_, i) => ({
    doorId: `room-${i + 1}`,
    name: `Room ${i + 1}`,
    lockId: `4c43${(i + 1).toString(16).padStart(12, "0")}`,
    profile: "rs485-mortise",
    link: { bus: `bus-${Math.floor(i / 200)}`, address: (i % 200) + 1 },
  }));
  return stringify({
    name: "Chaos Hotel",
    timezone: "Europe/Prague",
    buses: [...buses, { id: "lobby", type: "tcp", port: 0 }],
    control: { port: 0 },
    rooms,
    commonDoors: [{ doorId: "lobby", name: "Lobby", lockId: "4c4400000000beef", profile: "common-door-controller", link: { bus: "lobby", address: 1 }, linkedToAllRooms: true }],
  });
}
