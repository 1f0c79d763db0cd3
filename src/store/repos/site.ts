/** The site the hub serves (site.configure): exactly one, or none before configuration. */
import type { Site } from "../../access/model.js";
import { fromBool, statementCache, toBool, type RepoContext } from "../db.js";

interface SiteRow {
  site_id: string;
  timezone: string;
  door_code_enabled: number;
  keycard_enabled: number;
  smart_key_enabled: number;
  door_code_length: number;
  door_held_open_seconds: number;
  at_risk_minutes: number;
  updated_at: number;
}

export class SiteRepo {
  private readonly q;
  constructor(private readonly ctx: RepoContext) {
    this.q = statementCache(ctx.db);
  }

  /** The configured site, or undefined before the first site.configure. */
  get(): Site | undefined {
    const r = this.q("SELECT * FROM site WHERE id = 1").get() as SiteRow | undefined;
    if (!r) return undefined;
    return {
      siteId: r.site_id,
      timezone: r.timezone,
      credentialTypes: {
        doorCode: toBool(r.door_code_enabled),
        keycard: toBool(r.keycard_enabled),
        smartKey: toBool(r.smart_key_enabled),
      },
      doorCodeLength: r.door_code_length,
      doorHeldOpenSeconds: r.door_held_open_seconds,
      atRiskMinutes: r.at_risk_minutes,
    };
  }

  /** Replaces the site settings. */
  put(site: Site): void {
    this.q(
      `INSERT INTO site (id, site_id, timezone, door_code_enabled, keycard_enabled, smart_key_enabled,
         door_code_length, door_held_open_seconds, at_risk_minutes, updated_at)
       VALUES (1, @siteId, @timezone, @doorCode, @keycard, @smartKey, @doorCodeLength, @doorHeldOpenSeconds, @atRiskMinutes, @now)
       ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, timezone = excluded.timezone,
         door_code_enabled = excluded.door_code_enabled, keycard_enabled = excluded.keycard_enabled,
         smart_key_enabled = excluded.smart_key_enabled, door_code_length = excluded.door_code_length,
         door_held_open_seconds = excluded.door_held_open_seconds, at_risk_minutes = excluded.at_risk_minutes,
         updated_at = excluded.updated_at`,
    ).run({
      siteId: site.siteId,
      timezone: site.timezone,
      doorCode: fromBool(site.credentialTypes.doorCode),
      keycard: fromBool(site.credentialTypes.keycard),
      smartKey: fromBool(site.credentialTypes.smartKey),
      doorCodeLength: site.doorCodeLength,
      doorHeldOpenSeconds: site.doorHeldOpenSeconds,
      atRiskMinutes: site.atRiskMinutes,
      now: this.ctx.clock.now(),
    });
  }

  /** Removes the site (a wiped desired state). @returns whether there was one. */
  clear(): boolean {
    return this.q("DELETE FROM site").run().changes > 0;
  }
}
