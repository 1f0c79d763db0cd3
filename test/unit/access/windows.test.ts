import { describe, expect, it } from "vitest";
import {
  accessWindow,
  describeWindow,
  nextWindowEdgeMs,
  parseLocalDate,
  windowState,
  type WindowTimes,
} from "../../../src/access/windows.js";
import { wallTimeAt, wallTimeToUtc } from "../../../src/access/timezone.js";

/** Epoch seconds of an ISO instant: expectations are written in UTC, independently of the code. */
const s = (iso: string): number => Date.parse(iso) / 1000;

const entry = (from: string, to: string, arrivalTime: string, departureTime: string): WindowTimes => ({
  accessPeriod: { from, to },
  arrivalTime,
  departureTime,
});

describe("accessWindow: local entry -> UTC window", () => {
  const cases: {
    name: string;
    tz: string;
    e: WindowTimes;
    from: string;
    until: string;
    arrival?: string;
    departure?: string;
  }[] = [
    { name: "winter stay, Prague +01:00", tz: "Europe/Prague", e: entry("2026-12-01", "2026-12-04", "15:00", "11:00"), from: "2026-12-01T14:00:00Z", until: "2026-12-04T10:00:00Z" },
    { name: "summer stay, Prague +02:00", tz: "Europe/Prague", e: entry("2026-07-10", "2026-07-12", "14:00", "10:00"), from: "2026-07-10T12:00:00Z", until: "2026-07-12T08:00:00Z" },
    { name: "spring gap: arrival 02:30 on 2026-03-29 opens at 03:00 local", tz: "Europe/Prague", e: entry("2026-03-29", "2026-03-30", "02:30", "11:00"), from: "2026-03-29T01:00:00Z", until: "2026-03-30T09:00:00Z", arrival: "gap_shifted" },
    { name: "spring gap: arrival exactly 02:00 (first missing minute) -> 03:00", tz: "Europe/Prague", e: entry("2026-03-29", "2026-03-30", "02:00", "11:00"), from: "2026-03-29T01:00:00Z", until: "2026-03-30T09:00:00Z", arrival: "gap_shifted" },
    { name: "spring gap: departure 02:30 ends at 03:00 local", tz: "Europe/Prague", e: entry("2026-03-27", "2026-03-29", "15:00", "02:30"), from: "2026-03-27T14:00:00Z", until: "2026-03-29T01:00:00Z", departure: "gap_shifted" },
    { name: "fall overlap: arrival 02:30 takes the earlier (CEST) occurrence", tz: "Europe/Prague", e: entry("2026-10-25", "2026-10-27", "02:30", "11:00"), from: "2026-10-25T00:30:00Z", until: "2026-10-27T10:00:00Z", arrival: "overlap_earlier" },
    { name: "fall overlap: departure 02:30 takes the later (CET) occurrence", tz: "Europe/Prague", e: entry("2026-10-23", "2026-10-25", "15:00", "02:30"), from: "2026-10-23T13:00:00Z", until: "2026-10-25T01:30:00Z", departure: "overlap_later" },
    { name: "fall overlap both ends on the same day: one full hour", tz: "Europe/Prague", e: entry("2026-10-25", "2026-10-25", "02:30", "02:30"), from: "2026-10-25T00:30:00Z", until: "2026-10-25T01:30:00Z", arrival: "overlap_earlier", departure: "overlap_later" },
    { name: "stay spanning spring-forward: arrives +01:00, leaves +02:00", tz: "Europe/Prague", e: entry("2026-03-27", "2026-04-02", "15:00", "11:00"), from: "2026-03-27T14:00:00Z", until: "2026-04-02T09:00:00Z" },
    { name: "stay spanning fall-back: arrives +02:00, leaves +01:00", tz: "Europe/Prague", e: entry("2026-10-23", "2026-10-27", "15:00", "11:00"), from: "2026-10-23T13:00:00Z", until: "2026-10-27T10:00:00Z" },
    { name: "year end: New Year's stay", tz: "Europe/Prague", e: entry("2026-12-31", "2027-01-02", "15:00", "11:00"), from: "2026-12-31T14:00:00Z", until: "2027-01-02T10:00:00Z" },
    { name: "year end: late arrival crosses into the new UTC year? no: local 23:30 = 22:30Z", tz: "Europe/Prague", e: entry("2026-12-31", "2027-01-01", "23:30", "12:00"), from: "2026-12-31T22:30:00Z", until: "2027-01-01T11:00:00Z" },
    { name: "New York: late arrival on 31 Dec lands on 1 Jan UTC", tz: "America/New_York", e: entry("2026-12-31", "2027-01-01", "22:00", "11:00"), from: "2027-01-01T03:00:00Z", until: "2027-01-01T16:00:00Z" },
    { name: "New York spring gap 2026-03-08 02:15 -> 03:00 EDT", tz: "America/New_York", e: entry("2026-03-08", "2026-03-09", "02:15", "11:00"), from: "2026-03-08T07:00:00Z", until: "2026-03-09T15:00:00Z", arrival: "gap_shifted" },
    { name: "New York fall overlap 2026-11-01 01:30: arrival EDT, departure EST", tz: "America/New_York", e: entry("2026-11-01", "2026-11-01", "01:30", "01:30"), from: "2026-11-01T05:30:00Z", until: "2026-11-01T06:30:00Z", arrival: "overlap_earlier", departure: "overlap_later" },
    { name: "Sydney (southern hemisphere) stay across April fall-back", tz: "Australia/Sydney", e: entry("2026-04-03", "2026-04-06", "14:00", "10:00"), from: "2026-04-03T03:00:00Z", until: "2026-04-06T00:00:00Z" },
    { name: "half-hour zone: Asia/Kolkata +05:30", tz: "Asia/Kolkata", e: entry("2026-05-01", "2026-05-02", "12:00", "11:00"), from: "2026-05-01T06:30:00Z", until: "2026-05-02T05:30:00Z" },
    { name: "UTC site", tz: "UTC", e: entry("2026-05-01", "2026-05-01", "00:00", "23:59"), from: "2026-05-01T00:00:00Z", until: "2026-05-01T23:59:00Z" },
    { name: "leap day", tz: "Europe/Prague", e: entry("2028-02-28", "2028-02-29", "15:00", "11:00"), from: "2028-02-28T14:00:00Z", until: "2028-02-29T10:00:00Z" },
  ];
  it.each(cases)("$name", ({ tz, e, from, until, arrival, departure }) => {
    const r = accessWindow(e, tz);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.validFrom).toBe(s(from));
    expect(r.value.validUntil).toBe(s(until));
    expect(r.value.arrival).toBe(arrival ?? "exact");
    expect(r.value.departure).toBe(departure ?? "exact");
  });

  const bad: { name: string; tz: string; e: WindowTimes; code: string; field: string }[] = [
    { name: "unknown zone", tz: "Mars/Olympus", e: entry("2026-12-01", "2026-12-02", "15:00", "11:00"), code: "invalid_timezone", field: "timezone" },
    { name: "30 February", tz: "UTC", e: entry("2026-02-30", "2026-03-02", "15:00", "11:00"), code: "invalid_date", field: "accessPeriod.from" },
    { name: "29 February of a common year", tz: "UTC", e: entry("2026-02-20", "2027-02-29", "15:00", "11:00"), code: "invalid_date", field: "accessPeriod.to" },
    { name: "unpadded date", tz: "UTC", e: entry("2026-1-5", "2026-01-06", "15:00", "11:00"), code: "invalid_date", field: "accessPeriod.from" },
    { name: "month 13", tz: "UTC", e: entry("2026-12-01", "2026-13-01", "15:00", "11:00"), code: "invalid_date", field: "accessPeriod.to" },
    { name: "24:00 is not a time of day", tz: "UTC", e: entry("2026-12-01", "2026-12-02", "24:00", "11:00"), code: "invalid_time", field: "arrivalTime" },
    { name: "minute 60", tz: "UTC", e: entry("2026-12-01", "2026-12-02", "15:00", "11:60"), code: "invalid_time", field: "departureTime" },
    { name: "unpadded time", tz: "UTC", e: entry("2026-12-01", "2026-12-02", "9:00", "11:00"), code: "invalid_time", field: "arrivalTime" },
    { name: "to before from", tz: "UTC", e: entry("2026-12-05", "2026-12-02", "15:00", "11:00"), code: "period_reversed", field: "accessPeriod.to" },
    { name: "same day, departure before arrival", tz: "UTC", e: entry("2026-12-05", "2026-12-05", "15:00", "11:00"), code: "empty_window", field: "departureTime" },
    { name: "same day, departure equals arrival", tz: "UTC", e: entry("2026-12-05", "2026-12-05", "15:00", "15:00"), code: "empty_window", field: "departureTime" },
    { name: "same day, both in the spring gap collapse to 03:00", tz: "Europe/Prague", e: entry("2026-03-29", "2026-03-29", "02:10", "02:50"), code: "empty_window", field: "departureTime" },
    { name: "beyond uint32 seconds", tz: "UTC", e: entry("2106-02-01", "2106-03-01", "15:00", "11:00"), code: "out_of_range", field: "accessPeriod.to" },
    { name: "before the epoch", tz: "UTC", e: entry("1969-12-01", "1970-01-03", "15:00", "11:00"), code: "out_of_range", field: "accessPeriod.from" },
  ];
  it.each(bad)("refuses: $name", ({ tz, e, code, field }) => {
    const r = accessWindow(e, tz);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(code);
    expect(r.error.field).toBe(field);
    expect(r.error.message.length).toBeGreaterThan(0);
  });
});

