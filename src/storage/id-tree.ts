// Walking a directory tree to copy, re-own or tidy it without ever following
// a symlink: every entry is lstat'ed, links are recreated or lchown'ed as
// links, and only real directories are descended into (by fd, for trees a
// running container may change under the walk).
import { chmodSync, chownSync, closeSync, constants, copyFileSync, fstatSync, lchownSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, unlinkSync, type Stats } from 'node:fs';
import { AT_FDCWD, native } from '../native/index';
import { DIR_FLAGS, errCode, O_NOFOLLOW, openDirBeneath, procPath } from './safe-tree';
import { join } from 'node:path';

export type IdMap = (uid: number, gid: number) => [number, number];

/**
 * Copies the content of directory `src` into existing directory `dst`,
 * owners translated by `ids`, modes and times kept.  Devices, FIFOs and
 * sockets are skipped (rootless cannot make devices; the others are
 * meaningless in a copy).
 */
export function copyTreeMapped(src: string, dst: string, ids: IdMap): void {
  for (const name of readdirSync(src)) {
    const from = join(src, name);
    const to = join(dst, name);
    const st = lstatSync(from);
    if (st.isDirectory()) {
      mkdirSync(to, { mode: 0o700 });
      copyTreeMapped(from, to, ids);
    } else if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(from), to);
    } else if (st.isFile()) {
      copyFileSync(from, to, constants.COPYFILE_EXCL);
    } else {
      continue;
    }
    const [uid, gid] = ids(st.uid, st.gid);
    lchownSync(to, uid, gid);
    // After chown, which clears set-ID bits.
    if (!st.isSymbolicLink()) chmodSync(to, st.mode & 0o7777);
    lutimesSync(to, st.atime, st.mtime);
  }
}

/**
 * Runs fn(dirFd, name, stat) for every entry below the directory `root`
 * (children before their directory's own turn ends).  Directories are opened
 * relative to their parent's fd with no symlink allowed (safe-tree.ts), so a
 * container that shares the tree and swaps a directory for a link while we
 * walk cannot lead the walk out of it; fn acts on `procPath(dirFd, name)`,
 * whose last component is not followed by the l* calls.
 */
function walkBeneath(dirFd: number, fn: (dirFd: number, name: string, st: Stats) => void): void {
  for (const name of readdirSync(procPath(dirFd))) {
    let st: Stats;
    try {
      st = lstatSync(procPath(dirFd, name));
    } catch (err) {
      if (errCode(err) === 'ENOENT') continue;
      throw err;
    }
    fn(dirFd, name, st);
    if (!st.isDirectory()) continue;
    let child: number;
    try {
      child = openDirBeneath(dirFd, name);
    } catch (err) {
      // Replaced meanwhile (by a link: ELOOP/ENOTDIR) or gone: not ours to walk.
      if (['ENOENT', 'ELOOP', 'ENOTDIR', 'EXDEV'].includes(errCode(err) ?? '')) continue;
      throw err;
    }
    try {
      walkBeneath(child, fn);
    } finally {
      closeSync(child);
    }
  }
}

/** Runs fn on the directory root's own fd (opened without following a link in its last component). */
function withRoot(root: string, fn: (fd: number) => void): void {
  const fd = native().openat2(AT_FDCWD, root, DIR_FLAGS | O_NOFOLLOW, 0, 0);
  try {
    fn(fd);
  } finally {
    closeSync(fd);
  }
}

function chownEntry(path: string, st: Stats, ids: IdMap): void {
  const [uid, gid] = ids(st.uid, st.gid);
  if (uid === st.uid && gid === st.gid) return;
  lchownSync(path, uid, gid);
}

/** Sets the owners of directory `root` and everything below it to what `ids` returns (unchanged when it returns the same). */
export function chownTree(root: string, ids: IdMap): void {
  const top = lstatSync(root);
  if (!top.isDirectory()) return chownEntry(root, top, ids);
  withRoot(root, (fd) => {
    // The directory itself through its fd (chown follows the /proc link to exactly it).
    const st = fstatSync(fd);
    const [uid, gid] = ids(st.uid, st.gid);
    if (uid !== st.uid || gid !== st.gid) chownSync(procPath(fd), uid, gid);
    walkBeneath(fd, (dirFd, name, est) => chownEntry(procPath(dirFd, name), est, ids));
  });
}

/** The names fuse-overlayfs gives the opaque markers it puts in every directory it creates. */
export const OPAQUE_MARKERS = ['.wh..wh..opq', '.wh..opq'];

/**
 * Deletes fuse-overlayfs's opaque markers below root: a 0/0 character device
 * `.wh..opq` and an empty file `.wh..wh..opq` in each directory it created.
 * Over an empty lower directory (a volume) they mean nothing, and anything
 * that reads the data directly (--userns=host, export) must not see them.
 */
export function scrubOpaqueMarkers(root: string): void {
  withRoot(root, (fd) =>
    walkBeneath(fd, (dirFd, name, st) => {
      if (!OPAQUE_MARKERS.includes(name)) return;
      const marker = name === '.wh..opq' ? st.isCharacterDevice() && st.rdev === 0 : st.isFile() && st.size === 0;
      if (marker) unlinkSync(procPath(dirFd, name));
    }),
  );
}
