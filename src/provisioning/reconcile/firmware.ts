/**
 * The firmware bridge (src/firmware/, docs/firmware.md) wired to the lock fleet:
 * its narrow ports (FirmwareLocks: a task in a lock's worker, online, bus, models, recheck)
 * implemented on the fleet's lock workers, its jobs in the store, its images in the data dir.
 * Also the hub's image fetcher: streamed, capped at the announced size.
 */
import path from "node:path";
import { busKeyOf } from "../../firmware/bus-slots.js";
import { ImageCache, type ImageFetcher } from "../../firmware/image-cache.js";
import type { FirmwareLocks, FirmwareTiming } from "../../firmware/ports.js";
import { FirmwareService } from "../../firmware/service.js";
import type { Clock } from "../../shared/clock.js";
import { LockBridgeError } from "../../shared/errors.js";
import { formatInstant } from "../../shared/instant.js";
import type { Logger } from "../../shared/logger.js";
import type { LockRecord, Store } from "../../store/index.js";
import type { LockFleet } from "./fleet.js";
import type { EmitEvents } from "./hub-events.js";

export { FirmwareService, type FirmwareJob } from "../../firmware/service.js";
export type { ImageFetcher };

/**
 * Fetches over http(s) with the runtime's fetch, streamed: a Content-Length over `maxBytes`
 * is refused before the body is read, and a body that runs past `maxBytes` (a server that
 * lies about the size, or sends without end) is aborted at that point, so the hub never holds
 * more than the announced image.
 */
export const httpImageFetcher: ImageFetcher = async (url, maxBytes) => {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal });
  try {
    if (!res.ok) throw new LockBridgeError("invalid_payload", `firmware download failed: HTTP ${res.status}`, "url");
    const announced = Number(res.headers.get("content-length") ?? NaN);
    if (Number.isFinite(announced) && announced > maxBytes) {
      throw new LockBridgeError("invalid_payload", `firmware image is larger than announced (server says ${announced} bytes > ${maxBytes})`, "size");
    }
    const image = Buffer.alloc(maxBytes);
    let length = 0;
    if (res.body) {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        if (length + chunk.length > maxBytes) throw new LockBridgeError("invalid_payload", `firmware image is larger than announced (more than ${maxBytes} bytes): download aborted`, "size");
        image.set(chunk, length);
        length += chunk.length;
      }
    }
    return image.subarray(0, length);
  } finally {
    // Whatever is left unread is not wanted: close the connection rather than drain it.
    abort.abort();
  }
};

/** What the firmware bridge uses of the lock side: the fleet's workers and links, the lock records. */
export interface FirmwareLockPorts {
  fleet: Pick<LockFleet, "worker" | "linkOnline">;
  lockRecord(lockId: string): LockRecord | undefined;
}

/** The fleet's lock workers as the firmware bridge's FirmwareLocks port. */
export function fleetFirmwareLocks(ports: FirmwareLockPorts, profileModel: (profileId: string) => string | null): FirmwareLocks {
  const worker = (lockId: string) => {
    const w = ports.fleet.worker(lockId);
    return w && !w.isReplaced ? w : undefined;
  };
  return {
    runTask(lockId, fn) {
      const w = worker(lockId);
      if (!w) return Promise.reject(new LockBridgeError("lock_offline", `lock ${lockId} is not in service`));
      return w.runTask((port) => fn(port));
    },
    inService: (lockId) => worker(lockId) !== undefined,
    online: (lockId) => ports.fleet.linkOnline(lockId),
    busOf(lockId) {
      const lock = ports.lockRecord(lockId);
      return lock ? busKeyOf(lock.link) : undefined;
    },
    models(lockId) {
      const lock = ports.lockRecord(lockId);
      const ident = lock?.ident as { model?: unknown } | null | undefined;
      return { ident: typeof ident?.model === "string" ? ident.model : null, profile: lock ? profileModel(lock.profileId) : null };
    },
    recheck: (lockId) => worker(lockId)?.recheck(),
    settled: (lockId) => worker(lockId)?.idle ?? false,
  };
}

export interface FirmwareWiring extends FirmwareLockPorts {
  store: Pick<Store, "firmwareJobs" | "path">;
  /** Hub events to the outbox. */
  emit: EmitEvents;
  log: Logger;
  clock: Clock;
  /** The lock status republisher (the cloud's status sink). */
  lockChanged: (lockId: string) => void;
  /** The model a device profile names (null when unknown). */
  profileModel?: (profileId: string) => string | null;
  fetchImage?: ImageFetcher;
  /** Where images are kept; default `firmware/` beside the store file. */
  imageDir?: string;
  timing?: Partial<FirmwareTiming>;
  blePerAdapter?: number | undefined;
  /** Accept http:// image URLs (config firmware.allowHttp); default false: https only. */
  allowHttp?: boolean;
}

export function createFirmwareService(w: FirmwareWiring): FirmwareService {
  return new FirmwareService({
    jobs: w.store.firmwareJobs,
    locks: fleetFirmwareLocks(w, w.profileModel ?? (() => null)),
    images: new ImageCache(w.imageDir ?? path.join(path.dirname(w.store.path), "firmware"), w.fetchImage ?? httpImageFetcher),
    report: {
      event: (type, fields) => w.emit([{ type, at: formatInstant(w.clock.now()), ...fields }]),
      lockChanged: w.lockChanged,
    },
    clock: w.clock,
    log: w.log.child({ module: "firmware" }),
    ...(w.timing ? { timing: w.timing } : {}),
    ...(w.blePerAdapter !== undefined ? { blePerAdapter: w.blePerAdapter } : {}),
    allowHttp: w.allowHttp ?? false,
  });
}
