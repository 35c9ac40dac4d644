// The secure layer applier: turns an (attacker-controlled) uncompressed layer
// tar into a directory tree below dest, and nowhere else.
//
// Node's fs follows symlinks in every path component, so no path built from an
// entry name is ever handed to fs directly.  The entry's parent directory is
// opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS) relative to dest, and the entry itself is then
// reached as /proc/self/fd/<parent fd>/<basename> with calls that do not follow
// a symlink in the last component.
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { AT_FDCWD, native } from '../native/index';
import {
  checkDevice,
  checkHeaderOnly,
  classifyWhiteout,
  DEFAULT_MAX_ID,
  entryMeta,
  entryPath,
  LayerError,
  linkTargetPath,
  quoteName,
  refuse,
  type EntryMeta,
  type TarHeader,
} from './tar-entry';
import { BENEATH, DIR_FLAGS, errCode, lstatOrNull, O_NOFOLLOW, procPath, removeTree } from './safe-tree';

export { LayerError } from './tar-entry';

export interface ApplyOptions {
  /** When true, chown failures (EPERM/EINVAL: ID not mapped in this user namespace) are ignored; default false: fail with a clear error naming the entry and the ID. */
  ignoreChownErrors?: boolean;
  /** Largest uid/gid accepted in an entry (default 0xfffffffe). */
  maxId?: number;
}

export interface ApplyResult {
  /** 'sha256:<hex>' of the uncompressed tar bytes consumed. */
  diffID: string;
  /** Sum of regular file sizes. */
  size: number;
  /** every entry is owned by 0:0 (such a layer needs no ID shifting to show right) */
  rootOwned: boolean;
}

const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const RESOLVE = BENEATH;

/** Applies an uncompressed tar stream to dest, an existing EMPTY directory owned by this layer alone. */
export async function applyLayer(
  tar: NodeJS.ReadableStream,
  dest: string,
  opts: ApplyOptions = {},
): Promise<ApplyResult> {
  const maxId = opts.maxId ?? DEFAULT_MAX_ID;
  if (!Number.isSafeInteger(maxId) || maxId < 0) throw new RangeError(`applyLayer: invalid maxId ${maxId}`);
  const rootFd = openRoot(dest);
  try {
    const applier = new Applier(rootFd, { ignoreChownErrors: opts.ignoreChownErrors ?? false, maxId });
    const hash = createHash('sha256');
    await extractInto(tar, hash, applier);
    applier.finish();
    return { diffID: `sha256:${hash.digest('hex')}`, size: applier.size, rootOwned: applier.rootOwned };
  } finally {
    fs.closeSync(rootFd);
  }
}

