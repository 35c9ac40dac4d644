// Encoding tar headers (POSIX ustar, with PAX extended headers where ustar
// falls short) for the layers selkie writes itself.  Our own encoder, not
// tar-stream's packer: names are written as the bytes they are, and xattr
// values are binary (security.capability), which tar-stream's PAX writer
// would re-encode as text.
import { isUtf8 } from 'node:buffer';

export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarHeaderFields {
  /** relative, without a leading "./"; directories without the trailing "/" (added here) */
  name: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  /** bytes of data that follow (regular files only) */
  size?: number;
  /** seconds since the epoch */
  mtime: number;
  /** symlink target, or the earlier entry a hard link names */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: { name: string; value: Buffer }[];
}

const TYPEFLAG: Record<TarType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', directory: '5', fifo: '6' };
const BLOCK = 512;
/** Largest size the 11 octal digits of the ustar size field hold (8 GiB - 1). */
const MAX_OCTAL_SIZE = 0o77777777777;

/** The two zero blocks that end an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/** Zero bytes that pad `size` bytes of data to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The header block(s) of one entry: a PAX header first when ustar cannot hold a field. */
export function encodeTarHeader(h: TarHeaderFields): Buffer {
  const name = h.type === 'directory' ? `${h.name}/` : h.name;
  const nameBytes = Buffer.from(name, 'utf8');
  const split = splitUstarName(nameBytes);
  const linkBytes = Buffer.from(h.linkname ?? '', 'utf8');
  const size = h.type === 'file' ? (h.size ?? 0) : 0;

  const pax: [string, Buffer][] = [];
  if (!split) pax.push(['path', nameBytes]);
  if (linkBytes.length > 100) pax.push(['linkpath', linkBytes]);
  if (size > MAX_OCTAL_SIZE) pax.push(['size', Buffer.from(String(size))]);
  for (const x of h.xattrs ?? []) {
    pax.push([`SCHILY.xattr.${x.name}`, x.value]);
    // Readers that decode PAX values as UTF-8 (ours included) lose other bytes:
    // libarchive's base64 form carries them intact.
    if (!isUtf8(x.value)) pax.push([`LIBARCHIVE.xattr.${encodeURIComponent(x.name)}`, Buffer.from(x.value.toString('base64'))]);
  }

  const main = ustarBlock({
    name: split?.name ?? truncate(nameBytes, 100),
    prefix: split?.prefix ?? Buffer.alloc(0),
    mode: h.mode & 0o7777,
    uid: h.uid,
    gid: h.gid,
    size: size > MAX_OCTAL_SIZE ? 0 : size,
    mtime: h.mtime,
    typeflag: TYPEFLAG[h.type],
    linkname: truncate(linkBytes, 100),
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (pax.length === 0) return main;
  const records = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
  const paxName = Buffer.from(`PaxHeaders.0/${h.name.split('/').pop() ?? ''}`.slice(0, 100), 'utf8');
  const paxHead = ustarBlock({
    name: truncate(paxName, 100),
    prefix: Buffer.alloc(0),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime: h.mtime,
    typeflag: 'x',
    linkname: Buffer.alloc(0),
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHead, records, tarPadding(records.length), main]);
}

/** "LEN key=value\n", where LEN counts the whole record, itself included. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** ustar keeps long names as prefix (155 bytes) "/" name (100 bytes), split at a slash. */
function splitUstarName(name: Buffer): { name: Buffer; prefix: Buffer } | undefined {
  if (name.length <= 100) return { name, prefix: Buffer.alloc(0) };
  // The last slash that leaves at most 100 bytes after it and at most 155 before it
  // (a directory's trailing slash stays with the name).
  for (let i = name.length - 2; i >= 0; i--) {
    if (name[i] !== 0x2f) continue;
    if (name.length - i - 1 > 100) break;
    if (i <= 155 && i > 0) return { name: name.subarray(i + 1), prefix: name.subarray(0, i) };
  }
  return undefined;
}

function truncate(b: Buffer, n: number): Buffer {
  return b.length > n ? b.subarray(0, n) : b;
}

interface UstarFields {
  name: Buffer;
  prefix: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: Buffer;
  devmajor: number;
  devminor: number;
}

function octal(buf: Buffer, offset: number, width: number, value: number): void {
  const digits = Math.max(0, Math.floor(value)).toString(8);
  if (digits.length > width - 1) throw new RangeError(`tar header: ${value} does not fit ${width - 1} octal digits`);
  buf.write(digits.padStart(width - 1, '0'), offset, 'ascii');
  buf[offset + width - 1] = 0;
}

function ustarBlock(f: UstarFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  f.name.copy(b, 0);
  octal(b, 100, 8, f.mode);
  octal(b, 108, 8, f.uid);
  octal(b, 116, 8, f.gid);
  octal(b, 124, 12, f.size);
  octal(b, 136, 12, f.mtime);
  b.write(f.typeflag, 156, 'ascii');
  f.linkname.copy(b, 157);
  b.write('ustar\u000000', 257, 'ascii');
  octal(b, 329, 8, f.devmajor);
  octal(b, 337, 8, f.devminor);
  f.prefix.copy(b, 345);
  // The checksum is computed with its own field read as spaces.
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0'), 148, 'ascii');
  b[154] = 0;
  b[155] = 0x20;
  return b;
}
