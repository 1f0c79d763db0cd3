import { createServer, type Socket } from "node:net";
import { z } from "zod";
import type { SimLock } from "../lock/sim-lock.js";
import { advertisementOf, DEFAULT_MTU, GattLink, peripheralIdOf } from "./gatt.js";
import { listenOn } from "../listen.js";

export interface BleProxyOptions {
  host?: string;
  port?: number;
  /** ATT MTU granted on connect. Default 23 (20-byte writes and notifications). */
  mtu?: number;
  /** Locks send EVENT_NOTIFY unasked while connected. Default true. */
  eventNotify?: boolean;
  /**
   * The signal strength (dBm) this proxy's radio sees from each lock, reported with every
   * advertisement and at connection as a real proxy would. Default -60 for every lock.
   */
  rssi?: number | ((lock: SimLock) => number | undefined);
}

/** What the simulated radio reports when nothing says otherwise. */
export const DEFAULT_SIM_RSSI = -60;

export interface BleProxy {
  host: string;
  port: number;
  /** The peripheral id a lock has on this proxy. */
  peripheralId(lock: SimLock): string;
  /** Drop every live GATT connection of a lock (it walked out of range). */
  dropConnections(lock: SimLock): void;
  /** The RSSI reported for a lock from now on (it moved, a door shut); re-advertised at once. */
  setRssi(lock: SimLock, dbm: number): void;
  rssiOf(lock: SimLock): number;
  close(): Promise<void>;
}

const hex = z.string().regex(/^([0-9a-fA-F]{2})*$/, "hex bytes");
const opSchema = z.discriminatedUnion("op", [
  z.object({ op: z.literal("scan") }),
  z.object({ op: z.literal("stopScan") }),
  z.object({ op: z.literal("connect"), id: z.string() }),
  z.object({ op: z.literal("write"), id: z.string(), data: hex }),
  z.object({ op: z.literal("disconnect"), id: z.string() }),
]);
type Op = z.infer<typeof opSchema>;

/**
 * A BLE proxy server (like ESPHome's Bluetooth proxies) whose radio neighbours are
 * simulated locks. Newline-delimited JSON over TCP, the protocol of the team brief:
 * hub->proxy ops scan/stopScan/connect/write/disconnect; proxy->hub events
 * adv/connected/written/notify/disconnected/error.
 */
