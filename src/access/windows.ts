/**
 * Access windows: a key's door entry (local dates and times of day in the site's zone)
 * becomes the UTC validity window the lock enforces (validFrom <= lockTime < validUntil,
 * uint32 epoch seconds, lock-link-protocol.md §3).
 *
 * DST: an arrival or departure in a spring-forward gap moves to the end of the gap (the
 * door opens on time rather than late); a repeated fall-back time resolves to the earlier
 * occurrence for arrival and the later one for departure (the guest gets the longer stay).
 */
import type { KeyDoorAccess } from "./model.js";
import { err, ok, type Result } from "./result.js";
import {
  checkTimeZone,
  formatLocal,
  formatOffset,
  wallTimeToUtc,
  type Resolution,
} from "./timezone.js";
import { formatEpochSeconds } from "../shared/instant.js";

export interface AccessWindow {
  /** Epoch seconds, UTC, inclusive. */
  validFrom: number;
  /** Epoch seconds, UTC, exclusive. */
  validUntil: number;
  /** How the arrival wall time was resolved ("gap_shifted" when it fell in a DST gap...). */
  arrival: Resolution;
  departure: Resolution;
}

/** The bounds alone, as locks and plans see them. */
export type WindowBounds = Pick<AccessWindow, "validFrom" | "validUntil">;

export type WindowField = "timezone" | "accessPeriod.from" | "accessPeriod.to" | "arrivalTime" | "departureTime";

export interface WindowError {
  code: "invalid_timezone" | "invalid_date" | "invalid_time" | "period_reversed" | "empty_window" | "out_of_range";
  /** The door entry field at fault, relative to the entry. */
  field: WindowField;
  message: string;
}

export type WindowTimes = Pick<KeyDoorAccess, "accessPeriod" | "arrivalTime" | "departureTime">;

export type WindowState = "active" | "not_started" | "ended";

/** Largest time a lock can hold (uint32 seconds). */
export const MAX_LOCK_TIME = 0xffff_ffff;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{2}):(\d{2})$/;

export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

/** A real calendar date "YYYY-MM-DD", or undefined (2026-02-30 is not one). */
export function parseLocalDate(s: string): LocalDate | undefined {
  const m = DATE_RE.exec(s);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return undefined;
  return { year, month, day };
}

/** A time of day "HH:MM", 00:00..23:59, or undefined. */
export function parseLocalTime(s: string): { hour: number; minute: number } | undefined {
  const m = TIME_RE.exec(s);
  if (!m) return undefined;
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  if (hour > 23 || minute > 59) return undefined;
  return { hour, minute };
}

/**
 * The UTC validity window of a door entry in the site's zone.
 * Refuses a bad date or time, a period whose last day is before its first, a window that
 * would be empty (same day, departure not after arrival) and times a lock cannot hold.
 */
export function accessWindow(entry: WindowTimes, timezone: string): Result<AccessWindow, WindowError> {
  const tz = checkTimeZone(timezone);
  if (!tz.ok) return err({ code: "invalid_timezone", field: "timezone", message: tz.error.message });
  const from = parseLocalDate(entry.accessPeriod.from);
  if (!from) return err(bad("invalid_date", "accessPeriod.from", `"${entry.accessPeriod.from}" is not a date YYYY-MM-DD`));
  const to = parseLocalDate(entry.accessPeriod.to);
  if (!to) return err(bad("invalid_date", "accessPeriod.to", `"${entry.accessPeriod.to}" is not a date YYYY-MM-DD`));
  const arrival = parseLocalTime(entry.arrivalTime);
  if (!arrival) return err(bad("invalid_time", "arrivalTime", `"${entry.arrivalTime}" is not a time HH:MM`));
  const departure = parseLocalTime(entry.departureTime);
  if (!departure) return err(bad("invalid_time", "departureTime", `"${entry.departureTime}" is not a time HH:MM`));
  // ISO dates compare correctly as strings.
  if (entry.accessPeriod.to < entry.accessPeriod.from) {
    return err(bad("period_reversed", "accessPeriod.to", `access period ends (${entry.accessPeriod.to}) before it starts (${entry.accessPeriod.from})`));
  }
  const start = wallTimeToUtc({ ...from, ...arrival }, timezone, "earlier");
  const end = wallTimeToUtc({ ...to, ...departure }, timezone, "later");
  const validFrom = Math.floor(start.utcMs / 1000);
  const validUntil = Math.floor(end.utcMs / 1000);
  if (validUntil <= validFrom) {
    return err(bad("empty_window", "departureTime", `departure ${entry.accessPeriod.to} ${entry.departureTime} is not after arrival ${entry.accessPeriod.from} ${entry.arrivalTime}`));
  }
  if (validFrom < 1 || validUntil > MAX_LOCK_TIME) {
    return err(bad("out_of_range", validFrom < 1 ? "accessPeriod.from" : "accessPeriod.to", "window outside the range a lock can hold (1970..2106)"));
  }
  return ok({ validFrom, validUntil, arrival: start.resolution, departure: end.resolution });
}

function bad(code: WindowError["code"], field: WindowField, message: string): WindowError {
  return { code, field, message };
}

/** Where `nowMs` falls, with the lock's rule validFrom <= now < validUntil. */
export function windowState(window: WindowBounds, nowMs: number): WindowState {
  if (nowMs < window.validFrom * 1000) return "not_started";
  if (nowMs >= window.validUntil * 1000) return "ended";
  return "active";
}

/** The smallest window covering both (the union span; a gap between them is included). */
export function unionSpan<W extends WindowBounds>(a: W, b: W): WindowBounds {
  return { validFrom: Math.min(a.validFrom, b.validFrom), validUntil: Math.max(a.validUntil, b.validUntil) };
}

/** The next instant (ms) after `nowMs` at which one of the windows starts or ends, if any. */
export function nextWindowEdgeMs(windows: Iterable<WindowBounds>, nowMs: number): number | undefined {
  let next: number | undefined;
  for (const w of windows) {
    for (const edge of [w.validFrom * 1000, w.validUntil * 1000]) {
      if (edge > nowMs && (next === undefined || edge < next)) next = edge;
    }
  }
  return next;
}


/** A window as staff read it: local wall times with offsets, and UTC. */
export interface WindowDescription {
  localFrom: string;
  localUntil: string;
  utcFrom: string;
  utcUntil: string;
  /** e.g. "2026-03-29 03:00 (+02:00) -> 2026-04-02 11:00 (+02:00) Europe/Prague". */
  text: string;
}

export function describeWindow(window: WindowBounds, timezone: string): WindowDescription {
  const fromMs = window.validFrom * 1000;
  const untilMs = window.validUntil * 1000;
  const localFrom = `${formatLocal(fromMs, timezone)} (${formatOffset(fromMs, timezone)})`;
  const localUntil = `${formatLocal(untilMs, timezone)} (${formatOffset(untilMs, timezone)})`;
  const utcFrom = formatEpochSeconds(window.validFrom);
  const utcUntil = formatEpochSeconds(window.validUntil);
  return {
    localFrom,
    localUntil,
    utcFrom,
    utcUntil,
    text: `${localFrom} -> ${localUntil} ${timezone} (UTC ${utcFrom} -> ${utcUntil})`,
  };
}
