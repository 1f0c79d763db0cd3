/**
 * The property as an installer reads it: locks grouped by bus, doors, keys with their
 * states and reasons, provisioning progress. Built from the store and the key and lock
 * statuses on each request (a Pi serves a 3,000-key property in a few ms; no cache to go stale).
 * Secrets are left out here, by construction: only states and reasons, never a code or UID.
 */
import { formatInstant } from "../shared/instant.js";
import type { KeyStatus } from "../access/model.js";
import type { LinkStats } from "../lock/index.js";
import type { StatusReader } from "../provisioning/status/status-model.js";
import { LOW_BATTERY_PERCENT } from "../provisioning/reconcile/battery.js";
import { replacedBy } from "../provisioning/reconcile/replaced.js";
import type { LockRecord, Store } from "../store/index.js";
import { credentialWords, doorWords, stateWords } from "./key-words.js";
import type { BusView, DoorView, KeyView, LockView, Progress } from "./schemas.js";

const CLOCK_DRIFT_ALERT_S = 60;

export function busOf(lock: Pick<LockRecord, "link" | "lockId">): { bus: string; address: number | null } {
  const link = lock.link;
  if (link.type === "serial") return { bus: `serial ${link.path}`, address: link.address };
  if (link.type === "tcp") return { bus: `tcp ${link.host}:${link.port}`, address: link.address };
  return { bus: "ble", address: null };
}

/** links.ts names buses "serial:/dev/x", "tcp:h:p", "ble:<lockId>"; the API says "serial /dev/x". */
function busName(stats: LinkStats): string {
  if (stats.bus.startsWith("ble:")) return "ble";
  return stats.bus.replace(/^(serial|tcp):/, "$1 ");
}

/** A BLE lock's own link (links.ts keys BLE links "ble:<lockId>"). */
export function bleLinkOf(links: readonly LinkStats[], lockId: string): LinkStats | undefined {
  return links.find((l) => l.bus === `ble:${lockId.toLowerCase()}`);
}

/** RSSI in words, as BLE installers rate it: >= -60 dBm excellent, >= -70 good, >= -80 fair, below weak. */
export function signalQuality(rssi: number): "excellent" | "good" | "fair" | "weak" {
  return rssi >= -60 ? "excellent" : rssi >= -70 ? "good" : rssi >= -80 ? "fair" : "weak";
}

function signalOf(link: LinkStats | undefined): LockView["signal"] {
  const { rssi, rssiAt } = link?.transport ?? {};
  if (rssi === undefined || rssiAt === undefined) return null;
  return { rssi, at: formatInstant(rssiAt), quality: signalQuality(rssi) };
}

/** `link`: a BLE lock's own link stats, for its signal strength. */
export function lockView(store: Store, statuses: StatusReader | undefined, lock: LockRecord, link?: LinkStats): LockView {
  const status = statuses?.lockStatus(lock.lockId);
  const ident = lock.ident;
  const doors = store.doors.byLock(lock.lockId);
  const { bus, address } = busOf(lock);
  const online = lock.state === "replaced" ? false : (status?.online ?? lock.online);
  const newId = lock.state === "replaced" ? replacedBy(store, lock.lockId) : null;
  const used = store.slots.usedCounts(lock.lockId);
  const slots: LockView["slots"] = status?.slots ?? {
    doorCode: { used: used.doorCode, total: ident?.codeSlots ?? null },
    keycard: { used: used.keycard, total: ident?.cardSlots ?? null },
    smartKey: { used: used.smartKey, total: ident?.mobileKeySlots ?? null },
  };
  const view: LockView = {
    lockId: lock.lockId,
    state: lock.state,
    doorIds: doors.map((d) => d.doorId),
    doorNames: doors.map((d) => d.name),
    bus,
    address,
    online,
    lastSeen: lock.lastSeen === null ? null : formatInstant(lock.lastSeen),
    battery: lock.battery,
    clockDriftS: lock.clockDriftS,
    firmware: ident?.firmware ?? null,
    model: ident?.model ?? null,
    profile: lock.profileId,
    slots,
    replacedBy: newId,
    pendingSlots: store.slots.outOfSync(lock.lockId).length,
    signal: lock.link.type === "ble" ? signalOf(link) : null,
    alerts: [],
  };
  view.alerts = lockAlerts(view);
  return view;
}

