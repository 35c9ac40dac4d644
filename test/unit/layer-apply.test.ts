import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { native } from '../../src/native/index';
import { applyLayer, decompressStream, LayerError, type ApplyOptions } from '../../src/storage/layer-apply';
import { entryMeta, entryPath, linkTargetPath, classifyWhiteout, entryXattrs } from '../../src/storage/tar-entry';

const isRoot = process.getuid?.() === 0;
// Unprivileged runs cannot chown to 0 or other foreign IDs: tolerate that there.
const OPTS: ApplyOptions = isRoot ? {} : { ignoreChownErrors: true };
const T1 = new Date('2001-02-03T04:05:06Z');
const T2 = new Date('2011-12-13T14:15:16Z');

type Entry = Partial<Header> & { name: string; content?: string | Buffer; pax?: Record<string, string> };

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      p.entry({ mtime: T1, ...header }, content ?? Buffer.alloc(0), (e) => (e ? reject(e) : resolve()));
    });
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A raw ustar header whose numeric fields are written verbatim (for malformed values). */
function rawHeader(fields: { name: string; mode?: string; uid?: string | Buffer; gid?: string; size?: number; type?: string }): Buffer {
  const b = Buffer.alloc(512);
  b.write(fields.name, 0);
  b.write(fields.mode ?? '0000644 ', 100);
  const uid = fields.uid ?? '0000000 ';
  if (Buffer.isBuffer(uid)) uid.copy(b, 108);
  else b.write(uid, 108);
  b.write(fields.gid ?? '0000000 ', 116);
  b.write((fields.size ?? 0).toString(8).padStart(11, '0') + ' ', 124);
  b.write(Math.floor(T1.getTime() / 1000).toString(8).padStart(11, '0') + ' ', 136);
  b.write(fields.type ?? '0', 156);
  b.write('ustar\u000000', 257);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148);
  return b;
}

function rawTar(headers: Buffer[]): Buffer {
  return Buffer.concat([...headers, Buffer.alloc(1024)]);
}

/** Streams the buffer in small chunks, so entries straddle chunk boundaries. */
function chunked(buf: Buffer, size = 333): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

function sha256(buf: Buffer): string {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}

