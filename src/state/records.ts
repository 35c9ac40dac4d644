// Directories of records named by 64-hex IDs (images, containers), each with
// one JSON file written atomically.  A torn or foreign file reads as absent.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonIfExists } from './atomic';

export function readRecord<T>(dir: string, id: string, file: string): T | undefined {
  try {
    return readJsonIfExists<T>(join(dir, id, file));
  } catch {
    return undefined;
  }
}

/** Every record in dir, newest first by `key` (an ISO timestamp). */
export function readRecords<T>(dir: string, file: string, key: (r: T) => string): T[] {
  let ids: string[];
  try {
    ids = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: T[] = [];
  for (const id of ids) {
    if (!/^[0-9a-f]{64}$/.test(id)) continue;
    const rec = readRecord<T>(dir, id, file);
    if (rec) out.push(rec);
  }
  return out.sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
}
