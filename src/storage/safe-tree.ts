// File-descriptor-relative primitives for working below a directory that
// someone else controls (a layer being applied, a container's root).  Node's
// fs follows symlinks in every path component, so such trees are reached only
// through an fd opened with openat2 and, for the last component, through
// /proc/self/fd/<dir fd>/<name>: the magic link pins the directory, and a
// single final component is then handled by calls that do not follow it.
import * as fs from 'node:fs';
import { native, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS } from '../native/index';

export const O_PATH = 0o10000000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_NOCTTY = 0o400;
export const O_NONBLOCK = 0o4000;
/** Below the directory fd, following no symlink at all. */
export const BENEATH = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
export const DIR_FLAGS = O_PATH | O_DIRECTORY;

export function procPath(fd: number, base?: string): string {
  return base === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${base}`;
}

export function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

export function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return null;
    throw e;
  }
}

/** O_PATH fd of dirFd/name, a directory reached without following any symlink. */
export function openDirBeneath(dirFd: number, name: string): number {
  return native().openat2(dirFd, name, DIR_FLAGS, 0, BENEATH);
}

/** O_PATH fd of the entry dirFd/name itself (a symlink stays a symlink). */
export function openNodeBeneath(dirFd: number, name: string): number {
  return native().openat2(dirFd, name, O_PATH | O_NOFOLLOW, 0, BENEATH);
}

/** Removes the tree at dirFd/base without following any symlink. */
export function removeTree(dirFd: number, base: string): void {
  const fd = openDirBeneath(dirFd, base);
  try {
    for (const child of fs.readdirSync(procPath(fd))) {
      const cp = procPath(fd, child);
      if (fs.lstatSync(cp).isDirectory()) removeTree(fd, child);
      else fs.unlinkSync(cp);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.rmdirSync(procPath(dirFd, base));
}
