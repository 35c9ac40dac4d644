// A container's writable (upper) layer as an OCI layer tar, for commit.
//
// What the overlay drivers leave in an upper directory (measured with Linux
// 6.x overlay mounted with userxattr, and fuse-overlayfs 1.10 mounted as root
// of the session namespace):
// - a deleted file or directory is a 0/0 character device of its name (the
//   kernel links all of a mount's whiteouts to one inode, so nlink says
//   nothing there); fuse-overlayfs writes an empty ".wh.NAME" file instead
//   when it cannot mknod;
// - a directory that replaced one below is opaque: the kernel sets
//   user.overlay.opaque=y (trusted.overlay.opaque as real root);
//   fuse-overlayfs sets user.fuseoverlayfs.opaque=y *and* creates a
//   ".wh..wh..opq" file plus a 0/0 device named ".wh..opq" in it, and marks
//   every directory it creates opaque, new ones included;
// - overlay-internal xattrs (user.overlay.*, user.fuseoverlayfs.*) record
//   origins and are meaningless in an image.
// With userxattr the kernel makes neither redirects nor metacopy files, so a
// renamed lower directory arrives as a copy, and every file's data is here.
//
// The walk never follows a symlink: directories are opened with openat2
// (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), files with O_NOFOLLOW, everything
// else reached through /proc/self/fd/<dir fd>/<name>.  Reading a running
// container's layer is best effort: an entry that disappears or changes type
// meanwhile is left out, and a file is cut or zero-padded to the size it had
// when opened, so the tar stays well-formed.
import { createHash, type Hash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import { AT_FDCWD, native, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS } from '../native/index';
import { encodeTarHeader, TAR_END, tarPadding, type TarHeaderFields } from './tar-write';

const O_PATH = 0o10000000;
const O_DIRECTORY = 0o200000;
const DIR_FLAGS = O_PATH | O_DIRECTORY;
const RESOLVE = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
const OPAQUE_MARK = '.wh..wh..opq';
const OPAQUE_XATTRS = ['user.overlay.opaque', 'trusted.overlay.opaque', 'user.fuseoverlayfs.opaque'];

export interface UpperTarOptions {
  /** the container's view of an owner stored on disk; throws for one an image cannot hold */
  owner(uid: number, gid: number, path: string): { uid: number; gid: number };
  /** paths (relative, e.g. "etc/hosts") of empty files to leave out: mount points the runtime made */
  skipEmptyFiles?: ReadonlySet<string>;
}

export interface UpperTarResult {
  /** sha256 of the tar: the layer's diffID */
  diffID: string;
  /** bytes of tar written */
  size: number;
}

export type UpperEntry = { kind: 'opaque' } | { kind: 'whiteout'; name: string } | { kind: 'entry' } | { kind: 'skip' };

/**
 * What one name in an upper directory stands for.  A 0/0 character device
 * NAME hides NAME below, as does fuse-overlayfs's ".wh.NAME" file; both
 * become the OCI whiteout ".wh.NAME", and the one spelled ".wh..wh..opq"
 * makes the directory opaque.  Whiteouts of "", "." or ".." cannot be
 * expressed (appliers refuse them) and are skipped.
 */
export function classifyUpperEntry(name: string, isWhiteoutDevice: boolean): UpperEntry {
  let hidden: string | undefined;
  if (isWhiteoutDevice) hidden = name;
  else if (name.startsWith('.wh.')) hidden = name.slice(4);
  if (hidden === undefined) return { kind: 'entry' };
  if (`.wh.${hidden}` === OPAQUE_MARK) return { kind: 'opaque' };
  if (hidden === '' || hidden === '.' || hidden === '..') return { kind: 'skip' };
  return { kind: 'whiteout', name: hidden };
}

/** Whether an opaque xattr's value says so ("y", as overlay writes it). */
export function isOpaqueValue(v: Buffer | null): boolean {
  return v !== null && v.length >= 1 && v[0] === 0x79;
}

/** Writes the tar of `upper` to a new file `out` (refused if it exists). */
export function writeUpperTar(upper: string, out: string, opts: UpperTarOptions): UpperTarResult {
  const fd = fs.openSync(out, 'wx', 0o600);
  try {
    const sink = new Sink(fd);
    let rootFd: number | undefined;
    try {
      rootFd = native().openat2(AT_FDCWD, upper, DIR_FLAGS, 0, 0);
    } catch (e) {
      // A container that never ran has no upper directory yet: an empty layer.
      if (errCode(e) !== 'ENOENT') throw e;
    }
    if (rootFd !== undefined) {
      try {
        new Walker(sink, opts).dir(rootFd, '', seconds(fs.statSync(procPath(rootFd), { bigint: true })));
      } finally {
        fs.closeSync(rootFd);
      }
    }
    sink.write(TAR_END);
    sink.flush();
    fs.fsyncSync(fd);
    return { diffID: `sha256:${sink.hash.digest('hex')}`, size: sink.bytes };
  } finally {
    fs.closeSync(fd);
  }
}

function procPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** Gone or replaced while we read: ENOENT, or a directory that became something else. */
function vanished(e: unknown): boolean {
  return ['ENOENT', 'ENOTDIR', 'ELOOP'].includes(errCode(e) ?? '');
}

function lgetxattr(path: string, name: string): Buffer | null {
  try {
    return native().lgetxattr(path, name);
  } catch {
    return null; // trusted.* without privilege, or a file gone meanwhile
  }
}

function seconds(st: fs.BigIntStats): number {
  return Number(st.mtimeMs / 1000n);
}

/** Linux's dev_t encoding (glibc's major()/minor()). */
function devNumbers(rdev: bigint): { devmajor: number; devminor: number } {
  return {
    devmajor: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    devminor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

/** Buffered output, hashed as it goes. */
class Sink {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  readonly buf = Buffer.allocUnsafe(1 << 20);
  used = 0;

  constructor(private readonly fd: number) {}

  write(b: Buffer): void {
    let off = 0;
    while (off < b.length) {
      if (this.used === this.buf.length) this.flush();
      const n = b.copy(this.buf, this.used, off);
      this.used += n;
      off += n;
    }
  }

  /** Copies exactly `size` bytes of file fd (zeros past its end). */
  copyFile(fd: number, size: number): void {
    let left = size;
    while (left > 0) {
      if (this.used === this.buf.length) this.flush();
      const want = Math.min(left, this.buf.length - this.used);
      let got = fs.readSync(fd, this.buf, this.used, want, null);
      if (got === 0) {
        // The file shrank while we read it (a running container).
        this.buf.fill(0, this.used, this.used + want);
        got = want;
      }
      this.used += got;
      left -= got;
    }
  }

  flush(): void {
    const chunk = this.buf.subarray(0, this.used);
    this.hash.update(chunk);
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off);
    this.bytes += chunk.length;
    this.used = 0;
  }
}

class Walker {
  /** dev:ino of regular files with several links -> the first name written */
  private readonly links = new Map<string, string>();

  constructor(
    private readonly out: Sink,
    private readonly opts: UpperTarOptions,
  ) {}

  private header(h: TarHeaderFields): void {
    this.out.write(encodeTarHeader(h));
  }

  private names(dirFd: number, rel: string): string[] {
    const raw = fs.readdirSync(procPath(dirFd), { encoding: 'buffer' });
    raw.sort(Buffer.compare);
    return raw.map((b) => {
      if (!isUtf8(b)) throw new Error(`cannot commit ${JSON.stringify(rel || '/')}: it holds a file whose name is not UTF-8 (${JSON.stringify(b.toString('latin1'))})`);
      return b.toString('utf8');
    });
  }

  /** The children of an open directory (its own header is the caller's); mtime stamps its markers. */
  dir(dirFd: number, rel: string, mtime: number): void {
    const entries: { name: string; st: fs.BigIntStats }[] = [];
    const whiteouts = new Set<string>();
    let opaque = rel !== '' && OPAQUE_XATTRS.some((x) => isOpaqueValue(lgetxattr(procPath(dirFd, '.'), x)));
    for (const name of this.names(dirFd, rel)) {
      let st: fs.BigIntStats;
      try {
        st = fs.lstatSync(procPath(dirFd, name), { bigint: true });
      } catch (e) {
        if (vanished(e)) continue;
        throw e;
      }
      const c = classifyUpperEntry(name, st.isCharacterDevice() && st.rdev === 0n);
      if (c.kind === 'opaque') opaque = rel !== '';
      else if (c.kind === 'whiteout') whiteouts.add(c.name);
      else if (c.kind === 'entry') entries.push({ name, st });
    }
    const marker = (name: string) => this.header({ name: rel ? `${rel}/${name}` : name, type: 'file', mode: 0o600, uid: 0, gid: 0, size: 0, mtime });
    if (opaque) marker(OPAQUE_MARK);
    for (const w of whiteouts) marker(`.wh.${w}`);
    for (const { name, st } of entries) this.entry(dirFd, rel ? `${rel}/${name}` : name, name, st);
  }

  /** The header fields every entry type has, owners in the container's view. */
  private meta(path: string, st: fs.BigIntStats): Omit<TarHeaderFields, 'type'> {
    const { uid, gid } = this.opts.owner(Number(st.uid), Number(st.gid), path);
    return { name: path, mode: Number(st.mode) & 0o7777, uid, gid, mtime: seconds(st) };
  }

  private entry(dirFd: number, path: string, name: string, st: fs.BigIntStats): void {
    const at = procPath(dirFd, name);
    if (st.isDirectory()) {
      let fd: number;
      try {
        fd = native().openat2(dirFd, name, DIR_FLAGS, 0, RESOLVE);
      } catch (e) {
        if (vanished(e)) return;
        throw e;
      }
      try {
        const held = fs.statSync(procPath(fd), { bigint: true }); // the directory we hold, whatever the name is now
        this.header({ ...this.meta(path, held), type: 'directory' });
        this.dir(fd, path, seconds(held));
      } finally {
        fs.closeSync(fd);
      }
    } else if (st.isFile()) {
      this.file(at, path, st);
    } else if (st.isSymbolicLink()) {
      let target: string;
      try {
        target = fs.readlinkSync(at);
      } catch (e) {
        if (vanished(e) || errCode(e) === 'EINVAL') return;
        throw e;
      }
      this.header({ ...this.meta(path, st), type: 'symlink', linkname: target });
    } else if (st.isFIFO()) {
      this.header({ ...this.meta(path, st), type: 'fifo' });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      this.header({ ...this.meta(path, st), type: st.isBlockDevice() ? 'block' : 'char', ...devNumbers(st.rdev) });
    }
    // Sockets cannot be archived (Docker and Podman leave them out too).
  }

  private file(at: string, path: string, st: fs.BigIntStats): void {
    if (st.size === 0n && this.opts.skipEmptyFiles?.has(path)) return;
    const key = `${st.dev}:${st.ino}`;
    if (st.nlink > 1n) {
      const first = this.links.get(key);
      if (first !== undefined) {
        this.header({ ...this.meta(path, st), type: 'link', linkname: first });
        return;
      }
    }
    let fd: number;
    try {
      fd = fs.openSync(at, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch (e) {
      if (vanished(e)) return;
      throw e;
    }
    try {
      const now = fs.fstatSync(fd, { bigint: true });
      if (!now.isFile() || now.ino !== st.ino) return; // replaced since the listing
      st = now;
      const size = Number(st.size);
      const cap = lgetxattr(at, 'security.capability');
      this.header({ ...this.meta(path, st), type: 'file', size, ...(cap ? { xattrs: [{ name: 'security.capability', value: cap }] } : {}) });
      this.out.copyFile(fd, size);
      this.out.write(tarPadding(size));
      if (st.nlink > 1n) this.links.set(key, path);
    } finally {
      fs.closeSync(fd);
    }
  }
}
