// conmon's k8s-file records and choosing the last lines of a log.
import { describe, expect, it } from 'vitest';
import { parseRecord, splitLines, tailRecords, type LogRecord } from '../../src/engine/k8s-log';

const rec = (line: string) => parseRecord(Buffer.from(line));
const text = (rs: LogRecord[]) => rs.map((r) => `${r.stream[3]}${r.partial ? 'P' : 'F'}:${r.content.toString()}`);

describe('k8s-file records', () => {
  it('reads the four fields conmon 2.1.6 writes', () => {
    const r = rec('2026-11-23T16:15:19.310657565+00:00 stdout F hello  world ')!;
    expect(r.time).toBe(1_795_450_519_310_657_565n);
    expect(r.offsetMinutes).toBe(0);
    expect(r.stream).toBe('stdout');
    expect(r.partial).toBe(false);
    // everything after the tag's space is content, spaces included
    expect(r.content.toString()).toBe('hello  world ');
  });

  it('reads partial records and local offsets', () => {
    const r = rec('2026-11-23T17:15:19.000000001+01:00 stderr P no newline yet')!;
    expect(r.partial).toBe(true);
    expect(r.stream).toBe('stderr');
    expect(r.offsetMinutes).toBe(60);
    expect(r.time).toBe(1_795_450_519_000_000_001n);
  });

  it('reads an empty line', () => {
    expect(rec('2026-11-23T16:15:19.310657565+00:00 stdout F ')!.content.length).toBe(0);
    expect(rec('2026-11-23T16:15:19.310657565+00:00 stdout F')!.content.length).toBe(0);
  });

  it('keeps content bytes as they are', () => {
    const raw = Buffer.concat([Buffer.from('2026-11-23T16:15:19.310657565+00:00 stdout F '), Buffer.from([0xff, 0x00, 0xc3, 0x0d])]);
    expect(parseRecord(raw)!.content).toEqual(Buffer.from([0xff, 0x00, 0xc3, 0x0d]));
  });

  it('refuses what is not a record', () => {
    for (const bad of [
      '',
      'hello',
      'not-a-time stdout F x',
      '2026-11-23T16:15:19.310657565+00:00 stdin F x',
      '2026-11-23T16:15:19.310657565+00:00 stdout X x',
      '2026-11-23T16:15:19.310657565+00:00 stdout',
      '2026-11-23 stdout F x',
    ]) {
      expect(rec(bad), bad).toBeUndefined();
    }
  });

  it('splits complete lines from a write in progress', () => {
    const { lines, rest } = splitLines(Buffer.from('a\nb\n\nc'));
    expect(lines.map(String)).toEqual(['a', 'b', '']);
    expect(rest.toString()).toBe('c');
  });
});

describe('the last n lines', () => {
  const T = '2026-11-23T16:15:19.310657565+00:00';
  const log = [
    `${T} stdout F one`,
    `${T} stdout P tw`,
    `${T} stderr F err`,
    `${T} stdout P o-`,
    `${T} stdout F two`,
    `${T} stdout P three, not ended`,
  ].map((l) => rec(l)!);

  it('counts a line of partial records once', () => {
    expect(text(tailRecords(log, 1, true))).toEqual(['oP:three, not ended']);
    expect(text(tailRecords(log, 2, true))).toEqual(['oP:tw', 'oP:o-', 'oF:two', 'oP:three, not ended']);
    expect(text(tailRecords(log, 3, true))).toEqual(['oP:tw', 'eF:err', 'oP:o-', 'oF:two', 'oP:three, not ended']);
    expect(tailRecords(log, 10, true)).toEqual(log);
    expect(tailRecords(log, 0, true)).toEqual([]);
  });

  it("leaves out each stream's first line of a window that may have lost its start", () => {
    // the window starts inside "tw" + "o-" + "two"
    const window = log.slice(3);
    expect(text(tailRecords(window, 5, false))).toEqual(['oP:three, not ended']);
    expect(text(tailRecords(window, 5, true))).toEqual(['oP:o-', 'oF:two', 'oP:three, not ended']);
  });
});
