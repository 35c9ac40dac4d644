// The pieces under `cp`: looking paths up inside a root (tree-locate.ts),
// reading a tree without following links (tree-walk.ts), writing entries
// below a directory only (tree-extract.ts), and tar in and out (tree-tar.ts).
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pack, type Header } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { native } from '../../src/native/index';
import { DIR_FLAGS } from '../../src/storage/safe-tree';
import { closeTree, containerTree, HOST_TREE, locate, release, type Located } from '../../src/storage/tree-locate';
import { extractTree, ExtractError } from '../../src/storage/tree-extract';
import { NotATarError, packTree, tarEntries } from '../../src/storage/tree-tar';
import { walkTree, type TreeEntry } from '../../src/storage/tree-walk';

let tmp: string;
let root: string; // plays a container's root
let outside: string; // plays the host: nothing may reach it
beforeEach(() => {
  tmp = fs.mkdtempSync(join(tmpdir(), 'cp-tree-'));
  root = join(tmp, 'root');
  outside = join(tmp, 'outside');
  fs.mkdirSync(join(root, 'etc'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(join(root, 'etc', 'passwd'), 'container passwd\n');
  fs.writeFileSync(join(outside, 'secret'), 'host secret\n');
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function dirFd(path: string): number {
  return native().openat2(-100, path, DIR_FLAGS, 0, 0);
}

async function collect(it: AsyncIterable<TreeEntry>): Promise<{ name: string; type: string; linkname?: string | null; body?: string }[]> {
  const out = [];
  for await (const e of it) {
    let body: string | undefined;
    if (e.body) {
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(c);
      body = Buffer.concat(chunks).toString();
    }
    out.push({ name: e.header.name, type: e.header.type ?? '', ...(e.header.linkname ? { linkname: e.header.linkname } : {}), ...(body !== undefined ? { body } : {}) });
  }
  return out;
}

function entries(list: (Partial<TreeEntry['header']> & { name: string; content?: string })[]): AsyncIterable<TreeEntry> {
  return (async function* () {
    for (const { content, ...h } of list) {
      yield {
        header: { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: content?.length ?? 0, ...h },
        body: content !== undefined ? [Buffer.from(content)] as unknown as AsyncIterable<Buffer> : undefined,
      };
    }
  })();
}

async function tarOf(list: (Partial<Header> & { name: string; content?: string })[]): Promise<Buffer> {
  const p = pack();
  for (const { content, ...h } of list) p.entry({ mtime: new Date(0), ...h }, content ?? '');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('locate inside a root', () => {
  function at(path: string, follow = true): Located & { where?: string } {
    const tree = containerTree(root);
    try {
      return locate(tree, path, { follow, mustBeDir: false });
    } finally {
      closeTree(tree);
    }
  }
  const realPath = (loc: Located) => fs.readlinkSync(`/proc/self/fd/${loc.exists ? loc.fd : loc.parentFd}`);

  it('follows absolute symlinks, symlinked parents and ".." inside the root only', () => {
    fs.symlinkSync('/', join(root, 'rootlink'));
    fs.symlinkSync('/etc', join(root, 'evil'));
    fs.symlinkSync(outside, join(root, 'hostdir'));
    for (const path of ['/rootlink/etc/passwd', '/evil/passwd', '/../../../etc/passwd', '/evil/../../etc/passwd']) {
      const loc = at(path);
      expect(loc.exists, path).toBe(true);
      expect(realPath(loc)).toBe(join(root, 'etc', 'passwd'));
      release(loc);
    }
    // the host directory a link names is looked for inside the root, where it is not
    expect(() => at(`/hostdir/secret`)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('finds a symlink itself without follow, and follows a dangling one to where its target would be', () => {
    fs.mkdirSync(join(root, 'tmp'));
    fs.symlinkSync('/etc', join(root, 'tmp', 'l'));
    const link = at('/tmp/l', false);
    expect(link.exists && link.st.isSymbolicLink()).toBe(true);
    release(link);
    fs.symlinkSync('../made', join(root, 'tmp', 'dangling'));
    const dangling = at('/tmp/dangling');
    expect(dangling.exists).toBe(false);
    expect(dangling.exists ? '' : dangling.name).toBe('made');
    expect(realPath(dangling)).toBe(root);
    release(dangling);
    fs.symlinkSync(join(outside, 'new'), join(root, 'tmp', 'out'));
    expect(() => at('/tmp/out')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    fs.symlinkSync('loop', join(root, 'tmp', 'loop'));
    expect(() => at('/tmp/loop')).toThrow(expect.objectContaining({ code: 'ELOOP' }));
  });

  it('says when a path must be a directory and is not', () => {
    expect(() => locate(HOST_TREE, join(root, 'etc', 'passwd'), { follow: true, mustBeDir: true })).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });
});

describe('walk and extract', () => {
  it('copies a tree, keeping symlinks as symlinks and hard links as links', async () => {
    const src = join(tmp, 'src');
    fs.mkdirSync(join(src, 'sub'), { recursive: true });
    fs.writeFileSync(join(src, 'sub', 'f'), 'data');
    fs.linkSync(join(src, 'sub', 'f'), join(src, 'hard'));
    fs.symlinkSync(outside, join(src, 'out'));
    fs.chmodSync(join(src, 'sub'), 0o750);
    const start = dirFd(src);
    const dest = join(tmp, 'dest');
    fs.mkdirSync(dest);
    const d = dirFd(dest);
    try {
      expect(await collect(walkTree({ fd: start, st: fs.fstatSync(start) }, 'src'))).toEqual([
        { name: 'src/', type: 'directory' },
        { name: 'src/hard', type: 'file', body: 'data' },
        { name: 'src/out', type: 'symlink', linkname: outside },
        { name: 'src/sub/', type: 'directory' },
        { name: 'src/sub/f', type: 'link', linkname: 'src/hard' },
      ]);
      await extractTree(walkTree({ fd: start, st: fs.fstatSync(start) }, 'copy'), d, { overwrite: false, where: dest });
    } finally {
      fs.closeSync(start);
      fs.closeSync(d);
    }
    expect(fs.readFileSync(join(dest, 'copy', 'sub', 'f'), 'utf8')).toBe('data');
    expect(fs.statSync(join(dest, 'copy', 'sub', 'f')).ino).toBe(fs.statSync(join(dest, 'copy', 'hard')).ino);
    expect(fs.readlinkSync(join(dest, 'copy', 'out'))).toBe(outside);
    expect(fs.statSync(join(dest, 'copy', 'sub')).mode & 0o777).toBe(0o750);
    expect(fs.readdirSync(outside)).toEqual(['secret']);
  });

  it('copies only the contents with no name', async () => {
    const start = dirFd(join(root, 'etc'));
    try {
      expect(await collect(walkTree({ fd: start, st: fs.fstatSync(start) }, null))).toEqual([{ name: 'passwd', type: 'file', body: 'container passwd\n' }]);
    } finally {
      fs.closeSync(start);
    }
  });

  async function extractInto(dest: string, list: AsyncIterable<TreeEntry>, overwrite = false): Promise<void> {
    const d = dirFd(dest);
    try {
      await extractTree(list, d, { overwrite, where: '/dest' });
    } finally {
      fs.closeSync(d);
    }
  }

  it('never writes through a symlink the stream made', async () => {
    const dest = join(tmp, 'dest');
    fs.mkdirSync(dest);
    const list = entries([
      { name: 'a', type: 'symlink', linkname: outside },
      { name: 'a/secret', content: 'overwritten' },
    ]);
    await expect(extractInto(dest, list)).rejects.toThrow('cannot create "/dest/a/secret": "/dest/a" is a symlink');
    expect(fs.readFileSync(join(outside, 'secret'), 'utf8')).toBe('host secret\n');
  });

  it('never writes through a symlink already in the destination', async () => {
    const dest = join(tmp, 'dest');
    fs.mkdirSync(dest);
    fs.symlinkSync(outside, join(dest, 'sub'));
    fs.symlinkSync(join(outside, 'secret'), join(dest, 'file'));
    await expect(extractInto(dest, entries([{ name: 'sub/secret', content: 'x' }]))).rejects.toThrow(/"\/dest\/sub" is a symlink/);
    // a file entry replaces the link, it does not write to its target
    await extractInto(dest, entries([{ name: 'file', content: 'replaced' }]));
    expect(fs.lstatSync(join(dest, 'file')).isFile()).toBe(true);
    expect(fs.readFileSync(join(outside, 'secret'), 'utf8')).toBe('host secret\n');
    // a hard link to something outside cannot be named
    await expect(extractInto(dest, entries([{ name: 'h', type: 'link', linkname: '../outside/secret' }]))).rejects.toThrow(/leaves the destination/);
    await expect(extractInto(dest, entries([{ name: 'h', type: 'link', linkname: 'sub/secret' }]))).rejects.toThrow(/cannot link/);
  });

  it('refuses names that leave the destination, and reads absolute ones below it', async () => {
    const dest = join(tmp, 'dest');
    fs.mkdirSync(dest);
    await expect(extractInto(dest, entries([{ name: '../outside/x', content: 'x' }]))).rejects.toThrow(ExtractError);
    expect(fs.readdirSync(outside)).toEqual(['secret']);
    await extractInto(dest, entries([{ name: '/etc/x', content: 'x' }]));
    expect(fs.readFileSync(join(dest, 'etc', 'x'), 'utf8')).toBe('x');
  });

  it('replaces a directory by a file and the other way round only with overwrite', async () => {
    const dest = join(tmp, 'dest');
    fs.mkdirSync(join(dest, 'd'), { recursive: true });
    fs.writeFileSync(join(dest, 'f'), 'file');
    await expect(extractInto(dest, entries([{ name: 'd', content: 'x' }]))).rejects.toThrow(
      'error creating "/dest/d": a directory is in the way of a non-directory (--overwrite replaces it): file exists',
    );
    await expect(extractInto(dest, entries([{ name: 'f', type: 'directory' }]))).rejects.toThrow(/non-directory is in the way.*file exists/);
    await extractInto(dest, entries([{ name: 'd', content: 'x' }, { name: 'f', type: 'directory', mode: 0o700 }]), true);
    expect(fs.readFileSync(join(dest, 'd'), 'utf8')).toBe('x');
    expect(fs.statSync(join(dest, 'f')).isDirectory()).toBe(true);
    // a file onto a file is overwritten, a directory onto a directory merged
    await extractInto(dest, entries([{ name: 'd', content: 'y' }, { name: 'f', type: 'directory', mode: 0o755 }, { name: 'f/in', content: 'z' }]));
    expect(fs.readFileSync(join(dest, 'd'), 'utf8')).toBe('y');
    expect(fs.statSync(join(dest, 'f')).mode & 0o777).toBe(0o755);
  });
});

describe('tar in and out', () => {
  it('reads what it writes, and says when the input is no tar', async () => {
    const src = join(tmp, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(join(src, 'f'), 'data');
    fs.symlinkSync('f', join(src, 'l'));
    const start = dirFd(src);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    try {
      await packTree(walkTree({ fd: start, st: fs.fstatSync(start) }, 'src'), out);
    } finally {
      fs.closeSync(start);
    }
    expect(await collect(tarEntries(Readable.from([Buffer.concat(chunks)])))).toEqual([
      { name: 'src/', type: 'directory', body: '' },
      { name: 'src/f', type: 'file', body: 'data' },
      { name: 'src/l', type: 'symlink', linkname: 'f', body: '' },
    ]);
    const hostile = await tarOf([{ name: 'x', type: 'symlink', linkname: outside }, { name: 'x/secret', content: 'gotcha' }]);
    const dest = join(tmp, 'dest');
    fs.mkdirSync(dest);
    const d = dirFd(dest);
    try {
      await expect(extractTree(tarEntries(Readable.from([hostile])), d, { overwrite: true, where: '/d' })).rejects.toThrow(/is a symlink/);
    } finally {
      fs.closeSync(d);
    }
    expect(fs.readFileSync(join(outside, 'secret'), 'utf8')).toBe('host secret\n');
    await expect(collect(tarEntries(Readable.from([Buffer.from('not a tar archive\n'.repeat(64))])))).rejects.toThrow(NotATarError);
    await expect(collect(tarEntries(Readable.from([])))).rejects.toThrow(NotATarError);
  });
});
