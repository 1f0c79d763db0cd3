/**
 * Commissioned locks: how to reach each one (profile, link), its link key, its last IDENT
 * and health. The sealing counters live in counters.ts; the slot tables in slots.ts.
 * The link key is a secret: never log a LockRecord whole.
 */
import type { LockLink } from "../../access/model.js";
import type { IdentInfo } from "../../protocol/llp/commands.js";
import { fromBool, fromJson, statementCache, toBool, toJson, type RepoContext } from "../db.js";

/**
 * commissioning: lock.commission accepted, not yet paired and verified;
 * commissioned: in service;
 * replaced: IDENT showed another lockId at this link; waits for an installer (never auto-accepted).
 */
export type LockState = "commissioning" | "commissioned" | "replaced";

/** The last IDENT of a lock as the protocol defines it (lock-link-protocol.md §3), stored one column each. */
export type LockIdent = IdentInfo;

export interface LockRecord {
  lockId: string;
  profileId: string;
  link: LockLink;
  /** 16 bytes once paired; null before PAIR (or after a factory reset was detected). Secret. */
  linkKey: Buffer | null;
  state: LockState;
  ident: LockIdent | null;
  online: boolean;
  /** ms since epoch of the last frame from the lock. */
  lastSeen: number | null;
  /** Percent, as the lock reports it. */
  battery: number | null;
  doorOpen: boolean | null;
  clockDriftS: number | null;
  /** Highest lock event seq acknowledged to the lock (ACK_EVENTS): events <= it are in the outbox. */
  lastEventSeq: number;
  commissionedAt: number | null;
  updatedAt: number;
}

/** Health fields the lock layer refreshes; omitted fields keep their value. */
export interface LockHealth {
  online?: boolean;
  lastSeen?: number | null;
  battery?: number | null;
  doorOpen?: boolean | null;
  clockDriftS?: number | null;
}

interface LockRow {
  lock_id: string;
  profile_id: string;
  link: string;
  link_key: Buffer | null;
  state: LockState;
  ident_protocol_version: number | null;
  ident_lock_id: string | null;
  ident_model: string | null;
  ident_firmware: string | null;
  ident_capabilities: number | null;
  ident_code_slots: number | null;
  ident_card_slots: number | null;
  ident_mobile_key_slots: number | null;
  ident_code_min_len: number | null;
  ident_code_max_len: number | null;
  online: number;
  last_seen: number | null;
  battery: number | null;
  door_open: number | null;
  clock_drift_s: number | null;
  last_event_seq: number;
  commissioned_at: number | null;
  updated_at: number;
}

const toRecord = (r: LockRow): LockRecord => ({
  lockId: r.lock_id,
  profileId: r.profile_id,
  link: fromJson<LockLink>(r.link),
  linkKey: r.link_key,
  state: r.state,
  ident: identOf(r),
  online: toBool(r.online),
  lastSeen: r.last_seen,
  battery: r.battery,
  doorOpen: r.door_open === null ? null : toBool(r.door_open),
  clockDriftS: r.clock_drift_s,
  lastEventSeq: r.last_event_seq,
  commissionedAt: r.commissioned_at,
  updatedAt: r.updated_at,
});

/** All IDENT columns are written together: the model is there exactly when an IDENT was stored. */
function identOf(r: LockRow): LockIdent | null {
  if (r.ident_model === null) return null;
  return {
    protocolVersion: r.ident_protocol_version ?? 0,
    lockId: r.ident_lock_id ?? r.lock_id,
    model: r.ident_model,
    firmware: r.ident_firmware ?? "",
    capabilities: r.ident_capabilities ?? 0,
    codeSlots: r.ident_code_slots ?? 0,
    cardSlots: r.ident_card_slots ?? 0,
    mobileKeySlots: r.ident_mobile_key_slots ?? 0,
    codeMinLen: r.ident_code_min_len ?? 0,
    codeMaxLen: r.ident_code_max_len ?? 0,
  };
}

const COLUMNS = `lock_id, profile_id, link, link_key, state, ident_protocol_version, ident_lock_id, ident_model, ident_firmware,
  ident_capabilities, ident_code_slots, ident_card_slots, ident_mobile_key_slots, ident_code_min_len, ident_code_max_len, online, last_seen, battery, door_open,
  clock_drift_s, coalesce(last_event_seq, 0) AS last_event_seq, commissioned_at, updated_at`;

/** The lock rows with their acknowledged event seq, which lives in lock_link_counters (v12). */
const FROM = "locks LEFT JOIN lock_link_counters USING (lock_id)";

export class LocksRepo {
  private readonly q;
  constructor(private readonly ctx: RepoContext) {
    this.q = statementCache(ctx.db);
  }

  get(lockId: string): LockRecord | undefined {
    const r = this.q(`SELECT ${COLUMNS} FROM ${FROM} WHERE lock_id = ?`).get(lockId) as LockRow | undefined;
    return r && toRecord(r);
  }

  list(): LockRecord[] {
    return (this.q(`SELECT ${COLUMNS} FROM ${FROM} ORDER BY lock_id`).all() as LockRow[]).map(toRecord);
  }

