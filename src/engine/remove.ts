// Removing a container: stop what still runs, unmount, delete its writable
// layer and runtime files, and only then drop the record, so its ID block
// stays reserved until nothing of it is left.
import { readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { forceDelete } from '../runtime/crun';
import type { ContainerRecord } from '../state/containers';
import { recordContainerEvent } from '../state/events';
import { unmountRootfs } from '../storage/mount';
import { releaseContainerNetwork } from './network-attach';
import type { EngineContext } from './context';
import { EngineError, InUseError, NotFoundError } from './errors';
import { isActive } from './liveness';
import { exitFile, socketDir } from './monitor-paths';
import { forgetVolumeWork, releaseMounts } from './volume-mounts';

/** The container's traces in its volumes; its anonymous volumes too with rm -v / --rm (Podman). */
function dropVolumes(ctx: EngineContext, rec: ContainerRecord, anonymous: boolean): void {
  forgetVolumeWork(ctx, rec);
  if (!anonymous) return;
  for (const m of rec.config.mounts ?? []) {
    if (m.type === 'volume' && m.anonymous && m.source) ctx.volumes.locked(() => ctx.volumes.remove(m.source!));
  }
}

export function requireContainer(ctx: EngineContext, ref: string): ContainerRecord {
  let rec: ContainerRecord | undefined;
  try {
    rec = ctx.containers.lookup(ref);
  } catch (err) {
    throw new EngineError((err as Error).message);
  }
  if (!rec) throw new NotFoundError(`no container with name or ID "${ref}" found: no such container`, 1);
  return rec;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Deletes a tree without following symlinks.  Leaner than fs.rmSync's
 * retrying rimraf, which costs milliseconds on every `run --rm`.
 */
export function removeTree(path: string): void {
  let entries;
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') return unlinkSync(path);
    throw err;
  }
  for (const e of entries) {
    const p = join(path, e.name);
    if (e.isDirectory()) removeTree(p);
    else {
      try {
        unlinkSync(p);
      } catch (err) {
        // gone meanwhile (another process's temporary file, renamed)
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
  try {
    rmdirSync(path);
  } catch (err) {
    // A directory that is still a mount point (EBUSY) is reported, not hidden.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * `exited`: the caller just saw the container's runtime exit (run --rm), so
 * there is nothing to stop and nobody else to tell it is going.
 */
export async function removeContainer(ctx: EngineContext, ref: string, force: boolean, opts: { exited?: boolean; volumes?: boolean } = {}): Promise<ContainerRecord> {
  // run --rm passes the ID it just ran: read that record, not all of them.
  const rec = (opts.exited && ctx.containers.get(ref)) || requireContainer(ctx, ref);
  const runDir = ctx.runDir(rec.id);
  const dir = ctx.containers.containerDir(rec.id);
  if (opts.exited) {
    releaseMounts(ctx, rec.id);
    unmountRootfs(join(runDir, 'rootfs'));
    releaseContainerNetwork(ctx, rec);
    removeTree(runDir);
    dropVolumes(ctx, rec, !!opts.volumes);
    removeTree(join(dir, 'diff'));
    removeTree(join(dir, 'work'));
    removeRecordDir(ctx, dir);
    recordContainerEvent(ctx, 'remove', rec, { containerExitCode: rec.state.exitCode });
    return rec;
  }
  const running = (rec.state.status === 'running' || rec.state.status === 'stopping') && isActive(rec);
  if (running && !force) {
    throw new InUseError(
      `cannot remove container ${rec.id} as it is running - running or paused containers cannot be removed without force: container state improper`,
    );
  }
  ctx.containers.update(rec.id, (r) => {
    r.state.status = 'removing';
  });
  // crun may know the container even when our monitor is gone (a killed selkie).
  forceDelete(ctx.runtimeRoot, rec.id);
  if (running) {
    for (let i = 0; i < 100 && isActive(rec); i++) await sleep(20);
  }
  // Volumes first: the run directory's deletion must never walk into one.
  releaseMounts(ctx, rec.id);
  unmountRootfs(join(runDir, 'rootfs'));
  releaseContainerNetwork(ctx, rec);
  removeTree(runDir);
  // What conmon left beside the run directory: its exit file and the short
  // link to the attach socket.
  for (const left of [exitFile(ctx, rec.id), join(socketDir(ctx), rec.id)]) rmSync(left, { force: true });
  dropVolumes(ctx, rec, !!opts.volumes);
  // The writable layer first, the record last: a crash in between leaves a
  // record that the next rm finishes, never an orphaned directory.
  for (const sub of ['diff', 'work']) removeTree(join(dir, sub));
  removeRecordDir(ctx, dir);
  recordContainerEvent(ctx, 'remove', rec, { containerExitCode: rec.state.exitCode });
  return rec;
}

/**
 * The record's directory goes under the store's lock: conmon's exit command
 * (`container cleanup`) may be rewriting the record at that moment, and
 * update() writes a temporary file beside it and renames it into place.
 */
function removeRecordDir(ctx: EngineContext, dir: string): void {
  ctx.containers.locked(() => removeTree(dir));
}