function openRoot(dest: string): number {
  // dest itself is chosen by the engine, not by the image: following it is fine.
  const fd = native().openat2(AT_FDCWD, dest, DIR_FLAGS, 0, 0);
  try {
    // "Does the link target exist in this layer" relies on starting empty.
    if (fs.readdirSync(procPath(fd)).length > 0) throw new LayerError(`layer destination ${dest} is not empty`);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return fd;
}

// ---------------------------------------------------------------------------
// Streaming: hash every byte as it flows into tar-stream, apply entries in order.

class Aborted extends Error {}

type TarEntry = AsyncIterable<Buffer> & { header: TarHeader };

async function extractInto(input: NodeJS.ReadableStream, hash: Hash, applier: Applier): Promise<void> {
  const extract = tarExtract();
  const feeding = feed(input, hash, extract);
  feeding.catch(() => undefined); // observed below; avoid an unhandled rejection meanwhile
  try {
    for await (const entry of extract as unknown as AsyncIterable<TarEntry>) {
      await applier.entry(entry.header, entry);
    }
    await feeding;
  } catch (err) {
    extract.destroy();
    destroyStream(input);
    const inputErr = await feeding.then(
      () => undefined,
      (e: unknown) => e,
    );
    throw chooseError(err, inputErr);
  }
}

/** Copies input into extract (with backpressure) and into the hash, to the input's end. */
async function feed(input: NodeJS.ReadableStream, hash: Hash, extract: NodeJS.WritableStream): Promise<void> {
  try {
    for await (const chunk of input) {
      const buf = toBuffer(chunk);
      hash.update(buf);
      if (!extract.write(buf)) await drained(extract);
    }
    extract.end();
  } catch (e) {
    if (!(e instanceof Aborted)) (extract as unknown as { destroy(e: unknown): void }).destroy(e);
    throw e;
  }
}

function drained(w: NodeJS.WritableStream): Promise<void> {
  if ((w as unknown as { destroyed?: boolean }).destroyed) return Promise.reject(new Aborted());
  return new Promise((resolve, reject) => {
    const done = (fn: () => void) => () => {
      w.removeListener('drain', onDrain);
      w.removeListener('close', onClose);
      fn();
    };
    const onDrain = done(resolve);
    const onClose = done(() => reject(new Aborted()));
    w.once('drain', onDrain);
    w.once('close', onClose);
  });
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('applyLayer: the layer stream must yield bytes, not strings');
}

function destroyStream(s: NodeJS.ReadableStream): void {
  const d = (s as unknown as { destroy?: () => void }).destroy;
  if (typeof d === 'function') d.call(s);
}

// Refusals pass through; errors of the caller's stream (decompression,
// network) pass through unchanged; anything else is a malformed tar.
function chooseError(err: unknown, inputErr: unknown): unknown {
  if (err instanceof LayerError) return err;
  if (inputErr !== undefined && !(inputErr instanceof Aborted)) return inputErr;
  if (err instanceof TypeError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new LayerError(`layer: invalid tar stream: ${msg}`, { cause: err });
}

// ---------------------------------------------------------------------------
// The applier: one entry at a time, every fs call relative to an fd in dest.

interface DirMeta {
  mode: number;
  atime: Date;
  mtime: Date;
}

interface Options {
  ignoreChownErrors: boolean;
  maxId: number;
}

function closeFd(fd: number): void {
  fs.closeSync(fd);
}

class Applier {
  size = 0;
  rootOwned = true;
  /** Directory modes and times, applied after all entries so children do not disturb them. */
  private readonly dirs = new Map<string, DirMeta>();

  constructor(
    private readonly rootFd: number,
    private readonly opts: Options,
  ) {}

  async entry(header: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    const name = header.name;
    try {
      await this.dispatch(header, body);
    } catch (e) {
      if (e instanceof LayerError) throw e;
      throw new LayerError(`layer entry ${quoteName(name)}: cannot apply: ${(e as Error).message}`, { cause: e });
    }
  }

  private async dispatch(header: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    const parts = entryPath(header.name);
    const meta = entryMeta(header, this.opts.maxId);
    checkHeaderOnly(header);
    const base = parts[parts.length - 1];
    const whiteout = base === undefined ? null : classifyWhiteout(header.name, base);
    if (whiteout) {
      await drain(body);
      if (whiteout.kind === 'opaque') this.opaque(header.name, parts.slice(0, -1));
      else if (whiteout.kind === 'whiteout') await this.whiteout(header.name, [...parts.slice(0, -1), whiteout.name]);
      return;
    }
    if (parts.length === 0) {
      await drain(body);
      if (header.type !== 'directory') throw refuse(header.name, 'entry would replace the layer root');
      this.rootDir(meta);
      return;
    }
    switch (header.type) {
      case 'file':
      case 'contiguous-file':
        return this.withParent(header.name, parts, (fd, b) => this.file(header.name, parts, fd, b, meta, body));
      case 'directory':
        await drain(body);
        return this.withParent(header.name, parts, (fd, b) => this.directory(header.name, parts, fd, b, meta));
      case 'symlink':
        await drain(body);
        return this.withParent(header.name, parts, (fd, b) => this.symlink(header, parts, fd, b, meta));
      case 'link':
        await drain(body);
        return this.hardlink(header, parts);
      case 'fifo':
        await drain(body);
        return this.withParent(header.name, parts, (fd, b) => this.node(header.name, parts, fd, b, S_IFIFO, meta));
      case 'character-device':
      case 'block-device': {
        await drain(body);
        const kind = header.type === 'block-device' ? S_IFBLK : S_IFCHR;
        const dev = checkDevice(header);
        return this.withParent(header.name, parts, (fd, b) => this.node(header.name, parts, fd, b, kind, meta, dev));
      }
      default:
        await drain(body); // unknown types are skipped
    }
  }

  // --- path resolution -----------------------------------------------------

  /** Opens (creating implicit parents) the entry's parent directory and runs fn on it. */
  private async withParent<T>(
    entry: string,
    parts: string[],
    fn: (dirFd: number, base: string) => T | Promise<T>,
  ): Promise<T> {
    const fd = this.openDir(entry, parts.slice(0, -1), true);
    try {
      return await fn(fd, parts[parts.length - 1]);
    } finally {
      closeFd(fd);
    }
  }

  /**
   * O_PATH fd of the directory dirParts below dest.  Never follows a symlink;
   * with create, missing components become directories 0755 owned 0:0.
   */
  private openDir(entry: string, dirParts: string[], create: boolean, what = 'path'): number {
    const rel = dirParts.length === 0 ? '.' : dirParts.join('/');
    try {
      return native().openat2(this.rootFd, rel, DIR_FLAGS, 0, RESOLVE);
    } catch (e) {
      if (!['ENOENT', 'ENOTDIR', 'ELOOP'].includes(errCode(e) ?? '')) throw e;
    }
    // Slow path: one component at a time, to create what is missing and to
    // say precisely what is in the way.
    let fd = native().openat2(this.rootFd, '.', DIR_FLAGS, 0, RESOLVE);
    try {
      for (let i = 0; i < dirParts.length; i++) {
        const next = this.openChild(entry, fd, dirParts, i, create, what);
        closeFd(fd);
        fd = next;
      }
      return fd;
    } catch (e) {
      closeFd(fd);
      throw e;
    }
  }

  private openChild(entry: string, fd: number, dirParts: string[], i: number, create: boolean, what: string): number {
    const comp = dirParts[i];
    try {
      return native().openat2(fd, comp, DIR_FLAGS, 0, RESOLVE);
    } catch (e) {
      const code = errCode(e);
      const at = quoteName(dirParts.slice(0, i + 1).join('/'));
      if (code === 'ENOENT' && create) return this.implicitDir(entry, fd, comp);
      if (code === 'ENOENT') throw refuse(entry, `${what} does not exist in this layer (${at} is missing)`);
      if (code === 'ELOOP' || (code === 'ENOTDIR' && isSymlink(procPath(fd, comp)))) {
        throw refuse(entry, `${what} passes through a symlink (${at})`);
      }
      if (code === 'ENOTDIR') throw refuse(entry, `${what} passes through a non-directory (${at})`);
      if (code === 'EXDEV') throw refuse(entry, `${what} leaves the layer`);
      throw e;
    }
  }

  private implicitDir(entry: string, parentFd: number, comp: string): number {
    native().mkdirat(parentFd, comp, 0o700);
    const fd = native().openat2(parentFd, comp, DIR_FLAGS, 0, RESOLVE);
    try {
      // Through the fd's magic link: the very directory just made, whatever the umask.
      this.chown(entry, () => fs.chownSync(procPath(fd), 0, 0), 0, 0);
      fs.chmodSync(procPath(fd), 0o755);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    return fd;
  }

  // --- replacing what is there -------------------------------------------

  /**
   * Makes room for a new entry at dirFd/base: removes what is there, except a
   * directory when keepDir.  Returns true when a directory was kept.
   */
  private clearSlot(dirFd: number, base: string, parts: string[], keepDir: boolean): boolean {
    const p = procPath(dirFd, base);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch (e) {
      if (errCode(e) === 'ENOENT') return false;
      throw e;
    }
    if (st.isDirectory()) {
      if (keepDir) return true;
      removeTree(dirFd, base);
      this.forgetDirs(parts);
    } else {
      fs.unlinkSync(p);
    }
    return false;
  }

  private forgetDirs(parts: string[]): void {
    const key = parts.join('/');
    for (const k of [...this.dirs.keys()]) {
      if (k === key || k.startsWith(`${key}/`)) this.dirs.delete(k);
    }
  }

  // --- entry types ---------------------------------------------------------

  private async file(entry: string, parts: string[], dirFd: number, base: string, meta: EntryMeta, body: AsyncIterable<Buffer>): Promise<void> {
    this.clearSlot(dirFd, base, parts, false);
    // O_EXCL|O_NOFOLLOW: never write through an earlier link of any kind.
    const fh = await fs.promises.open(procPath(dirFd, base), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW, 0o600);
    try {
      this.size += await writeBody(fh, body);
      this.chown(entry, () => fs.fchownSync(fh.fd, meta.uid, meta.gid), meta.uid, meta.gid);
      // chown clears setuid/setgid, so the mode comes after it.
      await fh.chmod(meta.mode);
      this.setXattrs(entry, procPath(dirFd, base), meta, false);
      await fh.utimes(meta.atime, meta.mtime);
    } finally {
      await fh.close();
    }
  }

  private directory(entry: string, parts: string[], dirFd: number, base: string, meta: EntryMeta): void {
    const p = procPath(dirFd, base);
    if (!this.clearSlot(dirFd, base, parts, true)) native().mkdirat(dirFd, base, 0o700);
    this.chown(entry, () => fs.lchownSync(p, meta.uid, meta.gid), meta.uid, meta.gid);
    this.setXattrs(entry, p, meta, false);
    this.dirs.set(parts.join('/'), { mode: meta.mode, atime: meta.atime, mtime: meta.mtime });
  }

  private rootDir(meta: EntryMeta): void {
    const p = procPath(this.rootFd, '.');
    this.chown('.', () => fs.lchownSync(p, meta.uid, meta.gid), meta.uid, meta.gid);
    this.setXattrs('.', p, meta, false);
    this.dirs.set('', { mode: meta.mode, atime: meta.atime, mtime: meta.mtime });
  }

  private symlink(header: TarHeader, parts: string[], dirFd: number, base: string, meta: EntryMeta): void {
    const target = header.linkname;
    if (!target) throw refuse(header.name, 'symlink has no target');
    if (target.includes('\0')) throw refuse(header.name, 'symlink target contains a NUL byte');
    this.clearSlot(dirFd, base, parts, false);
    const p = procPath(dirFd, base);
    fs.symlinkSync(target, p); // stored verbatim, never resolved here
    this.chown(header.name, () => fs.lchownSync(p, meta.uid, meta.gid), meta.uid, meta.gid);
    this.setXattrs(header.name, p, meta, true);
    fs.lutimesSync(p, meta.atime, meta.mtime);
  }

  private async hardlink(header: TarHeader, parts: string[]): Promise<void> {
    const entry = header.name;
    const target = linkTargetPath(entry, header.linkname);
    if (target.join('/') === parts.join('/')) return; // a link to itself changes nothing
    const what = `hard link target ${quoteName(header.linkname ?? '')}`;
    const targetDir = this.openDir(entry, target.slice(0, -1), false, what);
    try {
      const from = procPath(targetDir, target[target.length - 1]);
      const st = lstatOrNull(from);
      if (st === null) throw refuse(entry, `${what} does not exist in this layer`);
      if (st.isDirectory()) throw refuse(entry, `${what} is a directory`);
      await this.withParent(entry, parts, (dirFd, base) => {
        this.clearSlot(dirFd, base, parts, false);
        fs.linkSync(from, procPath(dirFd, base)); // link(2) does not follow a symlink target
      });
    } finally {
      closeFd(targetDir);
    }
  }

  private node(
    entry: string,
    parts: string[],
    dirFd: number,
    base: string,
    kind: number,
    meta: EntryMeta,
    dev = { major: 0, minor: 0 },
  ): void {
    this.clearSlot(dirFd, base, parts, false);
    try {
      native().mknodat(dirFd, base, kind | meta.mode, dev.major, dev.minor);
    } catch (e) {
      // Rootless cannot create devices: drop them, as Podman does.
      if (kind !== S_IFIFO && errCode(e) === 'EPERM') return;
      throw e;
    }
    const p = procPath(dirFd, base);
    this.chown(entry, () => fs.lchownSync(p, meta.uid, meta.gid), meta.uid, meta.gid);
    fs.chmodSync(p, meta.mode); // p is the node just made, not a symlink; chmod does not open it
    this.setXattrs(entry, p, meta, true);
    fs.lutimesSync(p, meta.atime, meta.mtime);
  }

  private opaque(entry: string, dirParts: string[]): void {
    const fd = this.openDir(entry, dirParts, true);
    try {
      // "<fd>/." names the directory itself without following anything.
      const p = procPath(fd, '.');
      for (const name of ['user.overlay.opaque', 'user.fuseoverlayfs.opaque']) {
        native().lsetxattr(p, name, Buffer.from('y'));
      }
    } finally {
      closeFd(fd);
    }
  }

  /** A 0/0 character device, overlay's whiteout, replacing whatever this layer put there. */
  private whiteout(entry: string, parts: string[]): Promise<void> {
    return this.withParent(entry, parts, (dirFd, base) => {
      this.clearSlot(dirFd, base, parts, false);
      try {
        native().mknodat(dirFd, base, S_IFCHR, 0, 0);
      } catch (e) {
        if (errCode(e) !== 'EPERM') throw e;
        throw new LayerError(
          `layer entry ${quoteName(entry)}: cannot create whiteout ${quoteName(parts.join('/'))}: ` +
            'creating 0/0 character devices needs Linux >= 5.8 or root in a user namespace',
          { cause: e },
        );
      }
    });
  }

  // --- metadata ------------------------------------------------------------

  private chown(entry: string, fn: () => void, uid: number, gid: number): void {
    if (uid !== 0 || gid !== 0) this.rootOwned = false;
    try {
      fn();
    } catch (e) {
      const code = errCode(e);
      if (code !== 'EPERM' && code !== 'EINVAL') throw e;
      if (this.opts.ignoreChownErrors) return;
      throw new LayerError(
        `layer entry ${quoteName(entry)}: cannot chown to ${uid}:${gid}: potentially insufficient UIDs or GIDs available ` +
          `in the user namespace (${code}): check the ranges in /etc/subuid and /etc/subgid`,
        { cause: e },
      );
    }
  }

  private setXattrs(entry: string, p: string, meta: EntryMeta, special: boolean): void {
    for (const { name, value } of meta.xattrs) {
      try {
        native().lsetxattr(p, name, value);
      } catch (e) {
        const code = errCode(e);
        if (name === 'security.capability' && (code === 'EPERM' || code === 'ENOTSUP')) continue;
        // The kernel allows user.* only on regular files and directories.
        if (special && code === 'EPERM') continue;
        throw new LayerError(`layer entry ${quoteName(entry)}: cannot set xattr ${name}: ${(e as Error).message}`, { cause: e });
      }
    }
  }

  /** Directory modes and times last, deepest first, so nothing changes them afterwards. */
  finish(): void {
    const keys = [...this.dirs.keys()].sort((a, b) => depth(b) - depth(a));
    for (const key of keys) {
      const meta = this.dirs.get(key)!;
      let fd: number;
      try {
        fd = native().openat2(this.rootFd, key === '' ? '.' : key, DIR_FLAGS, 0, RESOLVE);
      } catch {
        continue; // replaced since; its replacement has its own metadata
      }
      try {
        fs.chmodSync(procPath(fd), meta.mode);
        fs.utimesSync(procPath(fd), meta.atime, meta.mtime);
      } finally {
        closeFd(fd);
      }
    }
  }
}

function depth(key: string): number {
  return key === '' ? 0 : key.split('/').length;
}

/** Writes a file's body in batches of about 1 MiB (one writev each): far fewer round trips to the thread pool than a write per tar chunk. */
async function writeBody(fh: fs.promises.FileHandle, body: AsyncIterable<Buffer>): Promise<number> {
  const BATCH = 1 << 20;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let total = 0;
  const flush = async () => {
    let bufs = pending;
    pending = [];
    pendingBytes = 0;
    while (bufs.length) {
      const { bytesWritten } = await fh.writev(bufs);
      bufs = skipBytes(bufs, bytesWritten);
    }
  };
  for await (const chunk of body) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    total += chunk.length;
    if (pendingBytes >= BATCH) await flush();
  }
  await flush();
  return total;
}

/** The buffers left after the first n bytes were written (a short writev). */
function skipBytes(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < bufs.length && n >= bufs[i].length) n -= bufs[i++].length;
  if (i === bufs.length) return [];
  return [bufs[i].subarray(n), ...bufs.slice(i + 1)];
}

async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of body) {
    // discard
  }
}

