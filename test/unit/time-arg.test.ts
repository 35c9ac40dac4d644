import { afterEach, describe, expect, it } from 'vitest';
import { parseGoDuration, parseTimeArg, parseUnixSeconds } from '../../src/cli/time-arg';
import { formatGoTime, formatRfc3339Nano, nowNs, parseTimestamp } from '../../src/state/nanotime';

const S = 1_000_000_000n;
const NOW = 1_700_000_000n * S + 123n;

describe('Go durations', () => {
  it('parses what time.ParseDuration accepts', () => {
    expect(parseGoDuration('1h2m3s')).toBe(3723n * S);
    expect(parseGoDuration('1h30m')).toBe(5400n * S);
    expect(parseGoDuration('10m')).toBe(600n * S);
    expect(parseGoDuration('1.5h')).toBe(5400n * S);
    expect(parseGoDuration('300ms')).toBe(300_000_000n);
    expect(parseGoDuration('2us')).toBe(2000n);
    expect(parseGoDuration('2µs')).toBe(2000n);
    expect(parseGoDuration('2μs')).toBe(2000n);
    expect(parseGoDuration('7ns')).toBe(7n);
    expect(parseGoDuration('.5s')).toBe(S / 2n);
    expect(parseGoDuration('-10m')).toBe(-600n * S);
    expect(parseGoDuration('+1s')).toBe(S);
    expect(parseGoDuration('0')).toBe(0n);
    expect(parseGoDuration('0s')).toBe(0n);
  });

  it('refuses what it refuses', () => {
    for (const bad of ['', '1', 'h', '1x', '1h 2m', '1d', '.s', '--1s', 's1']) expect(parseGoDuration(bad), bad).toBeUndefined();
  });
});

describe('Unix seconds', () => {
  it('keeps the fraction exact', () => {
    expect(parseUnixSeconds('1700000000')).toBe(1_700_000_000n * S);
    expect(parseUnixSeconds('1700000000.5')).toBe(1_700_000_000n * S + S / 2n);
    expect(parseUnixSeconds('1700000000.123456789')).toBe(1_700_000_000n * S + 123_456_789n);
    expect(parseUnixSeconds('1.7e9')).toBe(1_700_000_000n * S);
    expect(parseUnixSeconds('10m')).toBeUndefined();
  });
});

describe('--since / --until values', () => {
  it('reads RFC3339 with and without nanoseconds and zones', () => {
    expect(parseTimeArg('2024-01-02T15:04:05.123456789Z', true)).toBe(1_704_207_845n * S + 123_456_789n);
    expect(parseTimeArg('2024-01-02T15:04:05Z', true)).toBe(1_704_207_845n * S);
    expect(parseTimeArg('2024-01-02T16:04:05+01:00', true)).toBe(1_704_207_845n * S);
    expect(parseTimeArg('2024-01-02T10:04:05.5-05:00', true)).toBe(1_704_207_845n * S + S / 2n);
    // no zone: UTC, as Go's time.Parse
    expect(parseTimeArg('2024-01-02T15:04:05', true)).toBe(1_704_207_845n * S);
    expect(parseTimeArg('2024-01-02T15:04:05.25', true)).toBe(1_704_207_845n * S + S / 4n);
    expect(parseTimeArg('2024-01-02', true)).toBe(1_704_153_600n * S);
    expect(parseTimeArg('2024-01-02Z', true)).toBe(1_704_153_600n * S);
    expect(parseTimeArg('2024-01-02+02:00', true)).toBe(1_704_153_600n * S - 7200n * S);
  });

  it('reads Unix times', () => {
    expect(parseTimeArg('1700000000', false, NOW)).toBe(1_700_000_000n * S);
    expect(parseTimeArg('0', false, NOW)).toBe(0n);
  });

  it('counts durations back for --since and forward for --until', () => {
    expect(parseTimeArg('10m', true, NOW)).toBe(NOW - 600n * S);
    expect(parseTimeArg('10m', false, NOW)).toBe(NOW + 600n * S);
    expect(parseTimeArg('0s', false, NOW)).toBe(NOW);
    expect(parseTimeArg('1h30m', true, NOW)).toBe(NOW - 5400n * S);
  });

  it("fails with Podman's message", () => {
    for (const bad of ['garbage', '2024-02-30', '2024-01-02T25:00:00Z', '2024-01-02 15:04:05', '10 m']) {
      expect(() => parseTimeArg(bad, true, NOW), bad).toThrow('unable to interpret time value');
    }
  });
});

describe('nanosecond timestamps', () => {
  const tz = process.env.TZ;
  afterEach(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });

  it('tells the time to below the millisecond', () => {
    const samples = Array.from({ length: 5 }, () => nowNs());
    const wall = BigInt(Date.now()) * 1_000_000n;
    for (const t of samples) expect(t > wall - 50_000_000n && t < wall + 50_000_000n).toBe(true);
    // not all on whole milliseconds, as Date.now() would put them
    expect(samples.some((t) => t % 1_000_000n !== 0n)).toBe(true);
    expect([...samples].sort((a, b) => (a < b ? -1 : 1))).toEqual(samples);
  });

  it('parses conmon timestamps, keeping the offset they were written with', () => {
    expect(parseTimestamp('2026-11-23T16:15:19.310657565+00:00', true)).toEqual({ ns: 1_795_450_519_310_657_565n, offsetMinutes: 0 });
    expect(parseTimestamp('2026-11-23T17:15:19.310657565+01:00', true)).toEqual({ ns: 1_795_450_519_310_657_565n, offsetMinutes: 60 });
    expect(parseTimestamp('2026-11-23', true)).toBeUndefined();
    expect(parseTimestamp('2026-11-23T16:15:19', true)).toBeUndefined();
  });

  it('formats as Go formats RFC3339Nano: trailing zeros trimmed, Z for UTC', () => {
    expect(formatRfc3339Nano(1_795_450_519_310_657_565n)).toBe('2026-11-23T16:15:19.310657565Z');
    expect(formatRfc3339Nano(1_795_450_519_310_000_000n)).toBe('2026-11-23T16:15:19.31Z');
    expect(formatRfc3339Nano(1_795_450_519_000_000_000n)).toBe('2026-11-23T16:15:19Z');
    expect(formatRfc3339Nano(1_795_450_519_310_657_565n, 60)).toBe('2026-11-23T17:15:19.310657565+01:00');
    expect(formatRfc3339Nano(1_795_450_519_310_657_565n, -330)).toBe('2026-11-23T10:45:19.310657565-05:30');
  });

  it("formats as Go's time.Time.String() in the local zone", () => {
    process.env.TZ = 'UTC';
    expect(formatGoTime(1_795_450_519_310_657_565n)).toBe('2026-11-23 16:15:19.310657565 +0000 UTC');
    expect(formatGoTime(1_795_450_519_000_000_000n)).toBe('2026-11-23 16:15:19 +0000 UTC');
    process.env.TZ = 'America/New_York';
    expect(formatGoTime(1_795_450_519_310_657_565n)).toBe('2026-11-23 11:15:19.310657565 -0500 EST');
    process.env.TZ = 'Europe/Berlin';
    expect(formatGoTime(1_795_450_519_310_657_565n)).toBe('2026-11-23 17:15:19.310657565 +0100 CET');
  });
});
