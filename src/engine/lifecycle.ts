// stop, kill, wait, restart: signals through crun, and waiting by watching
// the container's processes (no daemon tells us; the record and /proc do).
import { killContainer } from '../runtime/crun';
import { normalizeSignal } from '../runtime/signals';
import { recordContainerEvent } from '../state/events';
import type { ContainerRecord, ContainerStatus } from '../state/containers';
import { cleanupContainer } from './cleanup';
import type { EngineContext } from './context';
import { EngineError } from './errors';
import { effectiveStatus, initAlive, isActive } from './liveness';
import { requireContainer } from './remove';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function running(rec: ContainerRecord): boolean {
  return effectiveStatus(rec) === 'running';
}

/** Waits until nothing of the container runs, up to ms; true when it is gone. */
async function waitGone(ctx: EngineContext, id: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    const rec = ctx.containers.get(id);
    if (!rec || !isActive(rec)) return true;
    if (Date.now() >= end) return false;
    await sleep(Math.min(25, Math.max(1, end - Date.now())));
  }
}

export async function killContainerRef(ctx: EngineContext, ref: string, signal = 'SIGKILL'): Promise<ContainerRecord> {
  const rec = requireContainer(ctx, ref);
  const sig = normalizeSignal(signal);
  if (!running(rec)) throw new EngineError(`can only kill running containers. ${rec.id} is in state ${effectiveStatus(rec)}: container state improper`);
  ctx.containers.update(rec.id, (r) => {
    r.state.stoppedByUser = true;
  });
  if (!killContainer(ctx.runtimeRoot, rec.id, sig) && initAlive(rec)) {
    process.kill(rec.state.pid!, sig as NodeJS.Signals);
  }
  recordContainerEvent(ctx, 'kill', rec, { attributes: { ...rec.config.labels, signal: sig } });
  return rec;
}

/**
 * stop: the stop signal, then SIGKILL after the timeout (seconds), then the
 * cleanup (so the record says exited when stop returns, as Podman's does).
 */
export async function stopContainerRef(ctx: EngineContext, ref: string, timeout?: number): Promise<ContainerRecord> {
  const rec = requireContainer(ctx, ref);
  if (running(rec)) {
    const t = timeout ?? rec.config.stopTimeout ?? 10;
    ctx.containers.update(rec.id, (r) => {
      r.state.stoppedByUser = true;
      if (r.state.status === 'running') r.state.status = 'stopping';
    });
    const signal = normalizeSignal(rec.config.stopSignal ?? 'SIGTERM');
    if (t > 0) killContainer(ctx.runtimeRoot, rec.id, signal);
    if (!(await waitGone(ctx, rec.id, t * 1000))) {
      killContainer(ctx.runtimeRoot, rec.id, 'SIGKILL');
      if (!(await waitGone(ctx, rec.id, 5000)) && initAlive(rec)) {
        throw new EngineError(`container ${rec.id} did not stop after SIGKILL`);
      }
    }
  }
  await cleanupContainer(ctx, rec.id);
  recordContainerEvent(ctx, 'stop', rec);
  return rec;
}

export type WaitCondition = 'configured' | 'created' | 'exited' | 'paused' | 'running' | 'stopped' | 'healthy' | 'unhealthy';

function matches(rec: ContainerRecord, conditions: WaitCondition[]): boolean {
  const status: ContainerStatus = effectiveStatus(rec);
  return conditions.some((c) => {
    if (c === 'stopped' || c === 'exited') return status === 'exited' || (c === 'stopped' && status === 'created' && rec.state.exitCode !== undefined);
    if (c === 'configured' || c === 'created') return status === 'created';
    if (c === 'healthy' || c === 'unhealthy') return rec.state.health?.status === c;
    return status === c;
  });
}

/** wait: until a condition holds (default: stopped), then the exit code. */
export async function waitContainer(ctx: EngineContext, ref: string, conditions: WaitCondition[] = ['stopped'], intervalMs = 50): Promise<number> {
  const first = requireContainer(ctx, ref);
  for (;;) {
    const rec = ctx.containers.get(first.id);
    if (!rec) throw new EngineError(`no container with ID ${first.id} found in database: no such container`);
    if (matches(rec, conditions)) {
      if ((rec.state.status === 'running' || rec.state.status === 'stopping') && !isActive(rec)) {
        // Died with nobody watching (conmon killed): record it now.
        const done = await cleanupContainer(ctx, rec.id);
        return done.exitCode ?? rec.state.exitCode ?? -1;
      }
      return rec.state.exitCode ?? 0;
    }
    await sleep(intervalMs);
  }
}

export async function restartContainerRef(ctx: EngineContext, ref: string, timeout?: number): Promise<ContainerRecord> {
  const rec = await stopContainerRef(ctx, ref, timeout);
  const { startMonitored } = await import('./monitor');
  await startMonitored(ctx, rec.id);
  recordContainerEvent(ctx, 'restart', rec);
  return rec;
}