  /**
   * Records a lock to commission (lock.commission), or updates profile and link of a known one.
   * A new lock starts `commissioning`; a known one keeps its state, key and counters.
   * @returns whether the lock was new.
   */
  upsert(lock: { lockId: string; profileId: string; link: LockLink }): boolean {
    const now = this.ctx.clock.now();
    const existed = this.get(lock.lockId) !== undefined;
    this.q(
      `INSERT INTO locks (lock_id, profile_id, link, state, updated_at)
       VALUES (@lockId, @profileId, @link, 'commissioning', @now)
       ON CONFLICT (lock_id) DO UPDATE SET profile_id = excluded.profile_id, link = excluded.link, updated_at = excluded.updated_at`,
    ).run({ lockId: lock.lockId, profileId: lock.profileId, link: toJson(lock.link), now });
    return !existed;
  }

  /** Moves the lock to `state`; entering `commissioned` stamps commissionedAt. @returns whether the lock exists. */
  setState(lockId: string, state: LockState): boolean {
    const now = this.ctx.clock.now();
    return (
      this.q(
        `UPDATE locks SET state = @state, updated_at = @now,
           commissioned_at = CASE WHEN @state = 'commissioned' AND state <> 'commissioned' THEN @now ELSE commissioned_at END
         WHERE lock_id = @lockId`,
      ).run({ lockId, state, now }).changes > 0
    );
  }

  /**
   * Stores the link key set by PAIR (or clears it with null). The lock starts its counters
   * afresh for a new key; the hub's send counter never decreases (lock-link-protocol.md §9.3).
   * Call it before sending PAIR, so the key the lock will hold is never lost to a crash.
   */
  setLinkKey(lockId: string, linkKey: Buffer | null): boolean {
    if (linkKey !== null && linkKey.length !== 16) throw new RangeError("a link key is 16 bytes");
    // One transaction: the key and the reset of the accepted lock counter (lock_link_counters, v11).
    return this.ctx.db
      .transaction(() => {
        const changed = this.q("UPDATE locks SET link_key = ?, updated_at = ? WHERE lock_id = ?").run(linkKey, this.ctx.clock.now(), lockId).changes > 0;
        if (changed) this.q("UPDATE lock_link_counters SET lock_counter_accepted = 0 WHERE lock_id = ?").run(lockId);
        return changed;
      })
      .immediate();
  }

  /** Stores the last IDENT answer (model, firmware, slot counts...). */
  setIdent(lockId: string, ident: LockIdent): boolean {
    return (
      this.q(
        `UPDATE locks SET ident_protocol_version = @protocolVersion, ident_lock_id = @identLockId, ident_model = @model,
           ident_firmware = @firmware, ident_capabilities = @capabilities, ident_code_slots = @codeSlots, ident_card_slots = @cardSlots,
           ident_mobile_key_slots = @mobileKeySlots, ident_code_min_len = @codeMinLen, ident_code_max_len = @codeMaxLen, updated_at = @now
         WHERE lock_id = @lockId`,
      ).run({
        lockId,
        identLockId: ident.lockId,
        protocolVersion: ident.protocolVersion,
        model: ident.model,
        firmware: ident.firmware,
        capabilities: ident.capabilities,
        codeSlots: ident.codeSlots,
        cardSlots: ident.cardSlots,
        mobileKeySlots: ident.mobileKeySlots,
        codeMinLen: ident.codeMinLen,
        codeMaxLen: ident.codeMaxLen,
        now: this.ctx.clock.now(),
      }).changes > 0
    );
  }

  /** Updates the given health fields only. */
  updateHealth(lockId: string, health: LockHealth): boolean {
    const sets: string[] = [];
    const params: Record<string, unknown> = { lockId, now: this.ctx.clock.now() };
    if (health.online !== undefined) {
      sets.push("online = @online");
      params.online = fromBool(health.online);
    }
    if (health.lastSeen !== undefined) {
      sets.push("last_seen = @lastSeen");
      params.lastSeen = health.lastSeen;
    }
    if (health.battery !== undefined) {
      sets.push("battery = @battery");
      params.battery = health.battery;
    }
    if (health.doorOpen !== undefined) {
      sets.push("door_open = @doorOpen");
      params.doorOpen = health.doorOpen === null ? null : fromBool(health.doorOpen);
    }
    if (health.clockDriftS !== undefined) {
      sets.push("clock_drift_s = @clockDriftS");
      params.clockDriftS = health.clockDriftS;
    }
    sets.push("updated_at = @now");
    return this.q(`UPDATE locks SET ${sets.join(", ")} WHERE lock_id = @lockId`).run(params).changes > 0;
  }

  /**
   * Records the lock event seq acknowledged to the lock. Commit this in the same transaction
   * as the outbox appends of those events, before sending ACK_EVENTS. Never moves backwards.
   * In the narrow lock_link_counters row (v12), not the wide locks row: each event commit
   * rewrote a page of `locks` for it.
   */
  setLastEventSeq(lockId: string, seq: number): boolean {
    return this.q("UPDATE lock_link_counters SET last_event_seq = max(last_event_seq, ?) WHERE lock_id = ?").run(seq, lockId).changes > 0;
  }

  /**
   * Resets the acknowledged event seq, for a lock whose event ring restarted from 1
   * (factory reset): setLastEventSeq would refuse to go back.
   */
  resetLastEventSeq(lockId: string, seq = 0): boolean {
    return this.q("UPDATE lock_link_counters SET last_event_seq = ? WHERE lock_id = ?").run(seq, lockId).changes > 0;
  }

  /** Forgets a decommissioned lock with its slot table. Doors naming it keep the name. */
  remove(lockId: string): boolean {
    return this.q("DELETE FROM locks WHERE lock_id = ?").run(lockId).changes > 0;
  }
}
