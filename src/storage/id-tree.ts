// Walking a directory tree to copy or re-own it without ever following a
// symlink: every entry is lstat'ed, links are recreated or lchown'ed as links,
// and only real directories are descended into.
import { copyFileSync, unlinkSync, lchownSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, chmodSync, constants } from 'node:fs';
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

/** Sets the owners of `root` and everything below it to what `ids` returns (unchanged when it returns the same). */
export function chownTree(root: string, ids: IdMap): void {
  const st = lstatSync(root);
  const [uid, gid] = ids(st.uid, st.gid);
  if (uid !== st.uid || gid !== st.gid) {
    lchownSync(root, uid, gid);
    // chown clears set-ID bits of files; keep the rest of the mode as it was.
    if (!st.isSymbolicLink() && !st.isDirectory()) chmodSync(root, st.mode & 0o777);
  }
  if (st.isDirectory()) for (const name of readdirSync(root)) chownTree(join(root, name), ids);
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
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) scrubOpaqueMarkers(p);
    else if (OPAQUE_MARKERS.includes(e.name)) {
      const st = lstatSync(p);
      const marker = e.name === '.wh..opq' ? st.isCharacterDevice() && st.rdev === 0 : st.isFile() && st.size === 0;
      if (marker) unlinkSync(p);
    }
  }
}
