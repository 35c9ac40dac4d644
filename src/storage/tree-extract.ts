// Writing a stream of tar-like entries below a directory fd, and nowhere
// else.  Entry names are checked as a layer's are (storage/tar-entry.ts: no
// "..", no NUL); every directory on the way is opened relative to the one
// before with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, so a symlink already in
// the destination, or one the stream itself created, is never followed: an
// entry below one is refused.  The entry itself is made with calls that do
// not follow a symlink in the last component (O_EXCL|O_NOFOLLOW, mkdirat,
// symlink, lchown) through /proc/self/fd/<parent fd>/<name>.
import * as fs from 'node:fs';
import { native } from '../native/index';
import { promisify } from 'node:util';
import { BENEATH, DIR_FLAGS, errCode, lstatOrNull, O_NOFOLLOW, openDirBeneath, openNodeBeneath, procPath, removeTree } from './safe-tree';
import { checkHeaderOnly, entryMeta, entryPath, LayerError, linkTargetPath, type EntryMeta } from './tar-entry';
import type { TreeEntry } from './tree-walk';

export interface ExtractOptions {
  /**
   * The owner to give an entry, from the entry's own IDs; absent: leave what
   * creating gave (the caller's own IDs).  Also used with 0:0 for parent
   * directories the stream did not contain.
   */
  owner?: (uid: number, gid: number) => { uid: number; gid: number };
  /** replace a directory by a non-directory and the other way round (Podman's --overwrite) */
  overwrite: boolean;
  /** the destination directory as the user knows it, for messages */
  where: string;
}

/** A refusal or failure, naming the destination path. */
export class ExtractError extends Error {}

const S_IFIFO = 0o010000;
const writeAsync = promisify(fs.write);
const O_WRONLY_CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW;

export async function extractTree(entries: AsyncIterable<TreeEntry>, destFd: number, opts: ExtractOptions): Promise<void> {
  const x = new Extractor(destFd, opts);
  try {
    for await (const entry of entries) await x.entry(entry);
  } catch (e) {
    // tar-entry's checks speak of layers; here the entries come from a copy.
    if (e instanceof LayerError) throw new ExtractError(e.message.replace(/^layer entry/, 'entry').replace(/the layer\b/g, 'the destination'));
    throw e;
  }
  x.finish();
}

class Extractor {
  /** Directory modes and times, set last (deepest first) so writing their contents does not disturb them. */
  private readonly dirs = new Map<string, EntryMeta>();

  constructor(
    private readonly destFd: number,
    private readonly opts: ExtractOptions,
  ) {}

  private show(parts: string[]): string {
    const base = this.opts.where.replace(/\/+$/, '');
    return parts.length === 0 ? this.opts.where : `${base}/${parts.join('/')}`;
  }

  async entry({ header, body }: TreeEntry): Promise<void> {
    // "/etc/x" in a tar from stdin means "etc/x" below the destination, as tar(1) reads it.
    const parts = entryPath(header.name.replace(/^\/+/, '') || '.');
    const meta = entryMeta(header);
    checkHeaderOnly(header);
    const isFile = header.type === 'file' || header.type === 'contiguous-file';
    if (!isFile && body) await drain(body);
    // The destination directory itself is the user's choice: it keeps its owner and mode.
    if (parts.length === 0) return;
    const base = parts[parts.length - 1];
    const dirFd = this.openParent(parts);
    try {
      switch (header.type) {
        case 'file':
        case 'contiguous-file':
          return await this.file(parts, dirFd, base, meta, body ?? []);
        case 'directory':
          return this.directory(parts, dirFd, base, meta);
        case 'symlink': {
          const target = header.linkname ?? '';
          if (target === '' || target.includes('\0')) throw new ExtractError(`cannot create "${this.show(parts)}": invalid symlink target`);
          this.clearSlot(parts, dirFd, base, false);
          const p = procPath(dirFd, base);
          fs.symlinkSync(target, p); // stored as it is, never resolved here
          this.chown(parts, meta, (uid, gid) => fs.lchownSync(p, uid, gid));
          fs.lutimesSync(p, meta.atime, meta.mtime);
          return;
        }
        case 'link':
          return this.hardlink(header.name, header.linkname, parts, dirFd, base);
        case 'fifo':
          return this.fifo(parts, dirFd, base, meta);
        default:
          // Devices cannot be made without privilege (Podman skips them too); other types have no meaning here.
          return;
      }
    } finally {
      fs.closeSync(dirFd);
    }
  }

