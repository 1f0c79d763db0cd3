/**
 * From a lock's store record (lockId, profile id, link) to a ready LockClient. Locks that
 * share a link share one transport and one bus: every lock on /dev/ttyUSB0 is polled
 * through the same SerialTransport, every lock behind one serial server through one TCP
 * connection. BLE locks get a transport each over the hub's one radio (or proxy).
 */
import type { Logger } from "pino";
import type { LockLink } from "../access/model.js";
import { BLE_ADDR } from "../protocol/llp/index.js";
import type { DeviceProfile } from "../profiles/schema.js";
import type { ProfileRegistry } from "../profiles/loader.js";
import { systemClock, type Clock } from "../shared/clock.js";
import { LockBridgeError } from "../shared/errors.js";
import type { BackoffPolicy } from "../shared/backoff.js";
import type { BleCentral } from "../transport/ble/central.js";
import { DeferredCentral } from "../transport/ble/deferred-central.js";
import { createBleRadio, type BleRadio } from "../transport/ble/radio.js";
import { BleTransport } from "../transport/ble/transport.js";
import { SerialTransport, type SerialSettings } from "../transport/serial.js";
import { TcpTransport } from "../transport/tcp.js";
import type { Transport, TransportStatus } from "../transport/types.js";
import { LinkBus } from "./bus.js";
import { LockClient } from "./client.js";
import type { LinkStateStore } from "./link-state.js";
import { LockSession } from "./session.js";

export interface LockRecord {
  lockId: string;
  /** A device-profile id (device-profiles/<id>.json). */
  profileId: string;
  link: LockLink;
}

export interface LockLinksOptions {
  profiles: ProfileRegistry;
  linkState: LinkStateStore;
  logger: Logger;
  clock?: Clock | undefined;
  /**
   * The BLE central (NobleCentral, ProxyCentral...), possibly still loading. Omitted or
   * rejected: BLE locks fail with ble_unavailable, everything else works.
   */
  bleCentral?: Promise<BleCentral> | undefined;
  /** config ble.maxConnections */
  bleMaxConnections?: number | undefined;
  backoff?: BackoffPolicy | undefined;
  counterBlockSize?: number | undefined;
}

/** One bus ("serial:/dev/ttyUSB0", "tcp:host:port", "ble:<lockId>") with its error counters. */
export interface LinkStats {
  bus: string;
  transport: TransportStatus;
  timeouts: number;
  crcErrors: number;
  retries: number;
  locks: string[];
}

interface SharedLink {
  key: string;
  transport: Transport;
  bus: LinkBus;
  serial?: SerialSettings | undefined;
  locks: Set<string>;
  /** Settles after the transport's first open attempt, whatever its outcome. */
  firstOpen: Promise<void>;
}

const COMPATIBLE: Record<DeviceProfile["link"], LockLink["type"][]> = {
  "serial-rs485": ["serial", "tcp"],
  "serial-uart": ["serial", "tcp"],
  tcp: ["tcp"],
  ble: ["ble"],
};

export class LockLinks {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly links = new Map<string, SharedLink>();
  private readonly clients = new Map<string, { client: LockClient; link: SharedLink }>();
  private radio: BleRadio | undefined;