// vfs_cap_data revision 2, effective, permitted = CAP_NET_BIND_SERVICE (bit 10).
const CAP_NET_BIND_SERVICE = Buffer.from([1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

const rand = () => randomBytes(6).toString('hex');

let tmp: string;
let layer: string;
let outside: string;
let sentinel: string;
let sentinelStat: fs.Stats;

beforeEach(() => {
  tmp = fs.mkdtempSync(join(tmpdir(), 'selkie-apply-'));
  layer = join(tmp, 'layer');
  outside = join(tmp, 'outside');
  fs.mkdirSync(layer);
  fs.mkdirSync(outside);
  sentinel = join(outside, 'sentinel');
  fs.writeFileSync(sentinel, 'untouched');
  fs.utimesSync(sentinel, T2, T2);
  sentinelStat = fs.statSync(sentinel);
});

afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function apply(tar: Buffer, opts: ApplyOptions = OPTS) {
  return applyLayer(chunked(tar), layer, opts);
}

/** Nothing outside the layer changed, and none of the given paths exist. */
function assertOutsideUntouched(mustNotExist: string[] = []): void {
  const st = fs.statSync(sentinel);
  expect(fs.readFileSync(sentinel, 'utf8')).toBe('untouched');
  expect(st.mtimeMs).toBe(sentinelStat.mtimeMs);
  expect(st.nlink).toBe(1);
  expect(st.mode).toBe(sentinelStat.mode);
  expect(fs.readdirSync(outside)).toEqual(['sentinel']);
  expect(fs.readdirSync(tmp).sort()).toEqual(['layer', 'outside']);
  expect(native().lgetxattr(outside, 'user.overlay.opaque')).toBeNull();
  for (const p of mustNotExist) expect(fs.existsSync(p)).toBe(false);
}

async function expectRefused(tar: Buffer, message: RegExp, mustNotExist: string[] = []): Promise<void> {
  const err = await apply(tar).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LayerError);
  expect((err as Error).message).toMatch(message);
  assertOutsideUntouched(mustNotExist);
}

describe('applyLayer: hostile layers', () => {
  it('refuses a name with a .. component', async () => {
    const name = `x-${rand()}`;
    const tar = await makeTar([{ name: `../${name}`, content: 'evil' }]);
    await expectRefused(tar, /^layer entry "\.\.\/x-[0-9a-f]+": refused: path leaves the layer$/, [join(tmp, name)]);
    const tar2 = await makeTar([{ name: `a/../../${name}`, content: 'evil' }]);
    await expectRefused(tar2, /refused: path leaves the layer/, [join(tmp, name)]);
  });

  it('refuses an absolute name', async () => {
    const target = `/tmp/selkie-abs-${rand()}`;
    const tar = await makeTar([{ name: target, content: 'evil' }]);
    await expectRefused(tar, new RegExp(`^layer entry "${target}": refused: absolute path`), [target]);
  });

  it('refuses a file below a symlink to /', async () => {
    const pwned = `/tmp/pwned-${rand()}`;
    const tar = await makeTar([
      { name: 'evil', type: 'symlink', linkname: '/' },
      { name: `evil${pwned}`, content: 'pwned' },
    ]);
    await expectRefused(tar, /^layer entry "evil\/tmp\/pwned-[0-9a-f]+": refused: path passes through a symlink \("evil"\)$/, [pwned]);
  });

  it('refuses files through symlinks to the outside directory (absolute and relative)', async () => {
    for (const linkname of [outside, '../outside']) {
      fs.rmSync(layer, { recursive: true });
      fs.mkdirSync(layer);
      const tar = await makeTar([
        { name: 'out', type: 'symlink', linkname },
        { name: 'out/sentinel', content: 'overwritten' },
      ]);
      await expectRefused(tar, /"out\/sentinel": refused: path passes through a symlink/);
      fs.rmSync(layer, { recursive: true });
      fs.mkdirSync(layer);
      const tar2 = await makeTar([
        { name: 'out', type: 'symlink', linkname },
        { name: 'out/new/deeper', type: 'directory' },
      ]);
      await expectRefused(tar2, /"out\/new\/deeper": refused: path passes through a symlink \("out"\)/, [join(outside, 'new')]);
    }
  });

  it('refuses whiteouts and opaque markers through a symlink', async () => {
    const tar = await makeTar([
      { name: 'out', type: 'symlink', linkname: outside },
      { name: 'out/.wh.sentinel', content: '' },
    ]);
    await expectRefused(tar, /"out\/\.wh\.sentinel": refused: path passes through a symlink/);
    fs.rmSync(layer, { recursive: true });
    fs.mkdirSync(layer);
    const tar2 = await makeTar([
      { name: 'out', type: 'symlink', linkname: outside },
      { name: 'out/.wh..wh..opq', content: '' },
    ]);
    await expectRefused(tar2, /"out\/\.wh\.\.wh\.\.opq": refused: path passes through a symlink/);
  });

  it('refuses a hard link to an absolute path', async () => {
    const before = fs.statSync('/etc/passwd');
    const tar = await makeTar([{ name: 'pw', type: 'link', linkname: '/etc/passwd' }]);
    await expectRefused(tar, /^layer entry "pw": refused: hard link target "\/etc\/passwd" is absolute$/);
    expect(fs.statSync('/etc/passwd').nlink).toBe(before.nlink);
    expect(fs.existsSync(join(layer, 'pw'))).toBe(false);
  });

  it('refuses a hard link that leaves the layer', async () => {
    const tar = await makeTar([{ name: 'x', type: 'link', linkname: '../outside/sentinel' }]);
    await expectRefused(tar, /^layer entry "x": refused: hard link target "\.\.\/outside\/sentinel" leaves the layer$/);
  });

  it('refuses a hard link whose target passes through a symlink', async () => {
    const tar = await makeTar([
      { name: 's', type: 'symlink', linkname: outside },
      { name: 'x', type: 'link', linkname: 's/sentinel' },
    ]);
    await expectRefused(tar, /^layer entry "x": refused: hard link target "s\/sentinel" passes through a symlink \("s"\)$/);
    expect(fs.existsSync(join(layer, 'x'))).toBe(false);
  });

  it('refuses a hard link to an entry that does not exist yet, or to a directory', async () => {
    const tar = await makeTar([
      { name: 'a', type: 'link', linkname: 'b' },
      { name: 'b', content: 'later' },
    ]);
    await expectRefused(tar, /^layer entry "a": refused: hard link target "b" does not exist in this layer$/);
    fs.rmSync(layer, { recursive: true });
    fs.mkdirSync(layer);
    const tar2 = await makeTar([
      { name: 'd', type: 'directory' },
      { name: 'l', type: 'link', linkname: 'd' },
    ]);
    await expectRefused(tar2, /^layer entry "l": refused: hard link target "d" is a directory$/);
    fs.rmSync(layer, { recursive: true });
    fs.mkdirSync(layer);
    const tar3 = await makeTar([{ name: 'l', type: 'link', linkname: 'missing/dir/f' }]);
    await expectRefused(tar3, /refused: hard link target "missing\/dir\/f" does not exist in this layer/);
  });

  it('refuses a name containing NUL (from a PAX path)', async () => {
    const tar = await makeTar([{ name: 'a\u0000/../../escape', pax: {}, content: 'x' }]);
    await expectRefused(tar, /^layer entry "a\\u0000\/\.\.\/\.\.\/escape": refused: name contains a NUL byte$/);
  });

  it('validates names from PAX overrides like any other', async () => {
    const name = `pax-${rand()}`;
    const tar = await makeTar([{ name: `../${name}`, pax: { comment: 'long names go here' }, content: 'x' }]);
    await expectRefused(tar, /refused: path leaves the layer/, [join(tmp, name)]);
  });

  it('refuses garbage, negative and too large uids and gids', async () => {
    await expectRefused(rawTar([rawHeader({ name: 'nan', uid: 'zzzzzzz ' })]), /^layer entry "nan": refused: invalid uid NaN/);
    const negative = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]); // base-256 -2
    await expectRefused(rawTar([rawHeader({ name: 'neg', uid: negative })]), /^layer entry "neg": refused: invalid uid -\d+ \(must be/);
    await expectRefused(rawTar([rawHeader({ name: 'g', gid: '-000001 ' })]), /"g": refused: invalid gid -1/);
    const big = await makeTar([{ name: 'big', uid: 70000, content: 'x' }]);
    const err = await applyLayer(chunked(big), layer, { ...OPTS, maxId: 65535 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/"big": refused: invalid uid 70000 \(must be an integer from 0 to 65535\)/);
    await expectRefused(await makeTar([{ name: 'p', pax: { uid: '12abc' }, content: 'x' }]), /invalid PAX uid "12abc"/);
    expect(fs.readdirSync(layer)).toEqual([]);
  });

  it('refuses data on a directory entry instead of waiting for it forever', async () => {
    const tar = rawTar([rawHeader({ name: 'd/', type: '5', size: 1 })]);
    await expectRefused(tar, /^layer entry "d\/": refused: directory entry declares 1 bytes of data$/);
  });

  it('refuses whiteouts that name the directory or its parent', async () => {
    await expectRefused(await makeTar([{ name: 'd/.wh..', content: '' }]), /"d\/\.wh\.\.": refused: whiteout names no file/);
  });

  it('replaces a symlink by a file instead of writing through it', async () => {
    const tar = await makeTar([
      { name: 'f', type: 'symlink', linkname: sentinel },
      { name: 'f', content: 'mine' },
    ]);
    await apply(tar);
    expect(fs.lstatSync(join(layer, 'f')).isFile()).toBe(true);
    expect(fs.readFileSync(join(layer, 'f'), 'utf8')).toBe('mine');
    assertOutsideUntouched();
  });

  it('replaces a hard-linked file instead of writing into the shared inode', async () => {
    const tar = await makeTar([
      { name: 'a', content: 'original' },
      { name: 'b', type: 'link', linkname: 'a' },
      { name: 'b', content: 'replaced' },
    ]);
    await apply(tar);
    expect(fs.readFileSync(join(layer, 'a'), 'utf8')).toBe('original');
    expect(fs.readFileSync(join(layer, 'b'), 'utf8')).toBe('replaced');
  });

  it('removes a directory tree without following symlinks inside it', async () => {
    const tar = await makeTar([
      { name: 'd/', type: 'directory' },
      { name: 'd/out', type: 'symlink', linkname: outside },
      { name: 'd/sub/f', content: 'x' },
      { name: 'd', content: 'now a file' },
    ]);
    await apply(tar);
    expect(fs.readFileSync(join(layer, 'd'), 'utf8')).toBe('now a file');
    assertOutsideUntouched();
  });

  it('refuses a corrupt tar stream and a non-empty destination', async () => {
    const tar = await makeTar([{ name: 'f', content: 'x' }]);
    tar[10] ^= 0xff; // breaks the header checksum
    await expectRefused(tar, /^layer: invalid tar stream: Invalid tar header/);
    const good = await makeTar([{ name: 'f', content: 'x' }]);
    await expectRefused(good.subarray(0, 700), /invalid tar stream: Unexpected end of data/);
    fs.writeFileSync(join(layer, 'pre'), '');
    await expectRefused(good, /is not empty/);
  });

  it('fails with a clear error when chown is impossible and not ignored', async () => {
    if (isRoot) return; // root can chown to anything
    const tar = await makeTar([{ name: 'owned', uid: 4242, gid: 4343, content: 'x' }]);
    await expect(apply(tar, {})).rejects.toThrow(/^layer entry "owned": cannot chown to 4242:4343: ID not mapped/);
  });
});

describe('applyLayer: ordinary layers', () => {
  it('writes files with content, modes (setuid included), ownership and times', async () => {
    const tar = await makeTar([
      { name: './bin/', type: 'directory', mode: 0o755 },
      { name: './bin/su', mode: 0o4755, uid: 1000, gid: 1001, content: 'suid binary' },
      { name: './etc/shadow', mode: 0o640, gid: 42, content: 'secret', mtime: T2 },
      { name: 'garbage-mode', mode: 0o170777, content: '' },
    ]);
    const res = await apply(tar);
    const su = fs.statSync(join(layer, 'bin/su'));
    expect(fs.readFileSync(join(layer, 'bin/su'), 'utf8')).toBe('suid binary');
    expect(su.mode & 0o7777).toBe(0o4755);
    expect(su.mtime.getTime()).toBe(T1.getTime());
    if (isRoot) expect([su.uid, su.gid]).toEqual([1000, 1001]);
    const shadow = fs.statSync(join(layer, 'etc/shadow'));
    expect(shadow.mode & 0o7777).toBe(0o640);
    expect(shadow.mtime.getTime()).toBe(T2.getTime());
    if (isRoot) expect(shadow.gid).toBe(42);
    expect(fs.statSync(join(layer, 'garbage-mode')).mode & 0o7777).toBe(0o777);
    expect(res.size).toBe('suid binary'.length + 'secret'.length);
  });

  it('creates implicit parents 0755 and applies directory metadata at the end', async () => {
    const tar = await makeTar([
      { name: 'a/', type: 'directory', mode: 0o750, uid: 7, gid: 8, mtime: T2 },
      { name: 'a/b/c/file', content: 'deep' },
      { name: 'a/b/', type: 'directory', mode: 0o700, mtime: T2 },
      { name: 'ro/', type: 'directory', mode: 0o555, mtime: T2 },
      { name: 'ro/inside', content: 'still written' },
      { name: 'x/y/z.txt', content: 'implicit' },
    ]);
    await apply(tar);
    for (const d of ['a', 'a/b', 'ro']) expect(fs.statSync(join(layer, d)).mtime.getTime()).toBe(T2.getTime());
    expect(fs.statSync(join(layer, 'a')).mode & 0o7777).toBe(0o750);
    expect(fs.statSync(join(layer, 'a/b')).mode & 0o7777).toBe(0o700);
    expect(fs.statSync(join(layer, 'ro')).mode & 0o7777).toBe(0o555);
    expect(fs.readFileSync(join(layer, 'ro/inside'), 'utf8')).toBe('still written');
    for (const d of ['a/b/c', 'x', 'x/y']) {
      const st = fs.statSync(join(layer, d));
      expect(st.isDirectory()).toBe(true);
      expect(st.mode & 0o7777).toBe(0o755);
      if (isRoot) expect([st.uid, st.gid]).toEqual([0, 0]);
    }
    if (isRoot) expect(fs.statSync(join(layer, 'a')).uid).toBe(7);
    fs.chmodSync(join(layer, 'ro'), 0o755); // let afterEach clean up when unprivileged
  });

  it('applies the root entry "./" to the layer directory', async () => {
    await apply(await makeTar([{ name: './', type: 'directory', mode: 0o711, mtime: T2 }, { name: 'f', content: '' }]));
    const st = fs.statSync(layer);
    expect(st.mode & 0o7777).toBe(0o711);
    expect(st.mtime.getTime()).toBe(T2.getTime());
  });

  it('keeps symlink targets verbatim (absolute, relative, dangling)', async () => {
    const tar = await makeTar([
      { name: 'abs', type: 'symlink', linkname: '/etc/passwd', mtime: T2 },
      { name: 'd/rel', type: 'symlink', linkname: '../../../up/and/away' },
      { name: 'dangling', type: 'symlink', linkname: 'nope' },
    ]);
    await apply(tar);
    expect(fs.readlinkSync(join(layer, 'abs'))).toBe('/etc/passwd');
    expect(fs.readlinkSync(join(layer, 'd/rel'))).toBe('../../../up/and/away');
    expect(fs.readlinkSync(join(layer, 'dangling'))).toBe('nope');
    expect(fs.lstatSync(join(layer, 'abs')).mtime.getTime()).toBe(T2.getTime());
    assertOutsideUntouched();
  });

  it('makes hard links that share an inode', async () => {
    const tar = await makeTar([
      { name: 'bin/busybox', mode: 0o755, content: 'bb' },
      { name: 'bin/sh', type: 'link', linkname: './bin/busybox' },
      { name: 'usr/bin/env', type: 'link', linkname: 'bin/busybox' },
    ]);
    const res = await apply(tar);
    const a = fs.statSync(join(layer, 'bin/busybox'));
    expect(fs.statSync(join(layer, 'bin/sh')).ino).toBe(a.ino);
    expect(fs.statSync(join(layer, 'usr/bin/env')).ino).toBe(a.ino);
    expect(a.nlink).toBe(3);
    expect(res.size).toBe(2);
  });

  it('applies user.* and security.capability xattrs and ignores the rest', async () => {
    const tar = await makeTar([
      {
        name: 'f',
        content: 'x',
        pax: {
          'SCHILY.xattr.user.mime': 'text/plain',
          'SCHILY.xattr.trusted.overlay.opaque': 'y',
          'SCHILY.xattr.security.selinux': 'system_u:object_r:shadow_t:s0',
          'LIBARCHIVE.xattr.user.bin': Buffer.from([0, 1, 0xfe]).toString('base64'),
          'SCHILY.xattr.security.capability': CAP_NET_BIND_SERVICE.toString('latin1'),
        },
      },
      { name: 'd/', type: 'directory', pax: { 'SCHILY.xattr.user.dir': 'yes' } },
    ]);
    await apply(tar);
    const f = join(layer, 'f');
    expect(native().lgetxattr(f, 'user.mime')?.toString()).toBe('text/plain');
    expect(native().lgetxattr(f, 'user.bin')).toEqual(Buffer.from([0, 1, 0xfe]));
    expect(native().lgetxattr(f, 'trusted.overlay.opaque')).toBeNull();
    expect(native().lgetxattr(join(layer, 'd'), 'user.dir')?.toString()).toBe('yes');
    // Setting file capabilities needs privilege; unprivileged runs skip it silently.
    if (isRoot) expect(native().lgetxattr(f, 'security.capability')).toEqual(CAP_NET_BIND_SERVICE);
  });

  it('turns .wh.NAME into a 0/0 character device replacing the earlier entry', async () => {
    const tar = await makeTar([
      { name: 'd/gone', content: 'earlier' },
      { name: 'd/tree/f', content: 'earlier' },
      { name: 'd/.wh.gone', content: '' },
      { name: 'd/.wh.tree', content: '' },
      { name: '.wh.top', content: '' },
      { name: 'd/.wh..wh.plnk', content: '' },
    ]);
    await apply(tar);
    for (const p of ['d/gone', 'd/tree', 'top']) {
      const st = fs.lstatSync(join(layer, p));
      expect(st.isCharacterDevice()).toBe(true);
      expect(st.rdev).toBe(0);
    }
    expect(fs.readdirSync(join(layer, 'd')).sort()).toEqual(['gone', 'tree']);
  });

  it('marks opaque directories with overlay xattrs and writes no marker', async () => {
    const tar = await makeTar([
      { name: 'd/', type: 'directory' },
      { name: 'd/.wh..wh..opq', content: '' },
      { name: 'd/kept', content: 'x' },
      { name: 'implicit/.wh..wh..opq', content: '' },
    ]);
    await apply(tar);
    for (const d of ['d', 'implicit']) {
      expect(native().lgetxattr(join(layer, d), 'user.overlay.opaque')?.toString()).toBe('y');
      expect(native().lgetxattr(join(layer, d), 'user.fuseoverlayfs.opaque')?.toString()).toBe('y');
    }
    expect(fs.readdirSync(join(layer, 'd'))).toEqual(['kept']);
    expect(fs.readdirSync(join(layer, 'implicit'))).toEqual([]);
  });

  it('creates fifos and creates or skips devices', async () => {
    const tar = await makeTar([
      { name: 'run/fifo', type: 'fifo', mode: 0o620, mtime: T2 },
      { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
      { name: 'dev/loop0', type: 'block-device', mode: 0o660, devmajor: 7, devminor: 0 },
      { name: 'after', content: 'continued' },
    ]);
    await apply(tar);
    const fifo = fs.lstatSync(join(layer, 'run/fifo'));
    expect(fifo.isFIFO()).toBe(true);
    expect(fifo.mode & 0o7777).toBe(0o620);
    expect(fifo.mtime.getTime()).toBe(T2.getTime());
    const dev = fs.readdirSync(join(layer, 'dev'));
    if (dev.includes('null')) expect(fs.lstatSync(join(layer, 'dev/null')).isCharacterDevice()).toBe(true);
    expect(fs.readFileSync(join(layer, 'after'), 'utf8')).toBe('continued');
  });

  it('lets a later entry with the same path win', async () => {
    const tar = await makeTar([
      { name: 'f', content: 'one' },
      { name: 'f', content: 'two', mode: 0o600 },
      { name: 'd/', type: 'directory', mode: 0o700 },
      { name: 'd/child', content: 'c' },
      { name: 'd', content: 'file now' },
      { name: 'e', content: 'file first' },
      { name: 'e/', type: 'directory', mode: 0o711 },
      { name: 'k/', type: 'directory', mode: 0o700 },
      { name: 'k/child', content: 'kept' },
      { name: 'k/', type: 'directory', mode: 0o750, mtime: T2 },
    ]);
    await apply(tar);
    expect(fs.readFileSync(join(layer, 'f'), 'utf8')).toBe('two');
    expect(fs.statSync(join(layer, 'f')).mode & 0o7777).toBe(0o600);
    expect(fs.readFileSync(join(layer, 'd'), 'utf8')).toBe('file now');
    expect(fs.statSync(join(layer, 'e')).isDirectory()).toBe(true);
    expect(fs.statSync(join(layer, 'e')).mode & 0o7777).toBe(0o711);
    expect(fs.readFileSync(join(layer, 'k/child'), 'utf8')).toBe('kept');
    expect(fs.statSync(join(layer, 'k')).mode & 0o7777).toBe(0o750);
    expect(fs.statSync(join(layer, 'k')).mtime.getTime()).toBe(T2.getTime());
  });

  it('uses PAX uid, gid and mtime', async () => {
    const tar = await makeTar([{ name: 'f', content: 'x', pax: { uid: '3000000', gid: '3000001', mtime: '1000000000.5' } }]);
    await apply(tar);
    const st = fs.statSync(join(layer, 'f'));
    expect(st.mtimeMs).toBe(1000000000500);
    if (isRoot) expect([st.uid, st.gid]).toEqual([3000000, 3000001]);
  });

  it('computes the diffID over every byte, trailing padding included, and the size', async () => {
    const tar = await makeTar([
      { name: 'a', content: randomBytes(10_000) },
      { name: 'b', content: 'hello' },
      { name: 'l', type: 'link', linkname: 'a' },
    ]);
    const padded = Buffer.concat([tar, Buffer.alloc(10240 - (tar.length % 10240))]);
    const res = await apply(padded);
    expect(res.diffID).toBe(sha256(padded));
    expect(res.diffID).not.toBe(sha256(tar));
    expect(res.size).toBe(10_005);
  });
});

describe('decompressStream', () => {
  it('gunzips gzip layers', async () => {
    const tar = await makeTar([{ name: 'f', content: 'zipped' }]);
    const res = await applyLayer(decompressStream(chunked(gzipSync(tar), 7)), layer, OPTS);
    expect(res.diffID).toBe(sha256(tar));
    expect(fs.readFileSync(join(layer, 'f'), 'utf8')).toBe('zipped');
  });

  it('passes uncompressed streams through unchanged, even in 1-byte chunks', async () => {
    const tar = await makeTar([{ name: 'f', content: 'plain' }]);
    const res = await applyLayer(decompressStream(chunked(tar, 1)), layer, OPTS);
    expect(res.diffID).toBe(sha256(tar));
    const out: Buffer[] = [];
    for await (const c of decompressStream(Readable.from([Buffer.from('ab')]))) out.push(c as Buffer);
    expect(Buffer.concat(out).toString()).toBe('ab');
  });

  it('decompresses zstd layers, and refuses corrupt ones clearly', async () => {
    const tar = await makeTar([{ name: 'z.txt', content: 'zstd content' }]);
    const compressed = execFileSync('zstd', ['-q', '-c'], { input: tar });
    const result = await applyLayer(decompressStream(chunked(compressed, 5)), layer, OPTS);
    expect(fs.readFileSync(join(layer, 'z.txt'), 'utf8')).toBe('zstd content');
    expect(result.diffID).toBe(sha256(tar));
    const other = join(layer, '..', 'other');
    fs.mkdirSync(other);
    const corrupt = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]);
    await expect(applyLayer(decompressStream(Readable.from([corrupt])), other, OPTS)).rejects.toThrow(/zstd/);
  });

  it('reports corrupt gzip data', async () => {
    const gz = gzipSync(await makeTar([{ name: 'f', content: 'x' }]));
    const broken = gz.subarray(0, gz.length - 12);
    await expect(applyLayer(decompressStream(Readable.from([broken])), layer, OPTS)).rejects.toThrow();
  });
});

