// Looking a path up in a tree: a container's root, where every component,
// symlinks and ".." included, is resolved inside the root (openat2 with
// RESOLVE_IN_ROOT), or the host's, resolved as usual (the user's own paths).
// What is found is handed on as fds, so nothing is resolved by name twice.
import { closeSync, fstatSync, readlinkSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { AT_FDCWD, native, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS } from '../native/index';
import { DIR_FLAGS, errCode, openNodeBeneath, procPath } from './safe-tree';

export interface Tree {
  fd: number;
  resolve: number;
}

export function containerTree(rootfs: string): Tree {
  // The mount point is the engine's own path: following it is fine.
  return { fd: native().openat2(AT_FDCWD, rootfs, DIR_FLAGS, 0, 0), resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
}

export const HOST_TREE: Tree = { fd: AT_FDCWD, resolve: 0 };

export function closeTree(t: Tree): void {
  if (t.fd !== AT_FDCWD) closeSync(t.fd);
}

export type Located =
  | { exists: false; parentFd: number; name: string; path: string }
  | { exists: true; fd: number; st: Stats; parentFd?: number; name?: string; path: string };

/** Closes what locate() opened. */
export function release(loc: Located): void {
  if (loc.exists) closeSync(loc.fd);
  if (loc.parentFd !== undefined) closeSync(loc.parentFd);
}

function codeError(code: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${path}`), { code });
}

const MAX_LINKS = 40;

/**
 * Finds path (absolute, in the tree).  With follow, a symlink in the last
 * component is followed (its target looked up in the tree again, so a
 * dangling link leads to where its target would be); without, the link
 * itself is found.  Throws errors with code ENOENT / ENOTDIR / ELOOP when a
 * parent is missing or in the way.
 */
export function locate(tree: Tree, start: string, opts: { follow: boolean; mustBeDir: boolean }): Located {
  let path = start;
  for (let hops = 0; ; hops++) {
    const name = posix.basename(path);
    if (path === '/' || name === '.' || name === '..') {
      // Always a directory, and has no name of its own in a parent.
      const fd = native().openat2(tree.fd, path, DIR_FLAGS, 0, tree.resolve);
      return { exists: true, fd, st: fstatSync(fd), path };
    }
    const dir = posix.dirname(path);
    const parentFd = native().openat2(tree.fd, dir, DIR_FLAGS, 0, tree.resolve);
    let fd: number;
    try {
      fd = openNodeBeneath(parentFd, name);
    } catch (e) {
      if (errCode(e) === 'ENOENT') return { exists: false, parentFd, name, path };
      closeSync(parentFd);
      throw e;
    }
    const st = fstatSync(fd);
    if (st.isSymbolicLink() && opts.follow) {
      const target = readlinkSync(procPath(parentFd, name));
      closeSync(fd);
      closeSync(parentFd);
      if (hops >= MAX_LINKS) throw codeError('ELOOP', start);
      // Relative to the link's directory, which dir names: the kernel resolves ".." in it the same way.
      path = target.startsWith('/') ? target : `${dir === '/' ? '' : dir}/${target}`;
      continue;
    }
    if (opts.mustBeDir && !st.isDirectory()) {
      closeSync(fd);
      closeSync(parentFd);
      throw codeError('ENOTDIR', start);
    }
    return { exists: true, fd, st, parentFd, name, path };
  }
}
