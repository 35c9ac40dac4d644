// A line-oriented file read as it grows (a container log, the events log).
// Writers replace such files by renaming a new one over them (conmon at
// max-size, events rotation) or, less politely, truncate them: a path that
// names another inode is read from its start once the old one is read to its
// end, and a file shorter than what was read is read again from the start.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

const CHUNK = 64 * 1024;

interface Open {
  fd: number;
  ino: number;
  /** offset after the last byte read */
  pos: number;
  /** bytes after the last newline: a line still being written */
  rest: Buffer;
}

function openAt(path: string): Open | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return { fd, ino: fstatSync(fd).ino, pos: 0, rest: Buffer.alloc(0) };
}

function inodeAt(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

/** Up to len bytes at pos (fewer at the end of the file). */
export function readAt(fd: number, pos: number, len: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

export class FollowedFile {
  private f: Open | undefined;

  constructor(readonly path: string) {
    this.f = openAt(path);
  }

  get exists(): boolean {
    return this.f !== undefined;
  }

  /** The open file's descriptor (undefined while there is none). */
  get fd(): number | undefined {
    return this.f?.fd;
  }

  size(): number {
    return this.f ? fstatSync(this.f.fd).size : 0;
  }

  /** Continue reading at pos, which must be the start of a line. */
  seek(pos: number): void {
    if (!this.f) return;
    this.f.pos = pos;
    this.f.rest = Buffer.alloc(0);
  }

  /**
   * Passes each complete line written since the last call (without its
   * newline) to onLine, following renames and truncation; onNewFile is called
   * before the lines of a file that replaced the one read so far.
   */
  read(onLine: (line: Buffer) => void, onNewFile?: () => void): void {
    if (!this.f) {
      this.f = openAt(this.path);
      if (!this.f) return;
      onNewFile?.();
    }
    for (;;) {
      this.drain(this.f, onLine);
      const ino = inodeAt(this.path);
      if (ino !== undefined && ino !== this.f.ino) {
        // replaced: what the writer added between the read above and the
        // rename is in the old file, which no one writes to any more
        this.drain(this.f, onLine);
        closeSync(this.f.fd);
        this.f = openAt(this.path);
        if (!this.f) return;
        onNewFile?.();
        continue;
      }
      if (fstatSync(this.f.fd).size < this.f.pos) {
        this.seek(0);
        onNewFile?.();
        continue;
      }
      return;
    }
  }

  private drain(f: Open, onLine: (line: Buffer) => void): void {
    for (;;) {
      const chunk = readAt(f.fd, f.pos, CHUNK);
      if (chunk.length === 0) return;
      f.pos += chunk.length;
      const data = f.rest.length ? Buffer.concat([f.rest, chunk]) : chunk;
      let start = 0;
      for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
        onLine(data.subarray(start, nl));
        start = nl + 1;
      }
      f.rest = Buffer.from(data.subarray(start));
    }
  }

  close(): void {
    if (this.f) closeSync(this.f.fd);
    this.f = undefined;
  }
}