describe("windowState", () => {
  const w = { validFrom: s("2026-12-01T14:00:00Z"), validUntil: s("2026-12-04T10:00:00Z") };
  it.each([
    ["a second before arrival", "2026-12-01T13:59:59Z", "not_started"],
    ["at arrival (inclusive)", "2026-12-01T14:00:00Z", "active"],
    ["mid-stay", "2026-12-02T03:00:00Z", "active"],
    ["1 ms before departure", "2026-12-04T09:59:59.999Z", "active"],
    ["at departure (exclusive)", "2026-12-04T10:00:00Z", "ended"],
    ["a week later", "2026-12-11T10:00:00Z", "ended"],
  ])("%s -> %s", (_name, now, state) => {
    expect(windowState(w, Date.parse(now))).toBe(state);
  });
});

describe("nextWindowEdgeMs", () => {
  it("finds the next start or end after now, or nothing", () => {
    const a = { validFrom: 100, validUntil: 200 };
    const b = { validFrom: 150, validUntil: 400 };
    expect(nextWindowEdgeMs([a, b], 0)).toBe(100_000);
    expect(nextWindowEdgeMs([a, b], 100_000)).toBe(150_000);
    expect(nextWindowEdgeMs([a, b], 199_999)).toBe(200_000);
    expect(nextWindowEdgeMs([a, b], 400_000)).toBeUndefined();
  });
});

