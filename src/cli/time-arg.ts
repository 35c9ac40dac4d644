// --since / --until values as Podman reads them (its util.ParseInputTime):
// a timestamp, else a Unix time in seconds (with a fraction), else a Go
// duration counted back from now for --since and forward for --until.
import { nowNs, parseTimestamp } from '../state/nanotime';

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

const DURATION_PART = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;

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

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A Unix time in seconds ("1700000000", "1700000000.5", "1.7e9"), in nanoseconds. */
export function parseUnixSeconds(text: string): bigint | undefined {
  if (!FLOAT.test(text)) return undefined;
  const m = DECIMAL.exec(text);
  if (m && (m[2] || m[3])) {
    // exact for plain decimals: no float rounding of the nanoseconds
    const ns = BigInt(m[2] || '0') * 1_000_000_000n + BigInt((m[3] ?? '').slice(0, 9).padEnd(9, '0') || '0');
    return m[1] === '-' ? -ns : ns;
  }
  const f = Number(text);
  return Number.isFinite(f) ? BigInt(Math.round(f * 1e9)) : undefined;
}

/**
 * Parses a --since (since=true) or --until value into nanoseconds since the
 * epoch.  Throws Podman's error text, which the caller wraps with the flag.
 */
export function parseTimeArg(text: string, since: boolean, now: bigint = nowNs()): bigint {
  const ts = parseTimestamp(text);
  if (ts) return ts.ns;
  const unix = parseUnixSeconds(text);
  if (unix !== undefined) return unix;
  const d = parseGoDuration(text);
  if (d === undefined) throw new Error('unable to interpret time value');
  return since ? now - d : now + d;
}
