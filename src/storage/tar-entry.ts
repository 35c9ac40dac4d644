// Pure checks of tar entry headers.  Every field of a layer's tar headers is
// attacker-controlled, so nothing here trusts a name, id, mode or time until it
// has been validated; refusals are LayerErrors that name the entry.

/** A refused or failed layer entry (or a malformed layer stream). */
export class LayerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LayerError';
  }
}

/** The entry's name as shown in messages: quoted, with NUL and control bytes escaped. */
export function quoteName(name: string): string {
  return JSON.stringify(name);
}

export function refuse(entry: string, why: string): LayerError {
  return new LayerError(`layer entry ${quoteName(entry)}: refused: ${why}`);
}

/**
 * Splits an entry name into path components below the layer root; [] is the
 * root itself ("." or "./").  Leading "./" is stripped and empty or "."
 * components and a trailing "/" are ignored.
 */
export function entryPath(name: string): string[] {
  return splitPath(name, (why) => refuse(name, why), 'path');
}

/** Components of a hard link's target, under the same rules as names; [] is refused. */
export function linkTargetPath(entry: string, linkname: string | null | undefined): string[] {
  const fail = (why: string) => refuse(entry, `hard link target ${quoteName(linkname ?? '')} ${why}`);
  const parts = splitPath(linkname ?? '', fail, 'target');
  if (parts.length === 0) throw fail('is the layer root, a directory');
  return parts;
}

function splitPath(name: string, fail: (why: string) => LayerError, what: string): string[] {
  if (typeof name !== 'string' || name === '') throw fail(what === 'path' ? 'empty name' : 'is empty');
  if (name.includes('\0')) throw fail(what === 'path' ? 'name contains a NUL byte' : 'contains a NUL byte');
  if (name.startsWith('/')) throw fail(what === 'path' ? 'absolute path leaves the layer' : 'is absolute');
  let rest = name;
  while (rest.startsWith('./')) rest = rest.slice(2);
  const parts = rest.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw fail(what === 'path' ? 'path leaves the layer' : 'leaves the layer');
  return parts;
}

export type Whiteout =
  | { kind: 'opaque' }
  | { kind: 'whiteout'; name: string }
  | { kind: 'ignore' };

const WH_PREFIX = '.wh.';
const WH_META_PREFIX = '.wh..wh.';
const WH_OPAQUE = '.wh..wh..opq';

/** Classifies an entry's last path component as an OCI/Docker whiteout, or null. */
export function classifyWhiteout(entry: string, base: string): Whiteout | null {
  if (!base.startsWith(WH_PREFIX)) return null;
  if (base === WH_OPAQUE) return { kind: 'opaque' };
  if (base.startsWith(WH_META_PREFIX)) return { kind: 'ignore' };
  const name = base.slice(WH_PREFIX.length);
  // ".wh." alone or ".wh.." would white out the directory itself or its parent.
  if (name === '' || name === '.' || name === '..') throw refuse(entry, 'whiteout names no file');
  return { kind: 'whiteout', name };
}

/** The subset of tar-stream's header that the applier reads. */
export interface TarHeader {
  name: string;
  type?: string | null;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: Date;
  linkname?: string | null;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string> | null;
}

export interface EntryMeta {
  uid: number;
  gid: number;
  /** Permission bits only (0o7777). */
  mode: number;
  mtime: Date;
  atime: Date;
  xattrs: Array<{ name: string; value: Buffer }>;
}

export const DEFAULT_MAX_ID = 0xfffffffe;

/** Validates ids, mode, times and xattrs of an entry; throws a LayerError naming it. */
export function entryMeta(header: TarHeader, maxId: number = DEFAULT_MAX_ID): EntryMeta {
  const entry = header.name;
  const pax = header.pax ?? {};
  const uid = checkId(entry, 'uid', paxNumber(entry, pax, 'uid') ?? header.uid, maxId);
  const gid = checkId(entry, 'gid', paxNumber(entry, pax, 'gid') ?? header.gid, maxId);
  const mode = header.mode ?? 0;
  if (!Number.isSafeInteger(mode) || mode < 0) throw refuse(entry, `invalid mode ${String(mode)}`);
  const mtime = checkTime(entry, 'mtime', paxTime(entry, pax, 'mtime') ?? header.mtime);
  // atime is optional and only cosmetic: fall back to mtime.
  const atime = paxTime(entry, pax, 'atime') ?? mtime;
  return { uid, gid, mode: mode & 0o7777, mtime, atime, xattrs: entryXattrs(pax) };
}

