// pause/unpause need the cgroup freezer, and a rootless container has a
// cgroup only where cgroup v2 is delegated to the user.  selkie does not
// create cgroups yet, so it says so instead of pretending.
import type { EngineContext } from './context';
import { EngineError } from './errors';
import { detectCgroups } from './info';
import { effectiveStatus } from './liveness';
import { requireContainer } from './remove';

export async function pauseContainerRef(ctx: EngineContext, ref: string, pause: boolean): Promise<void> {
  const rec = requireContainer(ctx, ref);
  const status = effectiveStatus(rec);
  if (status !== 'running') {
    throw new EngineError(`"${rec.name}" is not running, can't ${pause ? 'pause' : 'unpause'}: container state improper`);
  }
  const cg = detectCgroups();
  const why = cg.limitsUsable ? 'selkie does not place containers in cgroups yet' : cg.reason;
  throw new EngineError(`${pause ? 'pause' : 'unpause'} needs the cgroup freezer: ${why}`);
}