/** Plain-words faults of a lock, for status lines and the console's filters. */
export function lockAlerts(lock: LockView): string[] {
  const alerts: string[] = [];
  if (lock.state === "replaced") alerts.push(lock.replacedBy ? `replaced: lock ${lock.replacedBy} answers at its link` : "replaced: another lock answers at its link");
  else if (lock.state !== "commissioned") alerts.push(`not in service (${lock.state})`);
  else if (!lock.online) alerts.push("offline");
  if (lock.battery !== null && lock.battery <= LOW_BATTERY_PERCENT) alerts.push(`battery ${lock.battery} %`);
  if (lock.clockDriftS !== null && Math.abs(lock.clockDriftS) >= CLOCK_DRIFT_ALERT_S) alerts.push(`clock off by ${lock.clockDriftS} s`);
  if (lock.signal?.quality === "weak") alerts.push(`weak BLE signal (${lock.signal.rssi} dBm)`);
  for (const [kind, s] of Object.entries(lock.slots)) {
    if (s.total !== null && s.total > 0 && s.used / s.total >= 0.9) alerts.push(`${kind} memory ${s.used} of ${s.total}`);
  }
  return alerts;
}

export function locksByBus(store: Store, statuses: StatusReader | undefined, links: readonly LinkStats[]): BusView[] {
  const byBus = new Map<string, BusView>();
  const stats = new Map<string, LinkStats>();
  for (const l of links) {
    const name = busName(l);
    if (name === "ble") continue;
    stats.set(name, l);
  }
  const bleStats = new Map(links.filter((l) => l.bus.startsWith("ble:")).map((l) => [l.bus.slice(4), l]));
  for (const lock of store.locks.list()) {
    const view = lockView(store, statuses, lock, bleStats.get(lock.lockId));
    let entry = byBus.get(view.bus);
    if (!entry) {
      const s = stats.get(view.bus);
      entry = {
        bus: view.bus,
        link: s?.transport.state ?? null,
        lastError: s?.transport.lastError ?? null,
        errors: { timeouts: s?.timeouts ?? 0, crcErrors: s?.crcErrors ?? 0, retries: s?.retries ?? 0 },
        locks: [],
      };
      byBus.set(view.bus, entry);
    }
    const ble = view.bus === "ble" ? bleStats.get(view.lockId) : undefined;
    if (ble) {
      // BLE has one link per lock: the group's link is "open" only while every lock's is.
      const state = ble.transport.state;
      entry.link = entry.locks.length === 0 || entry.link === state ? state : "partly open";
      entry.errors.timeouts += ble.timeouts;
      entry.errors.crcErrors += ble.crcErrors;
      entry.errors.retries += ble.retries;
    }
    entry.locks.push(view);
  }
  const buses = [...byBus.values()].sort((a, b) => a.bus.localeCompare(b.bus));
  for (const b of buses) b.locks.sort((x, y) => (x.address ?? 0) - (y.address ?? 0) || x.lockId.localeCompare(y.lockId));
  return buses;
}

export function doorViews(store: Store, statuses: StatusReader | undefined): DoorView[] {
  return store.doors.list().map((d) => {
    const lock = d.lockId === null ? undefined : store.locks.get(d.lockId);
    const online = lock === undefined ? null : lock.state === "replaced" ? false : (statuses?.lockStatus(lock.lockId)?.online ?? lock.online);
    return { doorId: d.doorId, name: d.name, kind: d.kind, lockId: d.lockId, lockOnline: online, linkedDoorIds: d.linkedDoorIds, keys: store.keys.idsByDoor(d.doorId).length };
  });
}

