// Removing a container: stop what still runs, unmount, delete its writable
// layer and runtime files, and only then drop the record, so its ID block
// stays reserved until nothing of it is left.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { forceDelete } from '../runtime/crun';
import type { ContainerRecord } from '../state/containers';
import { unmountRootfs } from '../storage/mount';
import type { EngineContext } from './context';
import { EngineError, InUseError, NotFoundError } from './errors';
import { monitorAlive } from './liveness';

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

export async function removeContainer(ctx: EngineContext, ref: string, force: boolean): Promise<ContainerRecord> {
  const rec = requireContainer(ctx, ref);
  const running = rec.state.status === 'running' && monitorAlive(rec);
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
    for (let i = 0; i < 100 && monitorAlive(rec); i++) await sleep(20);
  }
  const runDir = ctx.runDir(rec.id);
  unmountRootfs(join(runDir, 'rootfs'));
  rmSync(runDir, { recursive: true, force: true });
  // The writable layer first, the record last: a crash in between leaves a
  // record that the next rm finishes, never an orphaned directory.
  const dir = ctx.containers.containerDir(rec.id);
  for (const sub of ['diff', 'work']) rmSync(join(dir, sub), { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  return rec;
}