describe("describeWindow", () => {
  it("shows local times with their offsets and UTC, across a DST change", () => {
    const d = describeWindow({ validFrom: s("2026-03-27T14:00:00Z"), validUntil: s("2026-04-02T09:00:00Z") }, "Europe/Prague");
    expect(d.localFrom).toBe("2026-03-27 15:00 (+01:00)");
    expect(d.localUntil).toBe("2026-04-02 11:00 (+02:00)");
    expect(d.utcFrom).toBe("2026-03-27T14:00:00Z");
    expect(d.utcUntil).toBe("2026-04-02T09:00:00Z");
  });
});

describe("wall time <-> UTC round trip", () => {
  it.each(["America/New_York", "Europe/Prague", "Australia/Lord_Howe"])(
    "every 2h15m of 2026 in %s maps back to itself",
    (tz) => {
      // Lord Howe has a 30-minute DST shift: a good test of non-hour transitions. The odd step
      // lands on many minutes of the day, inside and around every transition hour.
      const start = Date.parse("2026-01-01T00:00:00Z");
      for (let t = start; t < start + 365 * 86_400_000; t += 8_100_000) {
        const w = wallTimeAt(t, tz);
        const earlier = wallTimeToUtc(w, tz, "earlier");
        const later = wallTimeToUtc(w, tz, "later");
        // t shows wall time w, so it must be one of the resolutions, never shifted.
        expect(earlier.resolution === "gap_shifted").toBe(false);
        expect([earlier.utcMs, later.utcMs]).toContain(t);
        expect(earlier.utcMs).toBeLessThanOrEqual(later.utcMs);
      }
    },
  );
});

describe("parseLocalDate", () => {
  it("accepts real dates only", () => {
    expect(parseLocalDate("2028-02-29")).toEqual({ year: 2028, month: 2, day: 29 });
    expect(parseLocalDate("2026-04-31")).toBeUndefined();
    expect(parseLocalDate("2026-04-00")).toBeUndefined();
  });
});
