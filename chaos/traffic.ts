/**
 * Hotel traffic through the contract: manual and PMS keys with door codes and keycards,
 * check-ins and check-outs, regenerated codes, replaced keycards, keycard inventory changes,
 * removals, remote unlocks and whole-state snapshots, against random rooms. A BLE room's lock
 * (ble-deadbolt) has no card reader: its keys get a smart key (an Ed25519 pair made here, the
 * public half to the hub, the private half kept for the phone at the door checks) instead of a
 * card, and a key update may give the phone a new pair. It remembers what each key should open
 * (its code, its card, its phone, the credentials a key gave up, a short window when it has
 * one) so the guests (chaos/guests.ts) and the end of the run can try them at the doors.
 * (Over 400 lines: the traffic, its key bodies and the snapshot share one model of the cloud's
 * state; split, each would need the others' private maps.)
 *
 * A snapshot is the cloud's whole desired state; while it is sent nothing else is (the gate),
 * so it must add and remove nothing at the hub: what it does add or remove is a difference
 * between what the hub holds and what it acknowledged (reported as a violation).
 */
import { generateKeyPairSync } from "node:crypto";
import { isTrivialCode } from "../src/access/codes.js";
import type { CommandResponse } from "../src/cloud/responses.js";
import type { ChaosCloud } from "./cloud.js";
import type { GuestCredential } from "./credentials.js";
import { chaosDoors, CHAOS_SITE } from "./property.js";

export interface GuestKey {
  keyId: string;
  version: number;
  doorId: string;
  source: "manual" | "pms";
  /** The strict code the cloud asked for. */
  code: string;
  /**
   * Whether the hub assigned it (key status doorCode "assigned" with that code). A strict code
   * the hub finds unavailable leaves key.upsert ok, with the code unassigned and a warning.
   */
  codeAssigned: boolean;
  /** What the last answer said of its door code (state, reason, warnings), for a finding's story. */
  codeAnswer?: string;
  /** Its keycard (cardId in the inventory), when it has one (never at a BLE room). */
  cardId?: string;
  /** Its phone's smart key (BLE rooms only): the private half stays here, for the door checks. */
  phone?: PhoneKey;
  checkedIn: boolean;
  removed: boolean;
  /** Whether code and card should open the room now (checked in, not removed). */
  live: boolean;
  /**
   * A short access window (a share of keys: it opens and closes during the run, minute
   * bounds); undefined: a stay from yesterday to three days on, open the whole run.
   */
  window?: { validFromMs: number; validUntilMs: number };
}

/** A credential a key no longer has (regenerated code, replaced card, new phone pair): guests try it too. */
export interface RetiredCredential {
  keyId: string;
  doorId: string;
  credential: GuestCredential;
  /** The old code / cardId; for a phone the version of the upsert that gave the new pair. */
  expected: { version: number; code?: string; cardId?: string };
}

export interface Keycard {
  cardId: string;
  uid: string;
  assignedKeyId?: string;
  /** Given to a key once: never removed from the inventory (the hub may still hold it). */
  used: boolean;
}

export interface PhoneKey {
  /** The Ed25519 seed, hex (what `sim phone` takes). */
  privateKey: string;
  /** The raw public key, base64 (smartKey.publicKey). */
  publicKey: string;
}

function newPhoneKey(): PhoneKey {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  return { privateKey: Buffer.from(jwk.d!, "base64url").toString("hex"), publicKey: Buffer.from(jwk.x!, "base64url").toString("base64") };
}

const MAX_LIVE_PER_ROOM = 3;
/** The share of new keys with a short window (opening 1–3 minutes on, 2–4 minutes long). */
const SHORT_WINDOW_SHARE = 0.3;
const KEYS_PER_PAGE = 40;
/** Keycards per snapshot page: every page stays well under the contract's 128 KiB. */
const CARDS_PER_PAGE = 500;

const localDate = (d: Date) => new Intl.DateTimeFormat("en-CA", { timeZone: CHAOS_SITE.timezone }).format(d);
const localTime = (d: Date) => new Intl.DateTimeFormat("en-GB", { timeZone: CHAOS_SITE.timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(d);

/** Steps run side by side; a snapshot runs alone. */
class Gate {
  private shared = 0;
  private exclusive: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  async run<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.exclusive;
    this.shared++;
    try {
      return await fn();
    } finally {
      if (--this.shared === 0) this.drained?.();
    }
  }

  async alone<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.exclusive;
    let done!: () => void;
    this.exclusive = new Promise((r) => (done = r));
    try {
      if (this.shared > 0) await new Promise<void>((r) => (this.drained = r));
      this.drained = undefined;
      return await fn();
    } finally {
      this.exclusive = undefined;
      done();
    }
  }
}