  /** O_PATH fd of the entry's parent, making missing directories on the way. */
  private openParent(parts: string[]): number {
    const dirParts = parts.slice(0, -1);
    try {
      return native().openat2(this.destFd, dirParts.length ? dirParts.join('/') : '.', DIR_FLAGS, 0, BENEATH);
    } catch (e) {
      if (!['ENOENT', 'ENOTDIR', 'ELOOP'].includes(errCode(e) ?? '')) throw e;
    }
    // One component at a time: to make what is missing, and to say what is in the way.
    let fd = native().openat2(this.destFd, '.', DIR_FLAGS, 0, BENEATH);
    try {
      for (let i = 0; i < dirParts.length; i++) {
        const next = this.openChildDir(fd, dirParts.slice(0, i + 1), parts);
        fs.closeSync(fd);
        fd = next;
      }
      return fd;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  private openChildDir(fd: number, upTo: string[], parts: string[]): number {
    const comp = upTo[upTo.length - 1];
    try {
      return openDirBeneath(fd, comp);
    } catch (e) {
      const code = errCode(e);
      if (code === 'ELOOP' || code === 'ENOTDIR') {
        const what = lstatOrNull(procPath(fd, comp))?.isSymbolicLink() ? 'a symlink' : 'not a directory';
        throw new ExtractError(`cannot create "${this.show(parts)}": "${this.show(upTo)}" is ${what}`);
      }
      if (code !== 'ENOENT') throw e;
    }
    native().mkdirat(fd, comp, 0o700);
    const made = openDirBeneath(fd, comp);
    try {
      // Through the fd's magic link: the very directory just made.
      this.chown(upTo, IMPLICIT, (uid, gid) => fs.chownSync(procPath(made), uid, gid));
      fs.chmodSync(procPath(made), IMPLICIT.mode);
    } catch (e) {
      fs.closeSync(made);
      throw e;
    }
    return made;
  }

  /**
   * Makes room at dirFd/base: a non-directory there is replaced; a directory
   * is kept when keepDir, else replaced only with --overwrite (Podman's rule),
   * and a non-directory gives way to a directory likewise.  Returns true when
   * a directory was kept.
   */
  private clearSlot(parts: string[], dirFd: number, base: string, keepDir: boolean): boolean {
    const p = procPath(dirFd, base);
    const st = lstatOrNull(p);
    if (st === null) return false;
    if (st.isDirectory() && keepDir) return true;
    if (st.isDirectory() !== keepDir && !this.opts.overwrite) {
      const why = keepDir ? 'a non-directory is in the way of a directory' : 'a directory is in the way of a non-directory';
      throw new ExtractError(`error creating "${this.show(parts)}": ${why} (--overwrite replaces it): file exists`);
    }
    if (st.isDirectory()) {
      removeTree(dirFd, base);
      for (const k of [...this.dirs.keys()]) if (k === parts.join('/') || k.startsWith(`${parts.join('/')}/`)) this.dirs.delete(k);
    } else {
      fs.unlinkSync(p);
    }
    return false;
  }

  private async file(parts: string[], dirFd: number, base: string, meta: EntryMeta, body: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
    this.clearSlot(parts, dirFd, base, false);
    // O_EXCL|O_NOFOLLOW: a link planted meanwhile makes this fail rather than be written through.
    const fd = native().openat2(dirFd, base, O_WRONLY_CREATE, 0o600, BENEATH);
    try {
      for await (const chunk of body) {
        for (let off = 0; off < chunk.length; ) off += (await writeAsync(fd, chunk, off, chunk.length - off)).bytesWritten;
      }
      this.chown(parts, meta, (uid, gid) => fs.fchownSync(fd, uid, gid));
      // After chown, which clears setuid and setgid.
      fs.fchmodSync(fd, meta.mode);
      fs.futimesSync(fd, meta.atime, meta.mtime);
    } finally {
      fs.closeSync(fd);
    }
  }

  private directory(parts: string[], dirFd: number, base: string, meta: EntryMeta): void {
    if (!this.clearSlot(parts, dirFd, base, true)) native().mkdirat(dirFd, base, 0o700);
    const fd = openDirBeneath(dirFd, base);
    try {
      this.chown(parts, meta, (uid, gid) => fs.chownSync(procPath(fd), uid, gid));
    } finally {
      fs.closeSync(fd);
    }
    this.dirs.set(parts.join('/'), meta);
  }

  private fifo(parts: string[], dirFd: number, base: string, meta: EntryMeta): void {
    this.clearSlot(parts, dirFd, base, false);
    native().mknodat(dirFd, base, S_IFIFO | meta.mode, 0, 0);
    // chmod follows symlinks: work on an O_PATH fd of the node itself, in case it was swapped meanwhile.
    const fd = openNodeBeneath(dirFd, base);
    try {
      if (!fs.fstatSync(fd).isFIFO()) throw new ExtractError(`"${this.show(parts)}" changed while being created`);
      this.chown(parts, meta, (uid, gid) => fs.chownSync(procPath(fd), uid, gid));
      fs.chmodSync(procPath(fd), meta.mode);
      fs.utimesSync(procPath(fd), meta.atime, meta.mtime);
    } finally {
      fs.closeSync(fd);
    }
  }

  private hardlink(entry: string, linkname: string | null | undefined, parts: string[], dirFd: number, base: string): void {
    // The target is another entry of the same stream, named relative to the destination like every entry.
    const target = linkTargetPath(entry, (linkname ?? '').replace(/^\/+/, ''));
    if (target.join('/') === parts.join('/')) return;
    let targetDir: number;
    try {
      targetDir = native().openat2(this.destFd, target.length > 1 ? target.slice(0, -1).join('/') : '.', DIR_FLAGS, 0, BENEATH);
    } catch {
      throw new ExtractError(`cannot link "${this.show(parts)}" to "${this.show(target)}": no such directory below the destination`);
    }
    try {
      const from = procPath(targetDir, target[target.length - 1]);
      const st = lstatOrNull(from);
      if (st === null || st.isDirectory()) throw new ExtractError(`cannot link "${this.show(parts)}" to "${this.show(target)}": no such file`);
      this.clearSlot(parts, dirFd, base, false);
      fs.linkSync(from, procPath(dirFd, base)); // link(2) does not follow a symlink target
    } finally {
      fs.closeSync(targetDir);
    }
  }

  private chown(parts: string[], meta: EntryMeta, set: (uid: number, gid: number) => void): void {
    if (!this.opts.owner) return;
    const { uid, gid } = this.opts.owner(meta.uid, meta.gid);
    try {
      set(uid, gid);
    } catch (e) {
      throw new ExtractError(`cannot set the owner of "${this.show(parts)}" to ${uid}:${gid}: ${(e as Error).message}`);
    }
  }

  finish(): void {
    const keys = [...this.dirs.keys()].sort((a, b) => b.split('/').length - a.split('/').length);
    for (const key of keys) {
      const meta = this.dirs.get(key)!;
      let fd: number;
      try {
        fd = native().openat2(this.destFd, key, DIR_FLAGS, 0, BENEATH);
      } catch {
        continue; // replaced since by a later entry, which brought its own metadata
      }
      try {
        fs.chmodSync(procPath(fd), meta.mode);
        fs.utimesSync(procPath(fd), meta.atime, meta.mtime);
      } finally {
        fs.closeSync(fd);
      }
    }
  }
}

const IMPLICIT: EntryMeta = { uid: 0, gid: 0, mode: 0o755, mtime: new Date(0), atime: new Date(0), xattrs: [] };

async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of body) {
    // discard
  }
}
