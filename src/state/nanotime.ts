// Wall-clock times as bigint nanoseconds since the Unix epoch.  conmon's log
// records and Podman's events carry nanoseconds, which a Date (milliseconds)
// would lose, and --since/--until compare against them exactly.

import { native } from '../native/index';

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

let clock: (() => bigint) | undefined;

/**
 * Now, to the nanosecond: clock_gettime from the addon.  Date.now() alone
 * would put every event on a whole millisecond; the `performance` global
 * would load perf_hooks (~1.5 ms of every `run`).  Where the addon cannot
 * load, the process's start on the wall clock (performance.timeOrigin, to
 * the microsecond) plus the monotonic time since.
 */
export function nowNs(): bigint {
  if (!clock) {
    try {
      const addon = native();
      clock = () => addon.realtimeNs();
    } catch {
      clock = () => BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n + BigInt(Math.round(performance.now() * 1e6));
    }
  }
  return clock();
}

export interface ParsedTime {
  ns: bigint;
  /** the zone offset written in the text, in minutes east of UTC (0 when absent) */
  offsetMinutes: number;
}

// YYYY-MM-DD, then optionally THH:MM:SS[.frac], then optionally Z or ±HH:MM.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * Parses the timestamp layouts Podman accepts (RFC3339 with or without
 * nanoseconds, with or without a zone, or a date alone with or without a
 * zone).  Without a zone the time is UTC, as Go's time.Parse has it.
 * `requireZone` keeps it to RFC3339 proper (log records, event files).
 */
export function parseTimestamp(text: string, requireZone = false): ParsedTime | undefined {
  // conmon stamps every record of one read with the same time
  if (text === lastText.text && requireZone === lastText.requireZone) return lastText.value;
  lastText.text = text;
  lastText.requireZone = requireZone;
  return (lastText.value = parse(text, requireZone));
}

const lastText: { text: string; requireZone: boolean; value: ParsedTime | undefined } = { text: '', requireZone: false, value: undefined };

function parse(text: string, requireZone: boolean): ParsedTime | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  if (requireZone && (!zone || m[4] === undefined)) return undefined;
  const fracNs = frac ? BigInt(frac.padEnd(9, '0')) : 0n;
  // A log's records share their second: the calendar arithmetic is done once per second.
  const key = `${y}${mo}${d}${m[4] === undefined ? '' : `T${h}${mi}${s}`}${zone ?? ''}`;
  if (key !== lastSecond.key) {
    lastSecond.key = key;
    lastSecond.value = wholeSeconds(y, mo, d, h, mi, s, zone);
  }
  const base = lastSecond.value;
  return base && { ns: base.ns + fracNs, offsetMinutes: base.offsetMinutes };
}

const lastSecond: { key: string; value: ParsedTime | undefined } = { key: '', value: undefined };