export function checkId(entry: string, kind: 'uid' | 'gid', value: unknown, maxId: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > maxId) {
    throw refuse(entry, `invalid ${kind} ${String(value)} (must be an integer from 0 to ${maxId})`);
  }
  return value;
}

const HEADER_ONLY = new Set(['directory', 'symlink', 'character-device', 'block-device', 'fifo']);

/**
 * These types carry no data.  tar-stream never ends the body of a directory
 * that declares some (the applier would wait forever) and other readers skip
 * such data differently, so a declared size is refused.
 */
export function checkHeaderOnly(header: TarHeader): void {
  const size = header.size ?? 0;
  if (HEADER_ONLY.has(header.type ?? '') && size !== 0) {
    throw refuse(header.name, `${header.type} entry declares ${String(size)} bytes of data`);
  }
}

/** Device numbers; the kernel's dev_t holds 12-bit majors and 20-bit minors. */
export function checkDevice(header: TarHeader): { major: number; minor: number } {
  const major = header.devmajor ?? 0;
  const minor = header.devminor ?? 0;
  const ok = (n: number, max: number) => Number.isSafeInteger(n) && n >= 0 && n <= max;
  if (!ok(major, 0xfff) || !ok(minor, 0xfffff)) {
    throw refuse(header.name, `invalid device number ${String(major)}:${String(minor)}`);
  }
  return { major, minor };
}

// tar-stream leaves PAX uid/gid/mtime in header.pax (they carry ids and times
// that do not fit the octal fields), so they are parsed here, strictly.
function paxNumber(entry: string, pax: Record<string, string>, key: string): number | undefined {
  if (!Object.hasOwn(pax, key)) return undefined;
  const text = pax[key];
  if (!/^[0-9]{1,16}$/.test(text)) throw refuse(entry, `invalid PAX ${key} ${quoteName(text)}`);
  return Number(text);
}

function paxTime(entry: string, pax: Record<string, string>, key: string): Date | undefined {
  if (!Object.hasOwn(pax, key)) return undefined;
  const text = pax[key];
  if (!/^-?[0-9]{1,16}(\.[0-9]{1,9})?$/.test(text)) throw refuse(entry, `invalid PAX ${key} ${quoteName(text)}`);
  return checkTime(entry, key, new Date(Number(text) * 1000));
}

function checkTime(entry: string, kind: string, value: Date | undefined): Date {
  if (value === undefined) return new Date(0);
  if (!(value instanceof Date) || !Number.isFinite(value.getTime())) throw refuse(entry, `invalid ${kind}`);
  return value;
}

const SCHILY_XATTR = 'SCHILY.xattr.';
const LIBARCHIVE_XATTR = 'LIBARCHIVE.xattr.';

/** Only user.* and security.capability are applied; trusted.*, security.selinux etc. are dropped. */
export function xattrAllowed(name: string): boolean {
  return (name.startsWith('user.') && name.length > 'user.'.length) || name === 'security.capability';
}

/**
 * The allowed xattrs of an entry.  tar-stream decodes PAX values as UTF-8, so
 * a SCHILY value holding bytes that are not UTF-8 cannot be recovered; such
 * values (they contain U+FFFD) are skipped rather than written corrupted.
 * libarchive's base64 form is binary-safe and wins when both are present.
 */
export function entryXattrs(pax: Record<string, string>): Array<{ name: string; value: Buffer }> {
  const found = new Map<string, Buffer>();
  for (const key of Object.keys(pax)) {
    if (!key.startsWith(SCHILY_XATTR)) continue;
    const name = key.slice(SCHILY_XATTR.length);
    const text = pax[key];
    if (xattrAllowed(name) && !text.includes('\ufffd')) found.set(name, Buffer.from(text, 'utf8'));
  }
  for (const key of Object.keys(pax)) {
    if (!key.startsWith(LIBARCHIVE_XATTR)) continue;
    const name = decodeXattrName(key.slice(LIBARCHIVE_XATTR.length));
    if (name !== null && xattrAllowed(name)) found.set(name, Buffer.from(pax[key], 'base64'));
  }
  return [...found].map(([name, value]) => ({ name, value }));
}

function decodeXattrName(encoded: string): string | null {
  try {
    const name = decodeURIComponent(encoded);
    return name.includes('\0') ? null : name;
  } catch {
    return null;
  }
}
