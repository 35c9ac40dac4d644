// Presenting a container's -v/--mount entries at start and releasing them at
// stop.  A named volume's data is stored in container ID space (like layers),
// so each container sees it through its own mapping: fuse-overlayfs with an
// empty lower directory and the volume's _data as upper directory, mounted in
// the run directory and bound into the container.  A container that runs in
// S itself (--userns=host) needs no shifting and gets _data bound directly.
import { chmodSync, closeSync, existsSync, lchownSync, statSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromSessionId, toSessionId, type ContainerMapping } from '../userns/mapping';
import type { MapEntry } from '../userns/subid';
import type { ContainerRecord, MountSpec } from '../state/containers';
import type { OciMount } from '../runtime/spec';
import type { RootFs } from '../runtime/rootfs';
import { isMounted, mountRootfs, unmountRootfs } from '../storage/mount';
import { chownTree, copyTreeMapped, scrubOpaqueMarkers } from '../storage/id-tree';
import type { EngineContext } from './context';
import { EngineError } from './errors';

/** Where volume i of a container is presented (in S's mount namespace). */
function presentDir(ctx: EngineContext, id: string, i: number): string {
  return join(ctx.runDir(id), 'volumes', String(i));
}

/** The volumes presented through fuse-overlayfs, for release to tidy. */
function presentedFile(ctx: EngineContext, id: string): string {
  return join(ctx.runDir(id), 'volumes.json');
}

/** What :U changed, kept in the run directory so that release can give it back. */
function chownedFile(ctx: EngineContext, id: string): string {
  return join(ctx.runDir(id), 'chowned.json');
}

const NOBODY = 65534;

/**
 * The first mount of a volume marked for it: the image's content at the
 * mount target (resolved inside the root: the image controls that path) is
 * copied in, owners translated from the S IDs the rootfs presents back to
 * container IDs, which is how the volume stores them.
 */
function copyUp(root: RootFs, dest: string, data: string, mapping: ContainerMapping): void {
  const fd = root.openDir(dest);
  if (fd === undefined) return;
  try {
    // Nothing runs in the container yet, so the tree below this directory
    // cannot change under the walk (which follows no links anyway).
    const ids = (uid: number, gid: number): [number, number] => [fromSessionId(mapping.uid, uid) ?? NOBODY, fromSessionId(mapping.gid, gid) ?? NOBODY];
    const src = `/proc/self/fd/${fd}`;
    copyTreeMapped(src, data, ids);
    // The volume's root takes the target directory's owner and mode too (Docker, Podman).
    const st = statSync(src);
    lchownSync(data, ...ids(st.uid, st.gid));
    chmodSync(data, st.mode & 0o7777);
  } finally {
    closeSync(fd);
  }
}

function bindOptions(m: MountSpec): string[] {
  const propagation = m.options.some((o) => /^r?(private|shared|slave|unbindable)$/.test(o)) ? [] : ['rprivate'];
  // A volume is presented in the container's own IDs already (presentVolume): idmap is what it has.
  const rest = m.options.filter((o) => o !== 'bind' && o !== 'rbind' && !(o === 'idmap' && m.type === 'volume'));
  return ['rbind', m.readOnly ? 'ro' : 'rw', ...propagation, ...rest];
}

function presentVolume(ctx: EngineContext, rec: ContainerRecord, m: MountSpec, i: number, root: RootFs, mapping: ContainerMapping): string {
  const name = m.source!;
  const vols = ctx.volumes;
  const data = vols.dataDir(name);
  vols.locked(() => {
    const v = vols.get(name);
    if (!v) throw new EngineError(`no volume with name "${name}" found: no such volume`);
    if (v.NeedsCopyUp) {
      if (!m.noCopy && readdirSync(data).length === 0) copyUp(root, m.destination, data, mapping);
      vols.update(name, (x) => delete x.NeedsCopyUp);
    }
  });
  if (!mapping.uid || !mapping.gid) return data;
  const target = presentDir(ctx, rec.id, i);
  mountRootfs(
    {
      lowers: [],
      layerDir: vols.volumeDir(name),
      upper: data,
      work: vols.workDir(name, rec.id),
      target,
      uidMap: mapping.uid,
      gidMap: mapping.gid,
    },
    ctx.emptyLayer,
  );
  return target;
}

/**
 * The OCI mounts for the container's -v/--mount entries, with volumes
 * presented and :U sources handed to the container's user.  `user` is the
 * resolved user the container's process runs as (container IDs).
 */