  constructor(private readonly opts: LockLinksOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ part: "lock-links" });
  }

  /** The client for a lock, created on first use. Throws unknown_profile or invalid_payload (link does not fit the profile). */
  client(record: LockRecord): LockClient {
    const lockId = record.lockId.toLowerCase();
    const existing = this.clients.get(lockId);
    if (existing) return existing.client;
    const profile = this.opts.profiles.get(record.profileId);
    if (!COMPATIBLE[profile.link].includes(record.link.type)) {
      throw new LockBridgeError("invalid_payload", `profile ${profile.id} is a ${profile.link} lock; it cannot be reached over ${record.link.type}`, "link.type");
    }
    const link = this.linkFor(record.link, lockId, profile);
    const addr = record.link.type === "ble" ? BLE_ADDR : record.link.address;
    const session = new LockSession({
      lockId,
      addr,
      bus: link.bus,
      timing: {
        responseTimeoutMs: profile.responseTimeoutMs,
        retries: profile.retries,
        offlineAfterTimeouts: profile.offlineAfterTimeouts,
        wireBaud: profile.serial?.baudRate,
      },
      linkState: this.opts.linkState,
      logger: this.log,
      clock: this.clock,
      counterBlockSize: this.opts.counterBlockSize,
      sealingRequired: profile.sealingRequired,
    });
    const client = new LockClient({ session, profile, linkState: this.opts.linkState, logger: this.log });
    link.locks.add(lockId);
    this.clients.set(lockId, { client, link });
    return client;
  }

  get(lockId: string): LockClient | undefined {
    return this.clients.get(lockId.toLowerCase())?.client;
  }

  /** Forget a lock (decommissioned, or its link changed); its transport closes with its last lock. */
  async remove(lockId: string): Promise<void> {
    const id = lockId.toLowerCase();
    const entry = this.clients.get(id);
    if (!entry) return;
    this.clients.delete(id);
    entry.client.session.close();
    entry.link.locks.delete(id);
    if (entry.link.locks.size === 0) {
      this.links.delete(entry.link.key);
      entry.link.bus.close();
      await entry.link.transport.close();
    }
  }

  transports(): TransportStatus[] {
    return [...this.links.values()].map((l) => l.transport.status());
  }

  /**
   * Why the lock's serial or TCP link cannot be opened ("cannot open /dev/ttyUSB9: ..."), after
   * its first open attempt; undefined when it is open (or BLE, which connects on demand).
   */
  async linkFailure(lockId: string): Promise<string | undefined> {
    const entry = this.clients.get(lockId.toLowerCase());
    if (!entry || entry.link.key.startsWith("ble:")) return undefined;
    await entry.link.firstOpen;
    const status = entry.link.transport.status();
    if (status.state === "open") return undefined;
    const cause = (status.lastError ?? status.state).replace(/^Error: /, "");
    return cause.includes(status.target) ? cause : `cannot open ${status.target}: ${cause}`;
  }

  /** Per bus: its transport and error counters since start (local API, /metrics). */
  linkStats(): LinkStats[] {
    return [...this.links.values()].map((l) => {
      let retries = 0;
      for (const id of l.locks) retries += this.clients.get(id)?.client.session.stats.retries ?? 0;
      return { bus: l.key, transport: l.transport.status(), timeouts: l.bus.stats.timeouts, crcErrors: l.bus.decoder.stats.badCrc, retries, locks: [...l.locks] };
    });
  }

  async close(): Promise<void> {
    for (const id of [...this.clients.keys()]) await this.remove(id);
    this.radio?.scanner.dispose();
    await this.radio?.central.close().catch(() => undefined);
  }

  private linkFor(link: LockLink, lockId: string, profile: DeviceProfile): SharedLink {
    const key = link.type === "serial" ? `serial:${link.path}` : link.type === "tcp" ? `tcp:${link.host}:${link.port}` : `ble:${lockId}`;
    const existing = this.links.get(key);
    if (existing) {
      if (existing.serial && profile.serial && !sameSerial(existing.serial, profile.serial)) {
        throw new LockBridgeError("invalid_payload", `${link.type === "serial" ? link.path : key} already runs at ${describeSerial(existing.serial)}; profile ${profile.id} wants ${describeSerial(profile.serial)}`, "link");
      }
      return existing;
    }
    const logger = this.log.child({ link: key });
    let transport: Transport;
    if (link.type === "serial") {
      if (!profile.serial) throw new LockBridgeError("invalid_payload", `profile ${profile.id} has no serial settings`, "profile");
      transport = new SerialTransport({ path: link.path, serial: profile.serial, logger, clock: this.clock, backoff: this.opts.backoff });
    } else if (link.type === "tcp") {
      transport = new TcpTransport({ host: link.host, port: link.port, logger, clock: this.clock, backoff: this.opts.backoff });
    } else {
      transport = new BleTransport({
        lockId,
        radio: this.bleRadio(),
        idleDisconnectMs: (profile.ble?.idleDisconnectS ?? 30) * 1000,
        scanTimeoutMs: profile.ble?.scanTimeoutMs,
        connectTimeoutMs: profile.ble?.connectTimeoutMs,
        clock: this.clock,
        logger,
      });
    }
    const firstOpen = transport.open().catch(() => undefined);
    const shared: SharedLink = { key, transport, bus: new LinkBus(transport, { clock: this.clock, logger }), serial: link.type === "ble" ? undefined : profile.serial, locks: new Set(), firstOpen };
    this.links.set(key, shared);
    return shared;
  }

  /**
   * The hub's one BLE radio (or proxy) that every BLE lock's link goes through, created on
   * first use; a BLE scan from the console shares it (and its connection cap) with the locks.
   */
  bleRadio(): BleRadio {
    if (!this.radio) {
      const central = this.opts.bleCentral ?? Promise.reject(new LockBridgeError("ble_unavailable", "BLE is not configured on this hub"));
      this.radio = createBleRadio(new DeferredCentral(central), { maxConnections: this.opts.bleMaxConnections ?? 3, logger: this.log, clock: this.clock });
    }
    return this.radio;
  }
}

function sameSerial(a: SerialSettings, b: SerialSettings): boolean {
  return a.baudRate === b.baudRate && a.parity === b.parity && a.dataBits === b.dataBits && a.stopBits === b.stopBits;
}

function describeSerial(s: SerialSettings): string {
  return `${s.baudRate} ${s.dataBits}${s.parity[0]!.toUpperCase()}${s.stopBits}`;
}

/** How long until the next STATUS poll: an offline lock is probed less often. */
export function pollDelayMs(client: LockClient): number {
  const p = client.profile;
  return client.online === false ? (p.offlinePollIntervalMs ?? p.pollIntervalMs * 10) : p.pollIntervalMs;
}
