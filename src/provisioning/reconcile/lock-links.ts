/**
 * The engine's LockLinks over the lock-link layer (src/lock): a LockClient per lock, shared
 * transports per bus, online/offline and EVENT_NOTIFY from the client's session.
 */
import type { CredentialKindValue, LockClient, LockLinks as ClientLinks } from "../../lock/index.js";
import type { LockRecord } from "../../store/index.js";
import type { LockLinkHandle, LockLinks } from "./fleet.js";
import type { LockLinkPort } from "./ports.js";

/** Safety-net STATUS poll for links where the lock notifies (TCP/BLE). */
export const NOTIFY_LINK_POLL_MS = 60_000;

export function portOf(client: LockClient): LockLinkPort {
  const kind = (k: number): CredentialKindValue => k as CredentialKindValue;
  return {
    get online() {
      return client.online;
    },
    get paired() {
      return client.session.paired;
    },
    ident: () => client.ident(),
    status: () => client.status(),
    setTime: (t) => client.setTime(t),
    putCredential: (e) => client.putCredential({ ...e, kind: kind(e.kind) }),
    deleteCredential: (k, slot) => client.deleteCredential(kind(k), slot),
    readSlots: (k, first, count) => client.readSlots(kind(k), first, count),
    tableDigest: (k) => client.tableDigest(kind(k)),
    unlock: (s) => client.unlock(s),
    readEvents: (from, max) => client.readEvents(from, max),
    ackEvents: (upto) => client.ackEvents(upto),
    pair: () => client.pair(),
    pairing: client.profile.pairing,
    pairKx: (setupKey) => client.pairKx(setupKey),
    identHint: () => client.identHint(),
    fwBegin: async (size, sha256, version) => ({ maxChunk: await client.firmwareBegin(size, sha256, version) }),
    fwChunk: (offset, data) => client.firmwareChunk(offset, data),
    fwCommit: () => client.firmwareCommit(),
    fwAbort: () => client.firmwareAbort(),
  };
}

export function handleOf(client: LockClient, close: () => Promise<void>, options: { notifyPollMs?: number } = {}): LockLinkHandle {
  const session = client.session;
  // A serial lock (even behind a TCP serial server) speaks only when polled: events and door
  // state are seen on a poll. TCP and BLE locks send EVENT_NOTIFY; their poll is a safety net.
  const polled = client.profile.link === "serial-rs485" || client.profile.link === "serial-uart";
  const pollIntervalMs = polled ? client.profile.pollIntervalMs : Math.max(client.profile.pollIntervalMs, options.notifyPollMs ?? NOTIFY_LINK_POLL_MS);
  return {
    port: portOf(client),
    pollIntervalMs,
    onOnlineChange(listener) {
      const on = (): void => listener(true);
      const off = (): void => listener(false);
      session.on("online", on);
      session.on("offline", off);
      return () => {
        session.off("online", on);
        session.off("offline", off);
      };
    },
    onEventNotify(listener) {
      session.on("eventNotify", listener);
      return () => session.off("eventNotify", listener);
    },
    onSuspicious(listener) {
      session.on("suspicious", listener);
      return () => session.off("suspicious", listener);
    },
    close,
  };
}

/** LockLinks for the engine from the lock layer's registry of clients. */
export function engineLockLinks(links: ClientLinks, options: { notifyPollMs?: number } = {}): LockLinks {
  return {
    async open(lock: LockRecord): Promise<LockLinkHandle> {
      const client = links.client({ lockId: lock.lockId, profileId: lock.profileId, link: lock.link });
      return { ...handleOf(client, () => links.remove(lock.lockId), options), linkFailure: () => links.linkFailure(lock.lockId) };
    },
  };
}
