// After a container's process ended: record how (exit code from conmon's
// exit file), release what it held (crun's state, the rootfs mount), then
// carry out --rm or the restart policy.  conmon runs this as its exit
// command (`selkie container cleanup ID`), and so does any selkie process
// that finds a dead container first: it is idempotent under the store lock.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { forceDelete } from '../runtime/crun';
import { recordContainerEvent } from '../state/events';
import type { ContainerRecord } from '../state/containers';
import { unmountRootfs } from '../storage/mount';
import { releaseContainerNetwork } from './network-attach';
import { containerPaths } from './container-mount';
import { exitFile } from './monitor-paths';
import { releaseMounts } from './volume-mounts';
import type { EngineContext } from './context';
import { initAlive, isActive } from './liveness';

/** The exit code conmon recorded, or undefined. */
export function readExitCode(file: string): number | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return /^-?\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Records the end of a run (no process left): exited, with code and time. */
export function recordExit(ctx: EngineContext, id: string, e: { exitCode: number; error?: string }): ContainerRecord | undefined {
  return ctx.containers.update(id, (r) => {
    r.state = exitedState(r.state, e.exitCode);
    if (e.error) r.state.error = e.error;
    else delete r.state.error;
  });
}

/** A state after the run: exited with its code, nothing running or mounted. */
function exitedState(s: ContainerRecord['state'], exitCode: number): ContainerRecord['state'] {
  return {
    ...s,
    status: 'exited',
    exitCode,
    finishedAt: new Date().toISOString(),
    mounted: false,
    monitorPid: undefined,
    monitorStart: undefined,
    pid: undefined,
    pidStart: undefined,
    networks: undefined,
  };
}

/** Whether the restart policy wants the container started again after this exit. */
export function shouldRestart(rec: ContainerRecord, exitCode: number): boolean {
  const p = rec.config.restart;
  if (!p || p.name === 'no' || rec.autoRemove) return false;
  if (rec.state.stoppedByUser) return false;
  if (p.name === 'on-failure') {
    if (exitCode === 0) return false;
    return !p.maxRetries || (rec.state.restartCount ?? 0) < p.maxRetries;
  }
  return true;
}

export interface CleanupResult {
  /** the record after cleanup, undefined when the container was removed */
  rec?: ContainerRecord;
  exitCode?: number;
  restart: boolean;
}

/**
 * Cleans up a container whose process has ended; does nothing while it
 * runs or when another process cleaned it up already.
 */
export async function cleanupContainer(ctx: EngineContext, id: string, opts: { fromMonitor?: boolean; run?: string } = {}): Promise<CleanupResult> {
  let exitCode: number | undefined;
  let restart = false;
  const rec = ctx.containers.update(id, (r) => {
    if (r.state.status !== 'running' && r.state.status !== 'stopping') return;
    // When conmon runs us as it exits, or has written the exit file, the
    // container's process has ended: only that process counts, not conmon.
    // An exit command of an earlier run (it may come late, while the
    // container starts again or runs) speaks for no process of this one.
    const thisRun = opts.fromMonitor && (opts.run === undefined || opts.run === r.state.startedAt);
    const ended = thisRun || existsSync(exitFile(ctx, id));
    if (ended ? initAlive(r) : isActive(r)) return;
    // No exit file: conmon was killed before the container ended; the code is unknown.
    exitCode = readExitCode(exitFile(ctx, id)) ?? -1;
    forceDelete(ctx.runtimeRoot, id);
    releaseMounts(ctx, id);
    unmountRootfs(containerPaths(ctx, id).rootfs);
    releaseContainerNetwork(ctx, r);
    rmSync(exitFile(ctx, id), { force: true });
    restart = shouldRestart(r, exitCode);
    r.state = exitedState(r.state, exitCode);
    if (restart) r.state.restartCount = (r.state.restartCount ?? 0) + 1;
  });
  if (!rec || exitCode === undefined) return { rec, restart: false };
  recordContainerEvent(ctx, 'died', rec, { containerExitCode: exitCode });
  if (rec.autoRemove) {
    const { removeContainer } = await import('./remove');
    await removeContainer(ctx, id, true, { volumes: true }).catch(() => undefined);
    return { exitCode, restart: false };
  }
  if (restart) {
    const { startMonitored } = await import('./monitor');
    await startMonitored(ctx, id).catch(() => undefined);
  }
  return { rec, exitCode, restart };
}
