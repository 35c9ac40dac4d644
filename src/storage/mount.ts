// Mounting a container's root filesystem inside the session namespace: the
// image's layers (read-only, shared) under the container's own upper layer.
// Kernel overlayfs when the container sees S's own IDs; fuse-overlayfs with
// uidmapping/gidmapping when the container's mapping differs, so the shared
// layers show their image owners inside every container without copying.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MNT_DETACH, native } from '../native/index';
import { fuseMappingOption } from '../userns/mapping';
import type { MapEntry } from '../userns/subid';

export type MountDriver = 'overlay' | 'fuse-overlayfs';

export interface RootfsMount {
  /** layer directory names relative to layerDir, top-most first */
  lowers: string[];
  layerDir: string;
  upper: string;
  work: string;
  target: string;
  /** kernel overlay only: the upper layer is discarded after use (no syncs) */
  volatile?: boolean;
  /** present: mount with fuse-overlayfs presenting on-disk IDs through these maps */
  uidMap?: MapEntry[];
  gidMap?: MapEntry[];
}

export function driverFor(m: { uidMap?: MapEntry[] }): MountDriver {
  return m.uidMap ? 'fuse-overlayfs' : 'overlay';
}

const FUSE_OVERLAYFS = ['/usr/bin/fuse-overlayfs', '/usr/local/bin/fuse-overlayfs', '/bin/fuse-overlayfs'];

/**
 * Starts fuse-overlayfs (it daemonizes once mounted): posix_spawn from the
 * addon rather than child_process, which copies this large process's page
 * tables first (a few ms of every run that needs it).  Its stderr goes to a
 * file beside the work directory, read on failure.  `finish` turns its exit
 * status into success or a clear error.
 */
function spawnFuseOverlayfs(m: RootfsMount, lowers: string): { pid: number; finish: (status: number) => void } {
  const bin = FUSE_OVERLAYFS.find((p) => existsSync(p));
  if (!bin) throw new Error('cannot run fuse-overlayfs: not found (install the fuse-overlayfs package)');
  const opts = [
    `lowerdir=${lowers}`,
    `upperdir=${m.upper}`,
    `workdir=${m.work}`,
    `uidmapping=${fuseMappingOption(m.uidMap!)}`,
    `gidmapping=${fuseMappingOption(m.gidMap!)}`,
    'allow_other',
  ].join(',');
  const errFile = `${m.work}.err`;
  const err = openSync(errFile, 'w', 0o600);
  const devNull = openSync('/dev/null', 'r');
  const here = process.cwd();
  let pid: number;
  try {
    // Layer names in the options are relative to the layer directory.
    process.chdir(m.layerDir);
    const [child, exitFd] = native().spawnProcess(bin, [bin, '-o', opts, m.target], [devNull, devNull, err], false);
    closeSync(exitFd);
    pid = child;
  } finally {
    process.chdir(here);
    closeSync(devNull);
    closeSync(err);
  }
  return {
    pid,
    finish: (status) => {
      const stderr = status === 0 ? '' : readFileSync(errFile, 'utf8');
      rmSync(errFile, { force: true });
      if (status !== 0) {
        const why = stderr.split('\n').filter((l) => l && !l.startsWith('unknown argument ignored')).join('; ');
        throw new Error(`fuse-overlayfs failed to mount ${m.target}: ${why || `exit ${status}`}`);
      }
    },
  };
}

/** The directories, and the lower layers as mount options name them. */
function prepareDirs(m: RootfsMount, emptyLower: string): string {
  mkdirSync(m.upper, { recursive: true, mode: 0o755 });
  mkdirSync(m.work, { recursive: true, mode: 0o700 });
  mkdirSync(m.target, { recursive: true, mode: 0o755 });
  // Layer names are relative to layerDir and resolved from there (the mount
  // option string is limited to a page: relative names fit many more layers).
  return m.lowers.length > 0 ? m.lowers.join(':') : emptyLower;
}

function mountKernelOverlay(m: RootfsMount, lowers: string): void {
  // volatile: no syncs of the upper layer (at unmount above all) for a
  // container whose upper layer is thrown away afterwards (--rm).  The kernel
  // leaves a marker that refuses a second volatile mount; an earlier clean
  // unmount of ours is what it would guard, so the marker goes first.
  // (Only where a mount left it: rmSync would load its rimraf module on every run.)
  const mark = join(m.work, 'work', 'incompat');
  if (m.volatile && existsSync(mark)) rmSync(mark, { recursive: true, force: true });
  const data = `lowerdir=${lowers},upperdir=${m.upper},workdir=${m.work},userxattr${m.volatile ? ',volatile' : ''}`;
  const cwd = process.cwd();
  process.chdir(m.layerDir);
  try {
    native().mount('overlay', m.target, 'overlay', 0, data);
  } finally {
    process.chdir(cwd);
  }
}

export function mountRootfs(m: RootfsMount, emptyLower: string): MountDriver {
  const lowers = prepareDirs(m, emptyLower);
  if (m.uidMap && m.gidMap) {
    const fuse = spawnFuseOverlayfs(m, lowers);
    fuse.finish(native().waitProcess(fuse.pid));
    return 'fuse-overlayfs';
  }
  mountKernelOverlay(m, lowers);
  return 'overlay';
}

/**
 * As mountRootfs, but a FUSE mount is awaited rather than waited for: the
 * caller does other work (the spec, the network) while fuse-overlayfs
 * starts.  `ready` settles once the root is mounted, or the mount failed.
 */
export function startRootfsMount(m: RootfsMount, emptyLower: string): { driver: MountDriver; ready: Promise<void> } {
  const lowers = prepareDirs(m, emptyLower);
  if (m.uidMap && m.gidMap) {
    const fuse = spawnFuseOverlayfs(m, lowers);
    return { driver: 'fuse-overlayfs', ready: native().waitProcessAsync(fuse.pid).then(fuse.finish) };
  }
  mountKernelOverlay(m, lowers);
  return { driver: 'overlay', ready: Promise.resolve() };
}

/** Unmounts target; not mounted is success. */
export function unmountRootfs(target: string): void {
  try {
    native().umount(target, MNT_DETACH);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOENT') throw err;
  }
}

/** Whether a filesystem is mounted exactly at path, from this mount namespace's view. */
export function isMounted(path: string): boolean {
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  const escaped = path.replace(/[\\ \t\n]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
  return info.split('\n').some((line) => line.split(' ')[4] === escaped);
}
