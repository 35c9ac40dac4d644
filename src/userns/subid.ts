// /etc/subuid and /etc/subgid: the subordinate ID ranges a user may map, and
// the session namespace's mapping built from them.
import { readFileSync } from 'node:fs';

export interface IdRange { start: number; count: number }

/** Parses subuid(5)/subgid(5) text and returns the ranges granted to `name` or `id`. */
export function parseSubIds(text: string, name: string | undefined, id: number): IdRange[] {
  const ranges: IdRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(':');
    if (parts.length !== 3) continue;
    const [owner, startText, countText] = parts;
    if (owner !== name && owner !== String(id)) continue;
    if (!/^\d+$/.test(startText) || !/^\d+$/.test(countText)) continue;
    const start = Number(startText);
    const count = Number(countText);
    if (count > 0 && Number.isSafeInteger(start + count) && start + count <= 0xffffffff) ranges.push({ start, count });
  }
  return ranges;
}

/** The user name for a host UID from /etc/passwd (or $USER when the user is not there). */
export function userName(uid: number, passwd?: string): string | undefined {
  let text = passwd;
  if (text === undefined) {
    try {
      text = readFileSync('/etc/passwd', 'utf8');
    } catch {
      text = '';
    }
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[2] === String(uid)) return f[0];
  }
  return process.env.USER || process.env.LOGNAME;
}

export function readSubIds(file: string, name: string | undefined, id: number): IdRange[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return parseSubIds(text, name, id);
}

/** One line of a kernel ID map: inside `inner` maps to `outer` for `count` IDs. */
export interface MapEntry { inner: number; outer: number; count: number }

/**
 * The session namespace's map: 0 -> the user's own ID, then the subordinate
 * ranges back to back from 1.  Returns the entries and the namespace's size.
 */
export function sessionMap(hostId: number, ranges: IdRange[]): { entries: MapEntry[]; size: number } {
  const entries: MapEntry[] = [{ inner: 0, outer: hostId, count: 1 }];
  let next = 1;
  for (const r of ranges) {
    entries.push({ inner: next, outer: r.start, count: r.count });
    next += r.count;
  }
  return { entries, size: next };
}

/** "0 1000 1 1 100000 65536": the argument form newuidmap and the helper take. */
export function mapToArgs(entries: MapEntry[]): string {
  return entries.map((e) => `${e.inner} ${e.outer} ${e.count}`).join(' ');
}
