/**
 * Hotel traffic through the contract: manual and PMS keys with door codes, check-ins and
 * check-outs, regenerated codes, removals and remote unlocks, against random rooms. It
 * remembers what each key should open so the end of the run can try the codes at the doors.
 */
import type { ChaosCloud } from "./cloud.js";

export interface GuestKey {
  keyId: string;
  version: number;
  doorId: string;
  code: string;
  /** Whether the code should open the room now (checked in, not removed). */
  live: boolean;
}

const MAX_LIVE_PER_ROOM = 3;

const localDate = (d: Date) => new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Prague" }).format(d);

export class HotelTraffic {
  readonly keys = new Map<string, GuestKey>();
  /** Every code handed to the hub (the secret scan looks for them in the logs). */
  readonly codes = new Set<string>();
  private next = 0;

  constructor(
    private readonly cloud: ChaosCloud,
    private readonly rooms: readonly string[],
    private readonly random: () => number,
  ) {}

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)]!;
  }

  private freshCode(): string {
    for (;;) {
      const c = String(10_000_000 + Math.floor(this.random() * 89_999_999));
      if (!this.codes.has(c) && !/(\d)\1\1/.test(c)) {
        this.codes.add(c);
        return c;
      }
    }
  }

  private upsertBody(k: GuestKey, pms: boolean): Record<string, unknown> {
    const now = new Date();
    return {
      cmd: "key.upsert",
      keyId: k.keyId,
      version: k.version,
      source: pms ? "pms" : "manual",
      ...(pms ? { pms: { provider: "mews", reservationId: `res-${k.keyId}` }, checkedIn: true } : {}),
      doors: [{ doorId: k.doorId, accessPeriod: { from: localDate(new Date(now.getTime() - 86_400_000)), to: localDate(new Date(now.getTime() + 3 * 86_400_000)) }, arrivalTime: "00:00", departureTime: "23:59", allowProvisioning: true, allowLinkedDoorsAccess: true }],
      doorCode: { enabled: true, assignment: "strict", code: k.code },
      keycard: { enabled: false },
      smartKey: { enabled: false },
    };
  }

  /** One random action; resolves when the hub answered (or the cloud gave up). */
  async step(): Promise<string> {
    const live = [...this.keys.values()].filter((k) => k.live);
    const r = this.random();
    // A hotel room has a guest or two at a time: at most MAX_LIVE_PER_ROOM live keys, far below a lock's slots.
    const perRoom = new Map<string, number>();
    for (const k of live) perRoom.set(k.doorId, (perRoom.get(k.doorId) ?? 0) + 1);
    const freeRooms = this.rooms.filter((d) => (perRoom.get(d) ?? 0) < MAX_LIVE_PER_ROOM);
    if (freeRooms.length > 0 && (live.length < 3 || r < 0.35)) {
      const k: GuestKey = { keyId: `k-${++this.next}`, version: 1, doorId: this.pick(freeRooms), code: this.freshCode(), live: true };
      const res = await this.cloud.send(this.upsertBody(k, this.random() < 0.5));
      if (res?.ok) this.keys.set(k.keyId, k);
      return "key.upsert";
    }
    const k = this.pick(live);
    if (r < 0.5) {
      const code = this.freshCode();
      const res = await this.cloud.send({ cmd: "doorcode.regenerate", keyId: k.keyId, assignment: "strict", code });
      if (res?.ok) k.code = code;
      return "doorcode.regenerate";
    }
    if (r < 0.65) {
      k.version++;
      const res = await this.cloud.send({ cmd: "key.remove", keyId: k.keyId, version: k.version });
      if (res?.ok) k.live = false;
      return "key.remove";
    }
    if (r < 0.75) {
      const res = await this.cloud.send({ cmd: "key.checkin", keyId: k.keyId, checkedIn: false });
      if (res?.ok) k.live = false;
      return "key.checkin";
    }
    if (r < 0.85) {
      await this.cloud.send({ cmd: "door.unlock", doorId: k.doorId, seconds: 3 });
      return "door.unlock";
    }
    k.version++;
    await this.cloud.send(this.upsertBody(k, false));
    return "key.upsert";
  }
}