export async function startBleProxy(locks: readonly SimLock[], opts: BleProxyOptions = {}): Promise<BleProxy> {
  const mtu = opts.mtu ?? DEFAULT_MTU;
  const idOf = (lock: SimLock) => peripheralIdOf(lock.lockId);
  // Looked up at each use: a replaced lock has a new lockId, hence a new peripheral id.
  const byId = { get: (id: string) => locks.find((l) => idOf(l) === id) };
  /** Live GATT connections, at most one per lock (a peripheral takes one central). */
  const live = new Map<SimLock, { link: GattLink; client: Client; id: string }>();
  const clients = new Set<Client>();
  const rssi = new Map<SimLock, number>();
  const rssiOf = (lock: SimLock) => rssi.get(lock) ?? (typeof opts.rssi === "function" ? opts.rssi(lock) : opts.rssi) ?? DEFAULT_SIM_RSSI;

  class Client {
    scanning = false;
    private buf = "";
    private readonly advertised = new Map<SimLock, string>();
    readonly links = new Map<string, GattLink>();
    constructor(readonly sock: Socket) {}

    send(ev: Record<string, unknown>): void {
      if (!this.sock.destroyed) this.sock.write(`${JSON.stringify(ev)}\n`);
    }

    feed(chunk: Buffer): void {
      this.buf += chunk.toString("utf8");
      let nl: number;
      while ((nl = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (line) this.handleLine(line);
      }
    }

    advertise(lock: SimLock, force = false): void {
      if (!this.scanning || lock.faults.offline) return;
      const adv = advertisementOf(lock);
      const md = adv.manufacturerData.toString("hex");
      const dbm = rssiOf(lock);
      if (!force && this.advertised.get(lock) === `${md}/${dbm}`) return;
      this.advertised.set(lock, `${md}/${dbm}`);
      this.send({ ev: "adv", id: idOf(lock), name: adv.localName, manufacturerData: md, rssi: dbm });
    }

    private handleLine(line: string): void {
      let op: Op;
      try {
        const parsed = opSchema.safeParse(JSON.parse(line));
        if (!parsed.success) {
          this.send({ ev: "error", id: null, message: `bad op: ${parsed.error.issues[0]?.message ?? "invalid"}` });
          return;
        }
        op = parsed.data;
      } catch {
        this.send({ ev: "error", id: null, message: "not JSON" });
        return;
      }
      this.handle(op);
    }

    private handle(op: Op): void {
      switch (op.op) {
        case "scan":
          this.scanning = true;
          this.advertised.clear();
          for (const lock of locks) this.advertise(lock, true);
          return;
        case "stopScan":
          this.scanning = false;
          return;
        case "connect": {
          const lock = byId.get(op.id);
          if (!lock) return this.send({ ev: "error", id: op.id, message: "unknown peripheral" });
          if (this.links.has(op.id)) return this.send({ ev: "connected", id: op.id, mtu, rssi: rssiOf(lock) });
          if (lock.faults.offline) return this.send({ ev: "error", id: op.id, message: "connection failed: peripheral not responding" });
          if (live.has(lock)) return this.send({ ev: "error", id: op.id, message: "peripheral busy: connected to another central" });
          const link = new GattLink(lock, mtu, (chunk) => this.send({ ev: "notify", id: op.id, data: chunk.toString("hex") }), {
            eventNotify: opts.eventNotify ?? true,
          });
          this.links.set(op.id, link);
          live.set(lock, { link, client: this, id: op.id });
          return this.send({ ev: "connected", id: op.id, mtu, rssi: rssiOf(lock) });
        }
        case "write": {
          const link = this.links.get(op.id);
          if (!link) return this.send({ ev: "error", id: op.id, message: "not connected" });
          try {
            link.write(Buffer.from(op.data, "hex"));
          } catch (e) {
            return this.send({ ev: "error", id: op.id, message: e instanceof Error ? e.message : String(e) });
          }
          return this.send({ ev: "written", id: op.id });
        }
        case "disconnect":
          this.drop(op.id);
          return;
      }
    }

    drop(id: string): void {
      const link = this.links.get(id);
      if (!link) return this.send({ ev: "disconnected", id });
      link.close();
      this.links.delete(id);
      live.delete(link.lock);
      this.send({ ev: "disconnected", id });
    }

    close(): void {
      for (const [id, link] of this.links) {
        link.close();
        live.delete(link.lock);
        this.links.delete(id);
      }
    }
  }

  // Advertising follows the lock: new flags are re-advertised; a lock going offline drops its
  // link, and so does a replaced lock (new lockId, new peripheral id): the old body is gone.
  // A link is dropped by the id it was made with, not the lock's id now.
  const unsubscribe = locks.map((lock) =>
    lock.onChange(() => {
      const l = live.get(lock);
      if (l && (lock.faults.offline || l.id !== idOf(lock))) l.client.drop(l.id);
      if (lock.faults.offline) return;
      for (const c of clients) c.advertise(lock);
    }),
  );

  const server = createServer((sock) => {
    const client = new Client(sock);
    clients.add(client);
    sock.on("data", (d) => client.feed(d));
    sock.on("error", () => sock.destroy());
    sock.on("close", () => {
      client.close();
      clients.delete(client);
    });
  });
  const { host, port } = await listenOn(server, opts, "BLE proxy");
  return {
    host,
    port,
    peripheralId: idOf,
    dropConnections(lock) {
      const l = live.get(lock);
      if (l) l.client.drop(l.id);
    },
    setRssi(lock, dbm) {
      rssi.set(lock, dbm);
      for (const c of clients) c.advertise(lock);
    },
    rssiOf,
    async close() {
      for (const u of unsubscribe) u();
      for (const c of clients) {
        c.close();
        c.sock.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
