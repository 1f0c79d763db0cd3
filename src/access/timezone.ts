/**
 * Local wall time <-> UTC in an IANA time zone with nothing but Intl.DateTimeFormat.
 *
 * A wall time is a calendar date and a time of day as printed on a clock in the zone. Most
 * map to exactly one instant; around offset changes (DST) one may map to none (the gap when
 * clocks jump forward) or two (the overlap when clocks fall back). The caller picks how an
 * overlap resolves; a gap always resolves to the first instant after it (the transition),
 * i.e. 02:30 on a spring-forward day reads as 03:00 — see docs/access-rules.md.
 */
import { err, ok, type Result } from "./result.js";

export interface WallTime {
  year: number;
  /** 1..12 */
  month: number;
  /** 1..31 */
  day: number;
  /** 0..23 */
  hour: number;
  /** 0..59 */
  minute: number;
}

/** How a repeated wall time (fall-back overlap) resolves. */
export type OverlapChoice = "earlier" | "later";

/** What happened while resolving a wall time. */
export type Resolution = "exact" | "gap_shifted" | "overlap_earlier" | "overlap_later";

export interface ResolvedInstant {
  /** Milliseconds since the epoch, UTC. */
  utcMs: number;
  resolution: Resolution;
}

export interface TimeZoneError {
  code: "invalid_timezone";
  timezone: string;
  message: string;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

// Building a DateTimeFormat is expensive (ICU); one per zone is kept. A pure memo: the
// output only depends on the zone name.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      era: "short",
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** True when the runtime knows the IANA zone. */
export function isValidTimeZone(timezone: string): boolean {
  if (timezone.length === 0) return false;
  try {
    formatterFor(timezone);
    return true;
  } catch {
    // Intl throws RangeError for an unknown zone: that is the answer, not a failure.
    return false;
  }
}

export function checkTimeZone(timezone: string): Result<string, TimeZoneError> {
  return isValidTimeZone(timezone)
    ? ok(timezone)
    : err({ code: "invalid_timezone", timezone, message: `unknown IANA time zone "${timezone}"` });
}

/** The wall time (with seconds) shown in the zone at an instant. */
export function wallTimeAt(utcMs: number, timezone: string): WallTime & { second: number } {
  const parts = formatterFor(timezone).formatToParts(new Date(utcMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number => {
    const p = parts.find((x) => x.type === type);
    return p ? Number(p.value) : 0;
  };
  const era = parts.find((x) => x.type === "era")?.value;
  const y = get("year");
  return {
    year: era === "BC" || era === "B" ? 1 - y : y,
    month: get("month"),
    day: get("day"),
    hour: get("hour"),
    minute: get("minute"),
    second: get("second"),
  };
}

/** The wall time as if it were UTC, in ms: the arithmetic form of a wall time. */
function wallMs(w: WallTime, second = 0): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, second);
}

/** UTC offset of the zone at an instant, in ms (east positive: Prague in winter = +3600000). */
export function offsetAt(utcMs: number, timezone: string): number {
  // Intl works to the second; drop the ms part so the offset comes out whole.
  const whole = Math.floor(utcMs / 1000) * 1000;
  const w = wallTimeAt(whole, timezone);
  return wallMs(w, w.second) - whole;
}

/**
 * The instant a wall time denotes in the zone. Gaps resolve to the end of the gap (the
 * transition instant); overlaps to the earlier or later occurrence as asked.
 * The zone must be valid (see checkTimeZone).
 */
export function wallTimeToUtc(w: WallTime, timezone: string, overlap: OverlapChoice): ResolvedInstant {
  // Hotels reuse a few arrival/departure times on a few hundred dates: memoise (pure, bounded).
  const memoKey = `${timezone}|${w.year}-${w.month}-${w.day} ${w.hour}:${w.minute}|${overlap}`;
  const hit = resolved.get(memoKey);
  if (hit) return hit;
  const r = Object.freeze(resolveWallTime(w, timezone, overlap));
  if (resolved.size >= MEMO_LIMIT) resolved.clear();
  resolved.set(memoKey, r);
  return r;
}

const MEMO_LIMIT = 20_000;
const resolved = new Map<string, ResolvedInstant>();

function resolveWallTime(w: WallTime, timezone: string, overlap: OverlapChoice): ResolvedInstant {
  const local = wallMs(w);
  // Offsets a day either side bracket any single transition near this wall time.
  const before = offsetAt(local - DAY_MS, timezone);
  const after = offsetAt(local + DAY_MS, timezone);
  const candidates = [...new Set([local - before, local - after])]
    .filter((t) => t + offsetAt(t, timezone) === local)
    .sort((a, b) => a - b);
  const first = candidates[0];
  const last = candidates[candidates.length - 1];
  if (first !== undefined && last !== undefined) {
    if (candidates.length === 1) return { utcMs: first, resolution: "exact" };
    return overlap === "earlier"
      ? { utcMs: first, resolution: "overlap_earlier" }
      : { utcMs: last, resolution: "overlap_later" };
  }
  // No instant shows this wall time: it lies in a gap. The first valid instant after it is
  // the transition itself; find it by bisection between a point that still has the old
  // offset and one that already has the new one.
  // In a gap the new offset is larger, so local - after < local - before; the earlier
  // point still has the old offset, the later one already the new.
  let lo = Math.min(local - before, local - after);
  let hi = Math.max(local - before, local - after);
  const offLo = offsetAt(lo, timezone);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offsetAt(mid, timezone) === offLo) lo = mid;
    else hi = mid;
  }
  return { utcMs: hi, resolution: "gap_shifted" };
}

/** "YYYY-MM-DD HH:MM" as shown in the zone, for staff-facing messages. */
export function formatLocal(utcMs: number, timezone: string): string {
  const w = wallTimeAt(utcMs, timezone);
  const pad = (n: number, l = 2): string => String(n).padStart(l, "0");
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}`;
}

/** "+01:00" style offset of the zone at an instant. */
export function formatOffset(utcMs: number, timezone: string): string {
  const minutes = Math.round(offsetAt(utcMs, timezone) / MINUTE_MS);
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}