export function keyView(store: Store, statuses: StatusReader | undefined, keyId: string, doorNames?: ReadonlyMap<string, string>): KeyView | undefined {
  const record = store.keys.get(keyId);
  if (!record) return undefined;
  const status: KeyStatus | null | undefined = statuses?.keyStatus(keyId);
  const state = status?.state ?? "unknown";
  const nameOf = (doorId: string) => doorNames?.get(doorId) ?? store.doors.get(doorId)?.name ?? null;
  const credential = <K extends "doorCode" | "keycard" | "smartKey">(kind: K) => {
    const c = status?.[kind];
    return c === undefined ? { state: "unknown", words: credentialWords(kind, "unknown") } : { state: c.state, ...(c.reason !== undefined && { reason: c.reason }), words: credentialWords(kind, c.state, c.reason) };
  };
  return {
    keyId,
    holder: record.holder?.name ?? null,
    state,
    words: stateWords(state),
    doors: (status?.doors ?? []).map((d) => ({ doorId: d.doorId, name: nameOf(d.doorId), state: d.state, reasons: [...d.reasons], words: doorWords(d.state, d.reasons), linked: d.linked })),
    credentials: {
      doorCode: status?.doorCode.state ?? "unknown",
      keycard: status?.keycard.state ?? "unknown",
      smartKey: status?.smartKey.state ?? "unknown",
    },
    credentialWords: { doorCode: credential("doorCode"), keycard: credential("keycard"), smartKey: credential("smartKey") },
    removed: record.removedAt !== null,
  };
}

/** Keys matching a search (key id, guest name, door id or door name) and a state; `limit` caps the answer. */
export function keyViews(store: Store, statuses: StatusReader | undefined, filter: { search?: string | undefined; state?: string | undefined; limit?: number } = {}): KeyView[] {
  const search = filter.search?.trim().toLowerCase();
  const doorNames = new Map(store.doors.list().map((d) => [d.doorId, d.name]));
  const out: KeyView[] = [];
  for (const keyId of store.keys.ids()) {
    if (filter.limit !== undefined && out.length >= filter.limit) break;
    const view = keyView(store, statuses, keyId, doorNames);
    if (!view) continue;
    if (filter.state !== undefined && view.state !== filter.state) continue;
    if (search !== undefined && search !== "" && !`${view.keyId} ${view.holder ?? ""} ${view.doors.map((d) => `${d.doorId} ${d.name ?? ""}`).join(" ")}`.toLowerCase().includes(search)) continue;
    out.push(view);
  }
  return out;
}

export function progress(store: Store, statuses: StatusReader | undefined): Progress {
  const credentials = { onLocks: 0, total: 0, pending: 0, failed: 0, inactive: 0 };
  for (const keyId of store.keys.ids()) {
    const status = statuses?.keyStatus(keyId);
    for (const d of status?.doors ?? []) {
      if (d.state === "revoked" || d.state === "revoking") continue;
      if (d.state === "inactive") {
        credentials.inactive++;
        continue;
      }
      credentials.total++;
      if (d.state === "active") credentials.onLocks++;
      else if (d.state === "failed") credentials.failed++;
      else credentials.pending++;
    }
  }
  const locks = { total: 0, online: 0, offline: 0, notInService: 0 };
  for (const lock of store.locks.list()) {
    locks.total++;
    if (lock.state !== "commissioned") locks.notInService++;
    else if (statuses?.lockStatus(lock.lockId)?.online ?? lock.online) locks.online++;
    else locks.offline++;
  }
  const n = (x: number) => x.toLocaleString("en-US");
  const parts = [`${n(credentials.onLocks)} of ${n(credentials.total)} credentials on their locks`];
  if (credentials.failed > 0) parts.push(`${n(credentials.failed)} failed`);
  parts.push(`${n(locks.offline)} lock${locks.offline === 1 ? "" : "s"} offline`);
  if (locks.notInService > 0) parts.push(`${n(locks.notInService)} not in service`);
  return { credentials, locks, summary: parts.join("; ") };
}
