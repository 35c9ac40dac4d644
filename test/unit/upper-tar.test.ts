// The upper directory -> layer tar walk of commit, on hand-made upper
// directories that look like what the overlay drivers leave behind.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract, type Header } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { native } from '../../src/native/index';
import { applyLayer } from '../../src/storage/layer-apply';
import { classifyUpperEntry, isOpaqueValue, writeUpperTar, type UpperTarOptions } from '../../src/storage/upper-tar';

const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const isRoot = process.getuid?.() === 0;
const me = { uid: process.getuid!(), gid: process.getgid!() };

let dir: string;
let upper: string;
beforeEach(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'upper-tar-'));
  upper = join(dir, 'upper');
  fs.mkdirSync(upper);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Our own files stand for container root's: the test's IDs become 0:0. */
const asRoot: UpperTarOptions = {
  owner: (uid, gid) => ({ uid: uid === me.uid ? 0 : uid, gid: gid === me.gid ? 0 : gid }),
  skipEmptyFiles: new Set(['etc/hosts', 'etc/hostname']),
};

function tryMknod(path: string, mode: number): boolean {
  const slash = path.lastIndexOf('/');
  const fd = fs.openSync(path.slice(0, slash), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    native().mknodat(fd, path.slice(slash + 1), mode, 0, 0);
    return true;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

function trySetXattr(path: string, name: string): boolean {
  try {
    native().lsetxattr(path, name, Buffer.from('y'));
    return true;
  } catch {
    return false; // a filesystem without user xattrs
  }
}

async function entriesOf(file: string): Promise<{ header: Header; body: Buffer }[]> {
  const out: { header: Header; body: Buffer }[] = [];
  const x = extract();
  fs.createReadStream(file).pipe(x);
  for await (const e of x as unknown as AsyncIterable<AsyncIterable<Buffer> & { header: Header }>) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c);
    out.push({ header: e.header, body: Buffer.concat(chunks) });
  }
  return out;
}

describe('upper entries', () => {
  it('classifies overlay and fuse-overlayfs markers', () => {
    expect(classifyUpperEntry('gone', true)).toEqual({ kind: 'whiteout', name: 'gone' });
    expect(classifyUpperEntry('.wh.gone', false)).toEqual({ kind: 'whiteout', name: 'gone' });
    expect(classifyUpperEntry('.wh..wh..opq', false)).toEqual({ kind: 'opaque' });
    // fuse-overlayfs's 0/0 device beside its opaque file
    expect(classifyUpperEntry('.wh..opq', true)).toEqual({ kind: 'opaque' });
    expect(classifyUpperEntry('file', false)).toEqual({ kind: 'entry' });
    expect(classifyUpperEntry('.whatever', false)).toEqual({ kind: 'entry' });
    for (const bad of ['.wh.', '.wh..', '.wh...']) expect(classifyUpperEntry(bad, false)).toEqual({ kind: 'skip' });
    expect(isOpaqueValue(Buffer.from('y'))).toBe(true);
    expect(isOpaqueValue(Buffer.from('n'))).toBe(false);
    expect(isOpaqueValue(null)).toBe(false);
  });
});

