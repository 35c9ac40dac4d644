// conmon's k8s-file log format (the CRI format), one record per line:
//
//   2024-01-02T15:04:05.123456789+00:00 stdout F hello
//
// timestamp (local time, nanoseconds, numeric offset), stream, tag, content.
// Tag F: the content ended with a newline (not stored).  Tag P: conmon's read
// ended mid-line; the line goes on in the next record of the same stream, and
// the newline after a P record is conmon's, not the container's.
// Content is kept as bytes: a container may write anything.
import { parseTimestamp } from '../state/nanotime';

export type LogStream = 'stdout' | 'stderr';

export interface LogRecord {
  /** nanoseconds since the epoch */
  time: bigint;
  /** the offset the timestamp was written with, for printing it back as written */
  offsetMinutes: number;
  stream: LogStream;
  partial: boolean;
  content: Buffer;
}

const SPACE = 0x20;

/** One record from a line without its newline; undefined for what is not a record. */
export function parseRecord(line: Buffer): LogRecord | undefined {
  const a = line.indexOf(SPACE);
  if (a < 0) return undefined;
  const b = line.indexOf(SPACE, a + 1);
  if (b < 0) return undefined;
  const c = line.indexOf(SPACE, b + 1);
  const time = parseTimestamp(line.toString('latin1', 0, a), true);
  if (!time) return undefined;
  const stream = line.toString('latin1', a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  // "ts stdout F" with nothing after the tag: an empty line
  const tag = line.toString('latin1', b + 1, c < 0 ? line.length : c);
  if (tag !== 'F' && tag !== 'P') return undefined;
  return {
    time: time.ns,
    offsetMinutes: time.offsetMinutes,
    stream,
    partial: tag === 'P',
    content: c < 0 ? Buffer.alloc(0) : line.subarray(c + 1),
  };
}

/** Splits bytes into complete lines; the bytes after the last newline are returned as rest. */
export function splitLines(data: Buffer): { lines: Buffer[]; rest: Buffer } {
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
    lines.push(data.subarray(start, nl));
    start = nl + 1;
  }
  return { lines, rest: data.subarray(start) };
}

/**
 * The records of the last n lines a reader would see.  A line is a run of P
 * records of one stream ended by an F record (or by the end of the log).
 * `fromStart` says the records begin at the start of the log; otherwise each
 * stream's first line may have lost its beginning and is not counted.
 */
export function tailRecords(records: LogRecord[], n: number, fromStart: boolean): LogRecord[] {
  if (n <= 0) return [];
  const lines: number[][] = [];
  const open: Partial<Record<LogStream, number[]>> = {};
  const seen = new Set<LogStream>();
  records.forEach((r, i) => {
    let line = open[r.stream];
    if (!line) {
      line = [];
      // possibly cut at the front: the first line of a stream in a window of the log
      if (fromStart || seen.has(r.stream)) lines.push(line);
      seen.add(r.stream);
      open[r.stream] = line;
    }
    line.push(i);
    if (!r.partial) open[r.stream] = undefined;
  });
  // the last lines are those that ended last (a line of P records may be overtaken)
  lines.sort((x, y) => x[x.length - 1] - y[y.length - 1]);
  const keep = new Set(lines.slice(-n).flat());
  return records.filter((_r, i) => keep.has(i));
}