export function presentMounts(ctx: EngineContext, rec: ContainerRecord, root: RootFs, mapping: ContainerMapping, user: { uid: number; gid: number }): OciMount[] {
  const out: OciMount[] = [];
  const chowned: string[] = [];
  const fused: string[] = [];
  // Parents before what is mounted below them (-v a:/srv -v b:/srv/x).
  const depth = (d: string) => d.split('/').filter(Boolean).length;
  const ordered = (rec.config.mounts ?? []).map((m, i) => [m, i] as const).sort((a, b) => depth(a[0].destination) - depth(b[0].destination));
  ordered.forEach(([m, i]) => {
    if (m.type === 'tmpfs') {
      out.push({ destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: [...m.options, ...(m.readOnly ? ['ro'] : [])] });
      return;
    }
    let source: string;
    if (m.type === 'volume') {
      source = presentVolume(ctx, rec, m, i, root, mapping);
      if (source !== ctx.volumes.dataDir(m.source!)) {
        fused.push(ctx.volumes.dataDir(m.source!));
        writeFileSync(presentedFile(ctx, rec.id), JSON.stringify(fused));
      }
    } else {
      source = m.source!;
      if (!existsSync(source)) throw new EngineError(`${source}: bind mount source does not exist: no such file or directory`);
    }
    if (m.chown) {
      const uid = toSessionId(mapping.uid, user.uid);
      const gid = toSessionId(mapping.gid, user.gid);
      if (uid === undefined || gid === undefined) throw new EngineError(`:U on ${m.destination}: the container's user is not mapped`);
      // For a volume, its stored (container) IDs are what the container sees.
      const [dirUid, dirGid] = m.type === 'volume' ? [user.uid, user.gid] : [uid, gid];
      const dir = m.type === 'volume' ? ctx.volumes.dataDir(m.source!) : source;
      if (m.type === 'bind') {
        // Recorded before the change, so that a failure part-way is still given back.
        chowned.push(source);
        writeFileSync(chownedFile(ctx, rec.id), JSON.stringify({ paths: chowned, uid: mapping.uid ?? null, gid: mapping.gid ?? null }));
      }
      // Only what belongs to the user (S 0) changes hands: nothing else of the host.
      chownTree(dir, (u, g) => (m.type === 'volume' || u === 0 ? [dirUid, dirGid] : [u, g]));
    }
    out.push({ destination: m.destination, type: 'bind', source, options: bindOptions(m) });
  });
  return out;
}

function inRanges(entries: MapEntry[] | null, id: number): boolean {
  if (id === 0) return false;
  if (!entries) return true;
  return entries.some((e) => e.outer !== 0 && id >= e.outer && id < e.outer + e.count);
}

/**
 * Undoes presentMounts: unmounts the presented volumes and gives :U bind
 * sources back to the user (every file the container's IDs own, including
 * what it created), so host files stay the user's once the container stops.
 * Safe to call more than once.  Throws if a volume stays mounted: the run
 * directory is deleted next, and a walk into a live mount would delete data.
 */
export function releaseMounts(ctx: EngineContext, id: string): void {
  const dir = join(ctx.runDir(id), 'volumes');
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    /* no volumes presented */
  }
  for (const n of names) {
    const p = join(dir, n);
    unmountRootfs(p);
    if (isMounted(p)) throw new EngineError(`cannot unmount volume at ${p}`);
    try {
      rmdirSync(p);
    } catch (err) {
      // Another process (conmon's cleanup, rm -f) released it meanwhile.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  try {
    for (const data of JSON.parse(readFileSync(presentedFile(ctx, id), 'utf8')) as string[]) scrubOpaqueMarkers(data);
    rmSync(presentedFile(ctx, id), { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    const c = JSON.parse(readFileSync(chownedFile(ctx, id), 'utf8')) as { paths: string[]; uid: MapEntry[] | null; gid: MapEntry[] | null };
    for (const p of c.paths) {
      chownTree(p, (u, g) => [inRanges(c.uid, u) ? 0 : u, inRanges(c.gid, g) ? 0 : g]);
    }
    rmSync(chownedFile(ctx, id), { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Drops the per-container work directories of the volumes it used. */
export function forgetVolumeWork(ctx: EngineContext, rec: ContainerRecord): void {
  for (const m of rec.config.mounts ?? []) {
    if (m.type === 'volume' && m.source) rmSync(ctx.volumes.workDir(m.source, rec.id), { recursive: true, force: true });
  }
}
