import { describe, expect, it } from 'vitest';
import { formatG, humanDuration, humanSize, statusText, timeAgo } from '../../src/cli/units';

describe('humanSize', () => {
  it('matches go-units HumanSizeWithPrecision(n, 3)', () => {
    expect(humanSize(0)).toBe('0 B');
    expect(humanSize(999)).toBe('999 B');
    expect(humanSize(1000)).toBe('1 kB');
    expect(humanSize(1234)).toBe('1.23 kB');
    expect(humanSize(4_860_000)).toBe('4.86 MB');
    expect(humanSize(7_800_000)).toBe('7.8 MB');
    expect(humanSize(12_345_678_901)).toBe('12.3 GB');
    expect(humanSize(123_456_789)).toBe('123 MB');
    expect(humanSize(999_999)).toBe('1e+03 kB');
  });
  it('formats like %g', () => {
    expect(formatG(0.0001234, 3)).toBe('0.000123');
    expect(formatG(0.00001234, 3)).toBe('1.23e-05');
    expect(formatG(100, 3)).toBe('100');
  });
});

describe('humanDuration', () => {
  const s = 1000, m = 60 * s, h = 60 * m, d = 24 * h;
  it('matches go-units HumanDuration', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(s)).toBe('1 second');
    expect(humanDuration(59 * s)).toBe('59 seconds');
    expect(humanDuration(60 * s)).toBe('About a minute');
    expect(humanDuration(59 * m)).toBe('59 minutes');
    expect(humanDuration(60 * m)).toBe('About an hour');
    expect(humanDuration(90 * m)).toBe('2 hours');
    expect(humanDuration(47 * h)).toBe('47 hours');
    expect(humanDuration(48 * h)).toBe('2 days');
    expect(humanDuration(14 * d)).toBe('2 weeks');
    expect(humanDuration(59 * d)).toBe('8 weeks');
    expect(humanDuration(60 * d)).toBe('2 months');
    expect(humanDuration(729 * d)).toBe('24 months');
    expect(humanDuration(3 * 365 * d)).toBe('3 years');
  });
});

describe('statusText', () => {
  const now = new Date('2024-01-01T00:01:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms);
  it('renders ps STATUS', () => {
    expect(timeAgo(ago(3000), now)).toBe('3 seconds ago');
    expect(statusText({ status: 'created', exitCode: 0, now })).toBe('Created');
    expect(statusText({ status: 'running', startedAt: ago(5000), exitCode: 0, now })).toBe('Up 5 seconds');
    expect(statusText({ status: 'exited', finishedAt: ago(3000), exitCode: 0, now })).toBe('Exited (0) 3 seconds ago');
    expect(statusText({ status: 'exited', exitCode: 137, now })).toBe('Exited (137)');
    expect(statusText({ status: 'removing', exitCode: 0, now })).toBe('Removing');
  });
});
