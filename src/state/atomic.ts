// Crash-safe file updates: write a temporary file beside the target, fsync it,
// then rename over the target, so a reader sees the old or the new content and
// never a torn one, whenever the writer is killed.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';

/**
 * durable: fsync before the rename, so the content also survives a power
 * loss.  Records rewritten on every container start skip it: the rename alone
 * already protects them from a killed process, which is the common case.
 */
let tmpCounter = 0;

export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644, durable = true): void {
  // Unique per process and call; 'wx' below refuses anything already there.
  const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
}

export function writeJsonAtomic(path: string, value: unknown, mode = 0o644, durable = true): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', mode, durable);
}

/** Reads a JSON file; undefined when it does not exist. */
export function readJsonIfExists<T = unknown>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}