function isSymlink(p: string): boolean {
  return lstatOrNull(p)?.isSymbolicLink() ?? false;
}

// ---------------------------------------------------------------------------
// Compression sniffing.

/** Sniffs the first bytes: gzip (1f 8b) -> zlib gunzip; zstd (28 b5 2f fd) -> fzstd; anything else passes through unchanged. */
export function decompressStream(input: NodeJS.ReadableStream): NodeJS.ReadableStream {
  return Readable.from(decompressChunks(input), { objectMode: false });
}

async function* decompressChunks(input: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  const it = (input as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  try {
    let head = Buffer.alloc(0);
    let ended = false;
    while (head.length < 4) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      head = Buffer.concat([head, toBuffer(r.value)]);
    }
    const rest = restOf(head, ended ? null : it);
    if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) yield* unzstd(rest);
    else if (startsWith(head, [0x1f, 0x8b])) yield* gunzip(rest);
    else yield* rest;
  } finally {
    await it.return?.();
  }
}

async function* restOf(head: Buffer, it: AsyncIterator<unknown> | null): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  if (!it) return;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield toBuffer(r.value);
  }
}

function gunzip(source: AsyncGenerator<Buffer>): AsyncIterable<Buffer> {
  // Chunks of 256 KiB instead of 16: every chunk goes through the tar parser,
  // the diffID hash and a file write, whose cost is mostly per chunk.
  const z = createGunzip({ chunkSize: 256 * 1024 });
  // pipeline destroys z with the source's error, so iterating z rethrows it.
  pipeline(Readable.from(source, { objectMode: false }), z, () => undefined);
  return z;
}

/** zstd with fzstd (Node 20's zlib has no zstd); its output is handed on as it comes. */
async function* unzstd(source: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  const { Decompress } = await import('fzstd');
  const out: Buffer[] = [];
  const d = new Decompress((chunk) => {
    out.push(Buffer.from(chunk));
  });
  try {
    for await (const c of source) {
      d.push(c);
      while (out.length) yield out.shift()!;
    }
    d.push(new Uint8Array(0), true);
  } catch (err) {
    if (err instanceof LayerError) throw err;
    throw new LayerError(`invalid zstd-compressed layer: ${(err as Error).message}`);
  }
  while (out.length) yield out.shift()!;
}

function startsWith(buf: Buffer, magic: number[]): boolean {
  return buf.length >= magic.length && magic.every((b, i) => buf[i] === b);
}