export class HotelTraffic {
  readonly keys = new Map<string, GuestKey>();
  readonly cards = new Map<string, Keycard>();
  /** Cards that served a key and were replaced: uid -> the room they must no longer open. */
  readonly retiredCards = new Map<string, string>();
  /** Phone keys a key no longer has (the key was updated with a new pair): private key -> its room. */
  readonly retiredPhones = new Map<string, string>();
  /** Every credential a live key gave up (the guests try them during the run). */
  readonly retired: RetiredCredential[] = [];
  /** Every code and card UID handed to the hub (the secret scan looks for them in the logs). */
  readonly codes = new Set<string>();
  readonly uids = new Set<string>();
  readonly snapshots = { sent: 0, completed: 0, differences: [] as string[] };
  readonly actions: Record<string, number> = {};
  private readonly gate = new Gate();
  /** Keys a sender is acting on: no two senders act on one key at once (the cloud's order per key). */
  private readonly busy = new Set<string>();
  private next = 0;

  constructor(
    private readonly cloud: ChaosCloud,
    private readonly rooms: readonly string[],
    private readonly random: () => number,
    /** door -> the lockId it has now (chaos/installer.ts): what a snapshot's doors name. */
    private readonly doorLocks?: ReadonlyMap<string, string>,
    /** Rooms whose lock takes smart keys and no keycards. */
    private readonly bleRooms: ReadonlySet<string> = new Set(),
  ) {}

  /** A sender is acting on the key: its command may be applied at the hub and not yet answered. */
  isBusy(keyId: string): boolean {
    return this.busy.has(keyId);
  }

