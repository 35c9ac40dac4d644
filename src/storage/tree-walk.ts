// Reading a tree as a stream of tar-like entries, without following any
// symlink below the starting point: each child is opened relative to its
// directory's fd with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, so a link (or a
// directory swapped for one meanwhile) is read as a link, never through.
// Only regular files are ever opened for reading; FIFOs and devices are
// described, not opened.
import * as fs from 'node:fs';
import { posix } from 'node:path';
import { promisify } from 'node:util';
import { errCode, O_NOCTTY, O_NONBLOCK, openNodeBeneath, procPath } from './safe-tree';
import type { TarHeader } from './tar-entry';

export interface TreeEntry {
  header: TarHeader;
  /** a regular file's content: exactly header.size bytes */
  body?: AsyncIterable<Buffer>;
}

/** Where the walk starts: an O_PATH fd, and for a symlink its directory and name (to read the link). */
export interface WalkStart {
  fd: number;
  st: fs.Stats;
  parentFd?: number;
  name?: string;
}

export interface WalkOptions {
  /** the IDs written into headers for a file's owner (e.g. the container's view of them) */
  ids?: (uid: number, gid: number) => { uid: number; gid: number };
}

const readAsync = promisify(fs.read);
const CHUNK = 1 << 20;

/**
 * Entries for start and everything below it.  With a name, start is the
 * entry `name` and its children `name/child`; with null, only the children
 * appear, as `child` (a directory's contents).
 */
export async function* walkTree(start: WalkStart, name: string | null, opts: WalkOptions = {}): AsyncGenerator<TreeEntry> {
  const links = new Map<string, string>();
  yield* visit(start.fd, start.st, start.parentFd, start.name, name, links, opts);
}

async function* visit(
  fd: number,
  st: fs.Stats,
  parentFd: number | undefined,
  base: string | undefined,
  name: string | null,
  links: Map<string, string>,
  opts: WalkOptions,
): AsyncGenerator<TreeEntry> {
  if (st.isDirectory()) {
    if (name !== null) yield { header: header(st, `${name}/`, 'directory', opts) };
    // Sorted: the archive is the same whatever order the filesystem lists in.
    for (const child of fs.readdirSync(procPath(fd)).sort()) {
      let childFd: number;
      try {
        childFd = openNodeBeneath(fd, child);
      } catch (e) {
        if (errCode(e) === 'ENOENT') continue; // removed meanwhile (a running container)
        throw e;
      }
      try {
        const childName = name === null ? child : posix.join(name, child);
        yield* visit(childFd, fs.fstatSync(childFd), fd, child, childName, links, opts);
      } finally {
        fs.closeSync(childFd);
      }
    }
    return;
  }
  if (name === null) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  if (st.isFile()) {
    const key = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? links.get(key) : undefined;
    if (first !== undefined) {
      yield { header: { ...header(st, name, 'link', opts), size: 0, linkname: first } };
      return;
    }
    if (st.nlink > 1) links.set(key, name);
    yield { header: header(st, name, 'file', opts), body: readBody(fd, st) };
  } else if (st.isSymbolicLink()) {
    if (parentFd === undefined || base === undefined) throw new Error(`internal error: symlink ${name} without its directory`);
    const target = fs.readlinkSync(procPath(parentFd, base));
    yield { header: { ...header(st, name, 'symlink', opts), linkname: target } };
  } else if (st.isFIFO()) {
    yield { header: header(st, name, 'fifo', opts) };
  } else if (st.isCharacterDevice() || st.isBlockDevice()) {
    const rdev = st.rdev;
    yield {
      header: {
        ...header(st, name, st.isBlockDevice() ? 'block-device' : 'character-device', opts),
        devmajor: Math.floor(rdev / 256) & 0xfff,
        devminor: (rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00),
      },
    };
  }
  // sockets have no archive form: left out, as tar does
}

function header(st: fs.Stats, name: string, type: string, opts: WalkOptions): TarHeader {
  const ids = opts.ids ? opts.ids(st.uid, st.gid) : { uid: st.uid, gid: st.gid };
  return { name, type, mode: st.mode & 0o7777, uid: ids.uid, gid: ids.gid, size: type === 'file' ? st.size : 0, mtime: st.mtime };
}

/**
 * Exactly st.size bytes of the file behind the O_PATH fd (zeros when it
 * shrank meanwhile, cut when it grew: the header has promised the size).
 */
async function* readBody(pathFd: number, st: fs.Stats): AsyncGenerator<Buffer> {
  // Reopening through the fd's magic link reaches the very inode found, by no name.
  const fd = fs.openSync(procPath(pathFd), fs.constants.O_RDONLY | O_NOCTTY | O_NONBLOCK);
  try {
    const now = fs.fstatSync(fd);
    if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev) throw new Error('file changed while being copied');
    let off = 0;
    while (off < st.size) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, st.size - off));
      const { bytesRead } = await readAsync(fd, buf, 0, buf.length, off);
      if (bytesRead === 0) break;
      off += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
    if (off < st.size) yield Buffer.alloc(st.size - off);
  } finally {
    fs.closeSync(fd);
  }
}
