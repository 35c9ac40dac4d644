// Where a container's root filesystem is mounted, and mounting it: the
// image's layers under the container's own upper layer, presented through
// the container's ID mapping (see storage/mount.ts for the two drivers).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { hostIds } from '../config/paths';
import type { ContainerRecord } from '../state/containers';
import { driverFor, isMounted, mountRootfs, startRootfsMount, unmountRootfs, type MountDriver, type RootfsMount } from '../storage/mount';
import { containerMapping, type ContainerMapping } from '../userns/mapping';
import type { EngineContext } from './context';

export interface ContainerPaths {
  /** mount point of the merged root, in the session's mount namespace */
  rootfs: string;
  /** the container's writable layer, in the on-disk ID space of its driver */
  upper: string;
  work: string;
}

export function containerPaths(ctx: EngineContext, id: string): ContainerPaths {
  const dir = ctx.containers.containerDir(id);
  return { rootfs: join(ctx.runDir(id), 'rootfs'), upper: join(dir, 'diff'), work: join(dir, 'work') };
}

export function mappingOf(rec: ContainerRecord): ContainerMapping {
  return containerMapping(rec.userns.mode, rec.userns.block, hostIds());
}

/**
 * The driver a container's root is mounted with: decided at create and kept,
 * since the IDs in its upper layer depend on it (records from before that
 * decision: by the mapping alone).
 */
export function containerDriver(rec: ContainerRecord): MountDriver {
  return rec.storage?.driver ?? driverFor({ uidMap: mappingOf(rec).uid });
}

/**
 * The driver for a new container.  fuse-overlayfs shifts the layers' owners
 * into the container's ID block; an image whose files all belong to root
 * needs no shifting when the container's root is S's root (the default
 * mapping), so kernel overlay serves it, without a FUSE daemon per container.
 */
export function chooseDriver(mode: ContainerRecord['userns']['mode'], layersRootOwned: boolean): MountDriver {
  if (mode === 'host') return 'overlay';
  return mode === 'private' && layersRootOwned ? 'overlay' : 'fuse-overlayfs';
}

/** What mounting the container's root takes (the run directory is created 0711). */
function rootfsMount(ctx: EngineContext, rec: ContainerRecord): RootfsMount {
  const p = containerPaths(ctx, rec.id);
  // 0711: crun, once inside a container namespace whose root is not the
  // session's root (--userns=auto, keep-id), still has to reach the rootfs.
  mkdirSync(ctx.runDir(rec.id), { recursive: true, mode: 0o711 });
  mkdirSync(ctx.emptyLayer, { recursive: true, mode: 0o755 });
  const mapping = mappingOf(rec);
  const fuse = containerDriver(rec) === 'fuse-overlayfs';
  return {
    lowers: [...rec.image.layers].reverse().map((d) => d.slice(7)),
    layerDir: ctx.layers.dir,
    upper: p.upper,
    work: p.work,
    target: p.rootfs,
    uidMap: fuse ? mapping.uid : undefined,
    gidMap: fuse ? mapping.gid : undefined,
    volatile: rec.autoRemove,
  };
}

/** Mounts the container's root at containerPaths().rootfs. */
export function mountContainer(ctx: EngineContext, rec: ContainerRecord): ContainerPaths {
  mountRootfs(rootfsMount(ctx, rec), ctx.emptyLayer);
  return containerPaths(ctx, rec.id);
}

/** As mountContainer; a FUSE mount goes on while the caller works, and `ready` settles when it is done. */
export function startContainerMount(ctx: EngineContext, rec: ContainerRecord): ContainerPaths & { ready: Promise<void> } {
  const { ready } = startRootfsMount(rootfsMount(ctx, rec), ctx.emptyLayer);
  return { ...containerPaths(ctx, rec.id), ready };
}

/**
 * Runs fn with the container's root mounted: the running container's own
 * mount when there is one, else a temporary mount released afterwards.
 */
export async function withContainerRoot<T>(ctx: EngineContext, rec: ContainerRecord, fn: (rootfs: string) => Promise<T> | T): Promise<T> {
  const p = containerPaths(ctx, rec.id);
  if (isMounted(p.rootfs)) return fn(p.rootfs);
  mountContainer(ctx, rec);
  try {
    return await fn(p.rootfs);
  } finally {
    // Not while the container was started meanwhile: its mount is this one.
    const now = ctx.containers.get(rec.id);
    if (!now || now.state.status !== 'running') unmountRootfs(p.rootfs);
  }
}