describe('tar-entry checks', () => {
  it('normalizes and validates names', () => {
    expect(entryPath('./a/b/')).toEqual(['a', 'b']);
    expect(entryPath('././a//./b')).toEqual(['a', 'b']);
    expect(entryPath('./')).toEqual([]);
    expect(() => entryPath('')).toThrow(/refused: empty name/);
    expect(() => entryPath('a/..')).toThrow(/path leaves the layer/);
    expect(() => entryPath('/a')).toThrow(/absolute/);
    expect(() => linkTargetPath('x', './')).toThrow(/is the layer root/);
    expect(() => linkTargetPath('x', null)).toThrow(/hard link target "" is empty/);
  });

  it('classifies whiteouts', () => {
    expect(classifyWhiteout('d/.wh..wh..opq', '.wh..wh..opq')).toEqual({ kind: 'opaque' });
    expect(classifyWhiteout('d/.wh..wh.plnk', '.wh..wh.plnk')).toEqual({ kind: 'ignore' });
    expect(classifyWhiteout('d/.wh.f', '.wh.f')).toEqual({ kind: 'whiteout', name: 'f' });
    expect(classifyWhiteout('d/f', 'f')).toBeNull();
    expect(() => classifyWhiteout('.wh.', '.wh.')).toThrow(LayerError);
  });

  it('validates metadata', () => {
    const base = { name: 'f', mode: 0o104755, uid: 1, gid: 2, mtime: T1 };
    expect(entryMeta(base).mode).toBe(0o4755);
    expect(() => entryMeta({ ...base, uid: 1.5 })).toThrow(/invalid uid 1.5/);
    expect(() => entryMeta({ ...base, mtime: new Date(NaN) })).toThrow(/invalid mtime/);
    expect(() => entryMeta({ ...base, mode: NaN })).toThrow(/invalid mode/);
    expect(() => entryMeta({ ...base, pax: { mtime: 'soon' } })).toThrow(/invalid PAX mtime/);
    expect(entryXattrs({ 'SCHILY.xattr.user.x': 'bad \ufffd value', 'SCHILY.xattr.user.': 'y' })).toEqual([]);
  });
});