function wholeSeconds(y: string, mo: string, d: string, h: string, mi: string, s: string, zone: string | undefined): ParsedTime | undefined {
  const fields = [y, mo, d, h, mi, s].map(Number);
  const ms = Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5]);
  const back = new Date(ms);
  // Date.UTC rolls 2024-02-31 over into March: refuse what does not round-trip.
  if (
    Number.isNaN(ms) || fields[3] > 23 || fields[4] > 59 || fields[5] > 59 ||
    back.getUTCFullYear() !== fields[0] || back.getUTCMonth() !== fields[1] - 1 || back.getUTCDate() !== fields[2]
  ) {
    return undefined;
  }
  let offsetMinutes = 0;
  if (zone && zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return { ns: BigInt(ms) * NS_PER_MS - BigInt(offsetMinutes) * 60n * NS_PER_S, offsetMinutes };
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Calendar fields of ns shifted by an offset, plus the nanoseconds within the second. */
function fields(ns: bigint, offsetMinutes: number) {
  const shifted = ns + BigInt(offsetMinutes) * 60n * NS_PER_S;
  let secs = shifted / NS_PER_S;
  let nanos = shifted % NS_PER_S;
  if (nanos < 0n) {
    nanos += NS_PER_S;
    secs -= 1n;
  }
  const d = new Date(Number(secs) * 1000);
  return {
    date: `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
    time: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`,
    nanos,
  };
}

/** Go's ".999999999": the fraction without trailing zeros, nothing when zero. */
function trimmedFraction(nanos: bigint): string {
  if (nanos === 0n) return '';
  return '.' + nanos.toString().padStart(9, '0').replace(/0+$/, '');
}

function offsetText(offsetMinutes: number, colon: boolean): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${sign}${pad(Math.floor(abs / 60))}${colon ? ':' : ''}${pad(abs % 60)}`;
}

/** Go's time.RFC3339Nano: `2024-01-02T15:04:05.123Z`, or `+01:00` for a non-UTC offset. */
export function formatRfc3339Nano(ns: bigint, offsetMinutes = 0): string {
  const f = fields(ns, offsetMinutes);
  return `${f.date}T${f.time}${trimmedFraction(f.nanos)}${offsetMinutes === 0 ? 'Z' : offsetText(offsetMinutes, true)}`;
}

// Locales whose short zone names cover most zones with an abbreviation in tzdata
// (en-US alone says "GMT+2" for CEST, "GMT+5:30" for IST).
const ZONE_LOCALES = ['en-US', 'en-GB', 'en-IN', 'en-AU'];
// Formatters are costly to make: one per locale and TZ (which fixes their zone).
const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

function zoneFormatter(locale: string): Intl.DateTimeFormat {
  const key = `${locale} ${process.env.TZ ?? ''}`;
  let f = zoneFormatters.get(key);
  if (!f) zoneFormatters.set(key, (f = new Intl.DateTimeFormat(locale, { timeZoneName: 'short' })));
  return f;
}

/** The local zone at an instant: its offset and the abbreviation Go would print. */
export function localZone(ns: bigint): { offsetMinutes: number; name: string } {
  const date = new Date(Number(ns / NS_PER_MS));
  const offsetMinutes = -date.getTimezoneOffset();
  for (const locale of ZONE_LOCALES) {
    try {
      const name = zoneFormatter(locale).formatToParts(date).find((p) => p.type === 'timeZoneName')?.value;
      if (name && /^[A-Za-z]{2,6}$/.test(name)) return { offsetMinutes, name };
    } catch {
      break; // no Intl zone data
    }
  }
  // tzdata's numeric abbreviations ("+09", "+0530"), which Go prints as they are
  const t = offsetText(offsetMinutes, false);
  return { offsetMinutes, name: t.endsWith('00') ? t.slice(0, 3) : t };
}

/** Go's time.Time.String() in the local zone: `2024-01-02 15:04:05.123456789 +0000 UTC`. */
export function formatGoTime(ns: bigint): string {
  const zone = localZone(ns);
  const f = fields(ns, zone.offsetMinutes);
  return `${f.date} ${f.time}${trimmedFraction(f.nanos)} ${offsetText(zone.offsetMinutes, false)} ${zone.name}`;
}

const NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const DURATION_PART = /(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y; // escaped: the bundle stays ASCII (scripts/build.mjs)

/** Go's time.ParseDuration ("1h30m", "1.5s", "-10m", "0"), in nanoseconds; undefined if invalid. */
export function parseGoDuration(text: string): bigint | undefined {
  let s = text;
  let sign = 1n;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1n;
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  let at = 0;
  while (at < s.length) {
    DURATION_PART.lastIndex = at;
    const m = DURATION_PART.exec(s);
    if (!m) return undefined;
    const int = m[1];
    const frac = m[2] ?? '';
    if (int === '' && frac === '') return undefined; // a unit with no number
    const unit = NS[m[3]];
    total += BigInt(int || '0') * unit;
    if (frac) total += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    at = DURATION_PART.lastIndex;
  }
  return sign * total;
}