describe('writeUpperTar', () => {
  it('writes files, links and markers as OCI entries, owners translated, never following a symlink', async () => {
    fs.writeFileSync(join(upper, 'hello'), 'hi\n');
    fs.chmodSync(join(upper, 'hello'), 0o640);
    fs.linkSync(join(upper, 'hello'), join(upper, 'also-hello'));
    fs.symlinkSync('/etc', join(upper, 'out'));
    fs.writeFileSync(join(upper, '.wh.gone'), ''); // fuse-overlayfs without mknod
    fs.writeFileSync(join(upper, '.wh..'), ''); // cannot be expressed: left out
    fs.mkdirSync(join(upper, 'opq1'));
    fs.writeFileSync(join(upper, 'opq1', '.wh..wh..opq'), '');
    fs.writeFileSync(join(upper, 'opq1', 'new'), 'n');
    fs.mkdirSync(join(upper, 'etc'));
    fs.writeFileSync(join(upper, 'etc', 'hosts'), ''); // a runtime mount point
    fs.writeFileSync(join(upper, 'etc', 'hostname'), 'mine\n'); // not empty: the container's
    const deep = join(upper, 'd'.repeat(60), 'e'.repeat(60));
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(join(deep, 'f'.repeat(90)), 'deep');
    const fifo = tryMknod(join(upper, 'pipe'), S_IFIFO | 0o600);

    const out = join(dir, 'layer.tar');
    const r = writeUpperTar(upper, out, asRoot);
    const bytes = fs.readFileSync(out);
    expect(r.size).toBe(bytes.length);
    expect(r.diffID).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);

    const entries = await entriesOf(out);
    const byName = new Map(entries.map((e) => [e.header.name, e]));
    const names = entries.map((e) => e.header.name);
    expect(names).not.toContain('etc/hosts');
    expect(names).not.toContain('.wh..');
    expect(names).not.toContain('./');
    expect(byName.get('.wh.gone')?.header.type).toBe('file');
    expect(byName.get('opq1/.wh..wh..opq')?.header.size).toBe(0);
    expect(names.indexOf('opq1/')).toBeLessThan(names.indexOf('opq1/.wh..wh..opq'));
    expect(byName.get('opq1/new')?.body.toString()).toBe('n');
    expect(byName.get('etc/hostname')?.body.toString()).toBe('mine\n');
    expect(byName.get('out')?.header).toMatchObject({ type: 'symlink', linkname: '/etc' });
    // "also-hello" sorts first: it carries the data, "hello" links to it
    expect(byName.get('also-hello')?.header).toMatchObject({ type: 'file', size: 3, mode: 0o640, uid: 0, gid: 0 });
    expect(byName.get('hello')?.header).toMatchObject({ type: 'link', linkname: 'also-hello' });
    expect(byName.get(`${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(90)}`)?.body.toString()).toBe('deep');
    if (fifo) expect(byName.get('pipe')?.header.type).toBe('fifo');
  });

  it('turns 0/0 character devices into whiteouts and opaque xattrs into opaque markers', async () => {
    const dev = tryMknod(join(upper, 'deleted'), S_IFCHR);
    fs.mkdirSync(join(upper, 'kernel-opaque'));
    const kx = trySetXattr(join(upper, 'kernel-opaque'), 'user.overlay.opaque');
    fs.mkdirSync(join(upper, 'fuse-opaque'));
    trySetXattr(join(upper, 'fuse-opaque'), 'user.fuseoverlayfs.opaque');
    tryMknod(join(upper, 'fuse-opaque', '.wh..opq'), S_IFCHR | 0o700);
    fs.writeFileSync(join(upper, 'fuse-opaque', '.wh..wh..opq'), '');
    fs.mkdirSync(join(upper, 'plain'));

    const out = join(dir, 'layer.tar');
    writeUpperTar(upper, out, asRoot);
    const names = (await entriesOf(out)).map((e) => e.header.name);
    if (dev) {
      expect(names).toContain('.wh.deleted');
      expect(names).not.toContain('deleted');
    }
    if (kx) expect(names).toContain('kernel-opaque/.wh..wh..opq');
    // One marker, whichever of fuse-overlayfs's three signs are there.
    expect(names.filter((n) => n === 'fuse-opaque/.wh..wh..opq')).toHaveLength(1);
    expect(names).not.toContain('fuse-opaque/.wh..opq');
    expect(names).not.toContain('plain/.wh..wh..opq');
  });

  it.runIf(isRoot)('round-trips through the layer applier: whiteouts become overlay whiteouts again', async () => {
    tryMknod(join(upper, 'deleted'), S_IFCHR);
    fs.mkdirSync(join(upper, 'opq'));
    fs.writeFileSync(join(upper, 'opq', '.wh..wh..opq'), '');
    fs.writeFileSync(join(upper, 'opq', 'kept'), 'k');
    fs.writeFileSync(join(upper, 'owned'), 'o');
    fs.chownSync(join(upper, 'owned'), 33, 33);
    const out = join(dir, 'layer.tar');
    const r = writeUpperTar(upper, out, asRoot);
    const dest = join(dir, 'applied');
    fs.mkdirSync(dest);
    const applied = await applyLayer(fs.createReadStream(out), dest);
    expect(applied.diffID).toBe(r.diffID);
    const wh = fs.lstatSync(join(dest, 'deleted'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(native().lgetxattr(join(dest, 'opq'), 'user.overlay.opaque')?.toString()).toBe('y');
    expect(fs.readFileSync(join(dest, 'opq', 'kept'), 'utf8')).toBe('k');
    const owned = fs.statSync(join(dest, 'owned'));
    expect([owned.uid, owned.gid]).toEqual([33, 33]);
  });

  it('stops with the owner translation\'s error, and refuses to overwrite its output', () => {
    fs.writeFileSync(join(upper, 'bad'), 'x');
    const out = join(dir, 'layer.tar');
    expect(() =>
      writeUpperTar(upper, out, {
        owner: (_u, _g, path) => {
          throw new Error(`cannot commit /${path}`);
        },
      }),
    ).toThrow('cannot commit /bad');
    expect(() => writeUpperTar(upper, out, asRoot)).toThrow(/EEXIST/);
  });
});

describe('writeUpperTar without an upper directory', () => {
  it('writes an empty layer for a container that never ran', async () => {
    const out = join(dir, 'empty.tar');
    const r = writeUpperTar(join(dir, 'never-made'), out, asRoot);
    expect(fs.readFileSync(out)).toEqual(Buffer.alloc(1024));
    expect(r.size).toBe(1024);
    expect(await entriesOf(out)).toEqual([]);
  });
});