  /** Runs `fn` with no snapshot under way (the installer's steps: a snapshot between them would undo them). */
  whileNoSnapshot<T>(fn: () => Promise<T>): Promise<T> {
    return this.gate.run(fn);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)]!;
  }

  private freshCode(): string {
    for (;;) {
      const c = String(10_000_000 + Math.floor(this.random() * 89_999_999));
      // Never a code the hub refuses as too easy to guess (palindromes, repeats...).
      if (!this.codes.has(c) && !/(\d)\1\1/.test(c) && !isTrivialCode(c)) {
        this.codes.add(c);
        return c;
      }
    }
  }

  private freshUid(): string {
    for (;;) {
      const uid = Array.from({ length: 7 }, () => Math.floor(this.random() * 256).toString(16).padStart(2, "0")).join("");
      if (!this.uids.has(uid)) {
        this.uids.add(uid);
        return uid;
      }
    }
  }

  private keyBody(k: GuestKey): Record<string, unknown> {
    const now = Date.now();
    // A short window's bounds are whole minutes: the contract's times of day are HH:MM, local.
    const period = k.window
      ? { accessPeriod: { from: localDate(new Date(k.window.validFromMs)), to: localDate(new Date(k.window.validUntilMs)) }, arrivalTime: localTime(new Date(k.window.validFromMs)), departureTime: localTime(new Date(k.window.validUntilMs)) }
      : { accessPeriod: { from: localDate(new Date(now - 86_400_000)), to: localDate(new Date(now + 3 * 86_400_000)) }, arrivalTime: "00:00", departureTime: "23:59" };
    return {
      keyId: k.keyId,
      version: k.version,
      source: k.source,
      ...(k.source === "pms" ? { pms: { provider: "mews", reservationId: `res-${k.keyId}` } } : {}),
      checkedIn: k.checkedIn,
      doors: [{ doorId: k.doorId, ...period, allowProvisioning: true, allowLinkedDoorsAccess: true }],
      doorCode: { enabled: true, assignment: "strict", code: k.code },
      keycard: k.cardId ? { enabled: true, cardId: k.cardId } : { enabled: false },
      smartKey: k.phone ? { enabled: true, publicKey: k.phone.publicKey } : { enabled: false },
    };
  }

  /**
   * A card of the inventory no key holds (a new one is added first when there is none), taken
   * at once: the other senders never pick or remove it, even if this sender's command fails.
   */
  private async freeCard(): Promise<Keycard | undefined> {
    const free = [...this.cards.values()].filter((c) => c.assignedKeyId === undefined && !c.used);
    const card = free.length > 0 ? this.pick(free) : (await this.addCards(2))[0];
    if (card) card.used = true;
    return card;
  }

  private async addCards(n: number): Promise<Keycard[]> {
    const cards = Array.from({ length: n }, () => ({ cardId: `card-${++this.next}`, uid: this.freshUid(), used: false }));
    const r = await this.cloud.send({ cmd: "keycards.upsert", cards: cards.map((c) => ({ cardId: c.cardId, uid: c.uid, label: `Card ${c.cardId}` })) });
    if (!r?.ok) return [];
    for (const c of cards) this.cards.set(c.cardId, c);
    return cards;
  }

  private assign(k: GuestKey, card: Keycard | undefined): void {
    if (k.cardId) this.cards.get(k.cardId)!.assignedKeyId = undefined;
    k.cardId = card?.cardId;
    if (card) {
      card.assignedKeyId = k.keyId;
      card.used = true;
    }
  }

  /** One random action; resolves when the hub answered (or the cloud gave up). */
  async step(): Promise<string> {
    const name = await this.gate.run(() => this.act());
    this.actions[name] = (this.actions[name] ?? 0) + 1;
    return name;
  }

  private async act(): Promise<string> {
    const live = [...this.keys.values()].filter((k) => k.live);
    const r = this.random();
    // A hotel room has a guest or two at a time: at most MAX_LIVE_PER_ROOM live keys, far below a lock's slots.
    const perRoom = new Map<string, number>();
    for (const k of live) perRoom.set(k.doorId, (perRoom.get(k.doorId) ?? 0) + 1);
    const freeRooms = this.rooms.filter((d) => (perRoom.get(d) ?? 0) < MAX_LIVE_PER_ROOM);
    if (freeRooms.length > 0 && (live.length < 3 || r < 0.33)) {
      const pms = this.random() < 0.5;
      const k: GuestKey = { keyId: `k-${++this.next}`, version: 1, doorId: this.pick(freeRooms), source: pms ? "pms" : "manual", code: this.freshCode(), codeAssigned: false, checkedIn: true, removed: false, live: true };
      if (this.random() < SHORT_WINDOW_SHARE) {
        const from = Math.ceil(Date.now() / 60_000) * 60_000 + (1 + Math.floor(this.random() * 2)) * 60_000;
        k.window = { validFromMs: from, validUntilMs: from + (2 + Math.floor(this.random() * 3)) * 60_000 };
      }
      // A BLE room's lock takes phones, not cards: a card there would fail (not_supported).
      const ble = this.bleRooms.has(k.doorId);
      if (ble) k.phone = newPhoneKey();
      const card = !ble && this.random() < 0.4 ? await this.freeCard() : undefined;
      if (card) k.cardId = card.cardId;
      const res = await this.cloud.send({ cmd: "key.upsert", ...this.keyBody(k) });
      if (res?.ok) {
        k.cardId = undefined;
        this.assign(k, card);
        k.codeAssigned = codeAssigned(res, k.code);
        k.codeAnswer = codeAnswer(res);
        this.keys.set(k.keyId, k);
      }
      return "key.upsert";
    }
    if (r < 0.36) {
      const unused = [...this.cards.values()].filter((c) => !c.used && c.assignedKeyId === undefined);
      if (unused.length > 4 || (unused.length > 0 && this.random() < 0.3)) {
        const c = this.pick(unused);
        // Taken at once, like a card given to a key: no other sender gives it to a key meanwhile.
        c.used = true;
        const res = await this.cloud.send({ cmd: "keycards.remove", cardIds: [c.cardId] });
        if (res?.ok) this.cards.delete(c.cardId);
        return "keycards.remove";
      }
      await this.addCards(1 + Math.floor(this.random() * 3));
      return "keycards.upsert";
    }
    const idle = live.filter((x) => !this.busy.has(x.keyId));
    if (idle.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return "idle";
    }
    const withCard = idle.filter((x) => x.cardId !== undefined);
    const k = r >= 0.5 && r < 0.56 && withCard.length > 0 ? this.pick(withCard) : this.pick(idle);
    this.busy.add(k.keyId);
    try {
      return await this.actOn(k, r);
    } finally {
      this.busy.delete(k.keyId);
    }
  }

  private async actOn(k: GuestKey, r: number): Promise<string> {
    if (r < 0.5 || (r < 0.56 && k.cardId === undefined)) {
      const code = this.freshCode();
      const res = await this.cloud.send({ cmd: "doorcode.regenerate", keyId: k.keyId, assignment: "strict", code });
      if (res?.ok) {
        this.retired.push({ keyId: k.keyId, doorId: k.doorId, credential: { code: k.code }, expected: { version: k.version, code: k.code } });
        k.code = code;
        k.codeAssigned = codeAssigned(res, code);
        k.codeAnswer = codeAnswer(res);
      }
      return "doorcode.regenerate";
    }
    if (r < 0.56) {
      const card = await this.freeCard();
      if (!card) return "keycard.replace";
      const res = await this.cloud.send({ cmd: "keycard.replace", keyId: k.keyId, cardId: card.cardId });
      if (res?.ok) {
        if (k.cardId) {
          const uid = this.cards.get(k.cardId)!.uid;
          this.retiredCards.set(uid, k.doorId);
          this.retired.push({ keyId: k.keyId, doorId: k.doorId, credential: { uid }, expected: { version: k.version, cardId: k.cardId } });
        }
        this.assign(k, card);
      }
      return "keycard.replace";
    }
    if (r < 0.66) {
      k.version++;
      const res = await this.cloud.send({ cmd: "key.remove", keyId: k.keyId, version: k.version });
      if (res?.ok) {
        k.live = false;
        k.removed = true;
        // A removed key's card goes back to the desk; it must not open the room any more.
        if (k.cardId) this.cards.get(k.cardId)!.assignedKeyId = undefined;
      }
      return "key.remove";
    }
    if (r < 0.74) {
      const res = await this.cloud.send({ cmd: "key.checkin", keyId: k.keyId, checkedIn: false });
      if (res?.ok) {
        k.live = false;
        k.checkedIn = false;
      }
      return "key.checkin";
    }
    if (r < 0.84) {
      await this.cloud.send({ cmd: "door.unlock", doorId: k.doorId, seconds: 3 });
      return "door.unlock";
    }
    // A phone may get a new key pair with the update: the old one must stop opening the door.
    const phone = k.phone && this.random() < 0.5 ? newPhoneKey() : k.phone;
    const next = { ...k, version: k.version + 1, source: "manual" as const, phone };
    const res = await this.cloud.send({ cmd: "key.upsert", ...this.keyBody(next) });
    if (res?.ok) {
      if (k.phone && phone !== k.phone) {
        this.retiredPhones.set(k.phone.privateKey, k.doorId);
        this.retired.push({ keyId: k.keyId, doorId: k.doorId, credential: { privateKey: k.phone.privateKey }, expected: { version: next.version } });
      }
      Object.assign(k, next, { codeAssigned: codeAssigned(res, k.code), codeAnswer: codeAnswer(res) });
    }
    return "key.upsert";
  }

  /**
   * Sends the whole desired state as a paged sync.snapshot, alone. `afterPage` runs after each
   * answered page but the last (the harness kills the hub there). @returns whether it completed.
   */
  async snapshot(afterPage?: (page: number, pages: number) => Promise<void>): Promise<boolean> {
    return this.gate.alone(async () => {
      const keys = [...this.keys.values()].filter((k) => !k.removed).map((k) => this.keyBody(k));
      const cards = [...this.cards.values()].map((c) => ({ cardId: c.cardId, uid: c.uid, label: `Card ${c.cardId}` }));
      const pages = Math.max(1, Math.ceil(keys.length / KEYS_PER_PAGE), Math.ceil(cards.length / CARDS_PER_PAGE));
      const snapshotId = `snap-${++this.next}`;
      this.snapshots.sent++;
      let last: Record<string, unknown> | undefined;
      for (let page = 1; page <= pages; page++) {
        const res = await this.cloud.send({
          cmd: "sync.snapshot",
          snapshotId,
          page,
          pages,
          ...(page === 1 && { site: CHAOS_SITE, doors: chaosDoors(this.rooms.length, this.doorLocks) }),
          keys: keys.slice((page - 1) * KEYS_PER_PAGE, page * KEYS_PER_PAGE),
          keycards: cards.slice((page - 1) * CARDS_PER_PAGE, page * CARDS_PER_PAGE),
        });
        if (!res?.ok) {
          this.snapshots.differences.push(`${snapshotId} page ${page}: ${res ? `${res.error.code}: ${res.error.message}` : "no answer"}`);
          return false;
        }
        if (page < pages) await afterPage?.(page, pages);
        else last = res.result as Record<string, unknown>;
      }
      this.snapshots.completed++;
      const counts = last as { doors?: Record<string, number>; keys?: Record<string, number>; keycards?: Record<string, number> };
      const diff = [
        ["doors added", counts.doors?.added],
        ["doors removed", counts.doors?.removed],
        ["keys added", counts.keys?.added],
        ["keys removed", counts.keys?.removed],
        ["keycards added", counts.keycards?.added],
        ["keycards removed", counts.keycards?.removed],
      ].filter(([, n]) => typeof n === "number" && n > 0);
      if (diff.length > 0) this.snapshots.differences.push(`${snapshotId}: the hub's state differed from the cloud's: ${diff.map(([w, n]) => `${n} ${w}`).join(", ")}`);
      return true;
    });
  }
}

/** Whether a key command's answer (a key status) says the hub assigned this door code. */
function codeAssigned(res: CommandResponse, code: string): boolean {
  if (!res.ok) return false;
  const doorCode = (res.result as { doorCode?: { state?: string; code?: string } }).doorCode;
  return doorCode?.state === "assigned" && doorCode.code === code;
}

/** The door code part of a key command's answer, and its warnings, as text. */
function codeAnswer(res: CommandResponse): string {
  if (!res.ok) return `refused ${res.error.code}`;
  const doorCode = (res.result as { doorCode?: unknown }).doorCode;
  return `${JSON.stringify(doorCode ?? null)}${res.warnings && res.warnings.length > 0 ? ` warnings ${JSON.stringify(res.warnings)}` : ""}`;
}
