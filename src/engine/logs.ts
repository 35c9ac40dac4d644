// Reading a container's log (k8s-file, written by conmon): all of it or its
// last lines, filtered by time, and with follow, what is appended until the
// container stops.  conmon rotates at --log-opt max-size by writing a fresh
// file beside the log and renaming it over the log (the old lines are gone);
// FollowedFile reads the old one to its end and goes on with the new one.
import { ChangeWaiter } from '../state/file-watch';
import { FollowedFile, readAt } from '../state/followed-file';
import { formatRfc3339Nano, nowNs } from '../state/nanotime';
import { parseRecord, splitLines, tailRecords, type LogRecord, type LogStream } from './k8s-log';

export type { LogStream } from './k8s-log';

/** Where conmon writes the container's log (log-config.ts decides). */
export { logPathOf as logPath } from './log-config';

export interface LogReadOptions {
  follow: boolean;
  /** nanoseconds since the epoch: only records strictly after / strictly before */
  since?: bigint;
  until?: bigint;
  /** the last n lines; undefined or negative: all */
  tail?: number;
  timestamps: boolean;
  /** printed before each line (several containers: the ID or name and a space) */
  prefix?: string;
  /** follow ends once this says false (and what was written before is read) */
  isRunning: () => boolean;
  out: (stream: LogStream, data: Buffer) => void;
  pollMs?: number;
}

const CHUNK = 64 * 1024;
const NEWLINE = Buffer.from('\n');
const FLUSH_AT = 64 * 1024;

/**
 * Prints records as Podman does: stream by stream, the prefix at the start
 * of each line.  Output is gathered while it stays on one stream, so that a
 * long log costs a write per 64 KiB rather than per line.
 */
class LogPrinter {
  private open: Record<LogStream, boolean> = { stdout: false, stderr: false };
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingStream: LogStream = 'stdout';

  constructor(private readonly opts: LogReadOptions) {}

  record(r: LogRecord): void {
    const { since, until } = this.opts;
    if ((since !== undefined && r.time <= since) || (until !== undefined && r.time >= until)) return;
    if (r.stream !== this.pendingStream || this.pendingBytes >= FLUSH_AT) this.flush();
    this.pendingStream = r.stream;
    if (!this.open[r.stream]) {
      const head = (this.opts.prefix ?? '') + (this.opts.timestamps ? `${formatRfc3339Nano(r.time, r.offsetMinutes)} ` : '');
      if (head) this.push(Buffer.from(head));
    }
    this.push(r.content);
    if (!r.partial) this.push(NEWLINE);
    this.open[r.stream] = r.partial;
  }

  private push(b: Buffer): void {
    this.pending.push(b);
    this.pendingBytes += b.length;
  }

  flush(): void {
    if (!this.pending.length) return;
    this.opts.out(this.pendingStream, this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/** The offset just after the last newline before size (0 when there is none). */
function endOfLastLine(fd: number, size: number): number {
  for (let hi = size; hi > 0; ) {
    const lo = Math.max(0, hi - CHUNK);
    const nl = readAt(fd, lo, hi - lo).lastIndexOf(0x0a);
    if (nl >= 0) return lo + nl + 1;
    hi = lo;
  }
  return 0;
}

/**
 * The records needed for the last n lines, read backwards from the end so
 * that a long log costs what its tail costs.  Stops once it holds n + 2 line
 * ends: each stream's first line in the window may be cut and is not counted.
 */
export function readTail(fd: number, size: number, n: number): { records: LogRecord[]; fromStart: boolean; end: number } {
  const end = endOfLastLine(fd, size);
  let records: LogRecord[] = [];
  let lineEnds = 0;
  let hi = end; // always a line boundary
  let chunk = CHUNK;
  while (hi > 0 && lineEnds < n + 2) {
    const lo = Math.max(0, hi - chunk);
    const buf = readAt(fd, lo, hi - lo);
    // Below the first newline the line began before lo: leave it to the next window.
    const nl = lo === 0 ? -1 : buf.indexOf(0x0a);
    if (lo > 0 && (nl < 0 || nl + 1 >= buf.length)) {
      chunk *= 2; // one line longer than the window
      continue;
    }
    const from = nl + 1;
    const parsed = splitLines(buf.subarray(from)).lines.map(parseRecord).filter((r): r is LogRecord => r !== undefined);
    for (const r of parsed) if (!r.partial) lineEnds++;
    records = parsed.concat(records);
    hi = lo + from;
    chunk = CHUNK;
  }
  return { records, fromStart: hi === 0, end };
}

/**
 * Writes the log at path through opts.out.  A log that does not exist (a
 * container that never ran) prints nothing; with follow it is waited for
 * while the container runs.
 */
export async function streamLogs(path: string, opts: LogReadOptions): Promise<void> {
  const printer = new LogPrinter(opts);
  const onLine = (line: Buffer) => {
    const r = parseRecord(line);
    if (r) printer.record(r);
  };
  const file = new FollowedFile(path);
  const waiter = opts.follow ? new ChangeWaiter(path) : undefined;
  try {
    if (file.exists && opts.tail !== undefined && opts.tail >= 0) {
      const t = readTail(file.fd!, file.size(), opts.tail);
      for (const r of tailRecords(t.records, opts.tail, t.fromStart)) printer.record(r);
      file.seek(t.end);
    } else {
      file.read(onLine);
    }
    printer.flush();
    if (!opts.follow) return;
    for (;;) {
      // Asked before reading: what the container wrote until it stopped is read below.
      const running = opts.isRunning();
      file.read(onLine);
      printer.flush();
      if (!running || (opts.until !== undefined && nowNs() >= opts.until)) return;
      await waiter!.wait(opts.pollMs ?? 100);
    }
  } finally {
    waiter?.close();
    file.close();
  }
}
