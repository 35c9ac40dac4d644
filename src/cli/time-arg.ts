// --since / --until values as Podman reads them (its util.ParseInputTime):
// a timestamp, else a Unix time in seconds (with a fraction), else a Go
// duration counted back from now for --since and forward for --until.
import { nowNs, parseGoDuration, parseTimestamp } from '../state/nanotime';

export { parseGoDuration };

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
