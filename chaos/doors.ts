/**
 * The end-of-run door checks (invariant 4) and lock clocks, through the simulator's control
 * endpoint: every live key's code, card and phone (smart key, BLE rooms) must open its room
 * (and a sample the lobby, through the linked doors); every removed or checked-out key's code,
 * card and phone, every replaced card and every phone key replaced by a new pair, must not. A
 * key with a short window (chaos/traffic.ts) must open only inside it, and is not tried within
 * 90 s of its edges (lock clocks are checked to a minute). Lock clocks must be back within a minute of the real time.
 */
import type { ControlClient } from "../sim/control/client.js";
import type { ChaosCloud } from "./cloud.js";
import { tryAtDoor, type GuestCredential } from "./credentials.js";
import type { GuestKey, HotelTraffic } from "./traffic.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LOBBY_SAMPLE = 20;
/** Keys no longer live and replaced cards tried (the latest): every live key is tried. */
const REVOKED_SAMPLE = 300;
const MAX_CLOCK_ERROR_S = 60;
/** A short-window key (chaos/traffic.ts) is tried only this far from its window's edges: clocks are checked to a minute. */
const EDGE_MARGIN_MS = 90_000;

/** Whether a key's credential should open now: a short window decides; undefined: too near an edge to say. */
function openNow(k: GuestKey, now = Date.now()): boolean | undefined {
  if (!k.live) return false;
  if (!k.window) return true;
  if (now >= k.window.validFromMs + EDGE_MARGIN_MS && now < k.window.validUntilMs - EDGE_MARGIN_MS) return true;
  if (now < k.window.validFromMs - EDGE_MARGIN_MS || now >= k.window.validUntilMs + EDGE_MARGIN_MS) return false;
  return undefined;
}

interface Try {
  what: string;
  keyId: string;
  doorId: string;
  credential: GuestCredential;
  shouldOpen: boolean;
}

export async function checkDoors(control: ControlClient, cloud: ChaosCloud, traffic: HotelTraffic): Promise<{ checks: number; violations: string[] }> {
  const tries: Try[] = [];
  const keys = [...traffic.keys.values()];
  const revoked = new Set(keys.filter((k) => !k.live).slice(-REVOKED_SAMPLE));
  for (const k of keys) {
    if (!k.live && !revoked.has(k)) continue;
    const open = openNow(k);
    if (open === undefined) continue;
    const state = k.live ? (k.window && !open ? "live (outside its window)" : "live") : k.removed ? "removed" : "checked out";
    // A live key's code is tried when the hub assigned it; a revoked key's code always.
    if (k.codeAssigned || !k.live) tries.push({ what: `${state} code`, keyId: k.keyId, doorId: k.doorId, credential: { code: k.code }, shouldOpen: open });
    const uid = k.cardId ? traffic.cards.get(k.cardId)?.uid : undefined;
    if (uid) tries.push({ what: `${state} card`, keyId: k.keyId, doorId: k.doorId, credential: { uid }, shouldOpen: open });
    // A BLE room's key: the phone signs the lock's challenge with its private key (`sim phone`).
    if (k.phone) tries.push({ what: `${state} phone`, keyId: k.keyId, doorId: k.doorId, credential: { privateKey: k.phone.privateKey }, shouldOpen: open });
  }
  for (const [uid, doorId] of [...traffic.retiredCards].slice(-REVOKED_SAMPLE)) tries.push({ what: "replaced card", keyId: "-", doorId, credential: { uid }, shouldOpen: false });
  for (const [privateKey, doorId] of [...traffic.retiredPhones].slice(-REVOKED_SAMPLE)) tries.push({ what: "replaced phone key", keyId: "-", doorId, credential: { privateKey }, shouldOpen: false });
  const live = keys.filter((k) => k.live && k.codeAssigned).slice(-LOBBY_SAMPLE);
  const gone = keys.filter((k) => !k.live).slice(-LOBBY_SAMPLE / 2);
  for (const k of [...live, ...gone]) {
    const open = openNow(k);
    if (open !== undefined) tries.push({ what: `${k.live ? "live" : "revoked"} code at the lobby`, keyId: k.keyId, doorId: "lobby", credential: { code: k.code }, shouldOpen: open });
  }
  // Phones at the lobby (its controller takes smart keys too): every BLE key's, live or not, is few.
  for (const k of keys.filter((x) => x.phone).slice(-LOBBY_SAMPLE)) {
    const open = openNow(k);
    if (open !== undefined) tries.push({ what: `${k.live ? "live" : "revoked"} phone at the lobby`, keyId: k.keyId, doorId: "lobby", credential: { privateKey: k.phone!.privateKey }, shouldOpen: open });
  }

  const violations: string[] = [];
  const liveKeys = keys.filter((k) => k.live);
  const unassigned = liveKeys.filter((k) => !k.codeAssigned);
  // Fresh, non-trivial strict codes are always available: a few unassigned would be a finding.
  if (unassigned.length > 0) {
    const which = unassigned.slice(0, 5).map((k) => `${k.keyId} at ${k.doorId} wanted ${k.code}: ${k.codeAnswer ?? "no answer recorded"}`).join("; ");
    violations.push(`${unassigned.length} of ${liveKeys.length} live keys have their strict door code unassigned (${which})`);
  }
  for (const t of tries) {
    const r = await tryAtDoor(control, t.doorId, t.credential);
    if (r.granted === t.shouldOpen) continue;
    // What the hub thinks of the key, to make the violation actionable.
    const d = t.keyId === "-" ? undefined : await cloud.send({ cmd: "diagnose", keyId: t.keyId }, { giveUpMs: 20_000 });
    const findings = d?.ok ? (d.result as { findings?: { code: string; doorId?: string }[] }).findings?.map((f) => `${f.code}@${f.doorId ?? "-"}`).join(",") : d?.error.code;
    violations.push(`${t.what} of ${t.keyId} at ${t.doorId}: ${r.granted ? "opened" : `denied (reason ${r.reason})`} [hub: ${findings ?? "-"}]`);
  }
  return { checks: tries.length, violations };
}

/** Waits (up to `waitMs`) until every lock's clock is within a minute of now; @returns the locks still off. */
export async function checkClocks(control: ControlClient, waitMs: number): Promise<string[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const { locks } = (await control.list()) as { locks: { doorId: string; lockTime: string }[] };
    const off = locks.filter((l) => Math.abs(Date.parse(l.lockTime) - Date.now()) / 1000 > MAX_CLOCK_ERROR_S).map((l) => `${l.doorId} (${l.lockTime})`);
    if (off.length === 0 || Date.now() > deadline) return off;
    await sleep(5_000);
  }
}
