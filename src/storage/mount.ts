// Mounting a container's root filesystem inside the session namespace: the
// image's layers (read-only, shared) under the container's own upper layer.
// Kernel overlayfs when the container sees S's own IDs; fuse-overlayfs with
// uidmapping/gidmapping when the container's mapping differs, so the shared
// layers show their image owners inside every container without copying.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
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
  /** present: mount with fuse-overlayfs presenting on-disk IDs through these maps */
  uidMap?: MapEntry[];
  gidMap?: MapEntry[];
}

export function driverFor(m: { uidMap?: MapEntry[] }): MountDriver {
  return m.uidMap ? 'fuse-overlayfs' : 'overlay';
}

export function mountRootfs(m: RootfsMount, emptyLower: string): MountDriver {
  mkdirSync(m.upper, { recursive: true, mode: 0o755 });
  mkdirSync(m.work, { recursive: true, mode: 0o700 });
  mkdirSync(m.target, { recursive: true, mode: 0o755 });
  // Layer names are relative to layerDir and resolved from there (the mount
  // option string is limited to a page: relative names fit many more layers).
  const lowers = m.lowers.length > 0 ? m.lowers.join(':') : emptyLower;
  if (m.uidMap && m.gidMap) {
    const opts = [
      `lowerdir=${lowers}`,
      `upperdir=${m.upper}`,
      `workdir=${m.work}`,
      `uidmapping=${fuseMappingOption(m.uidMap)}`,
      `gidmapping=${fuseMappingOption(m.gidMap)}`,
      'allow_other',
    ].join(',');
    const r = spawnSync('fuse-overlayfs', ['-o', opts, m.target], { cwd: m.layerDir, encoding: 'utf8' });
    if (r.error) throw new Error(`cannot run fuse-overlayfs: ${r.error.message} (install the fuse-overlayfs package)`);
    if (r.status !== 0) {
      const why = r.stderr.split('\n').filter((l) => l && !l.startsWith('unknown argument ignored')).join('; ');
      throw new Error(`fuse-overlayfs failed to mount ${m.target}: ${why || `exit ${r.status}`}`);
    }
    return 'fuse-overlayfs';
  }
  const data = `lowerdir=${lowers},upperdir=${m.upper},workdir=${m.work},userxattr`;
  const cwd = process.cwd();
  process.chdir(m.layerDir);
  try {
    native().mount('overlay', m.target, 'overlay', 0, data);
  } finally {
    process.chdir(cwd);
  }
  return 'overlay';
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
