// Healthchecks without a daemon: a tiny timer process (selkie-helper every)
// runs `selkie healthcheck run ID` at the container's interval for as long
// as the container's init process lives; each run execs the test in the
// container and records the outcome in the record, where inspect and ps read it.
import { spawn } from 'node:child_process';
import { helperPath, launcherPath } from '../native/index';
import type { ContainerRecord, HealthState } from '../state/containers';
import { recordContainerEvent } from '../state/events';
import type { EngineContext } from './context';
import { EngineError } from './errors';
import { execCaptured } from './exec';
import { effectiveStatus } from './liveness';
import { requireContainer } from './remove';

const KEEP_LOG = 5;

/** Applies one check's result: Docker's rules for the start period, streaks and retries. */
export function nextHealth(prev: HealthState | undefined, r: { exitCode: number; start: Date; end: Date; output: string }, o: { retries: number; inStartPeriod: boolean }): HealthState {
  const h: HealthState = prev ? { ...prev, log: [...prev.log] } : { status: 'starting', failingStreak: 0, log: [] };
  h.log.push({ start: r.start.toISOString(), end: r.end.toISOString(), exitCode: r.exitCode, output: r.output.slice(0, 4096) });
  if (h.log.length > KEEP_LOG) h.log.splice(0, h.log.length - KEEP_LOG);
  if (r.exitCode === 0) {
    h.status = 'healthy';
    h.failingStreak = 0;
  } else if (!o.inStartPeriod) {
    h.failingStreak++;
    if (h.failingStreak >= o.retries) h.status = 'unhealthy';
  }
  return h;
}

export function testArgs(test: string[]): string[] {
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', test.slice(1).join(' ')];
  if (test[0] === 'CMD') return test.slice(1);
  return test;
}

/** `healthcheck run`: one check now; returns the resulting status. */
export function runHealthcheck(ctx: EngineContext, ref: string): HealthState['status'] {
  const rec = requireContainer(ctx, ref);
  const hc = rec.config.healthcheck;
  if (!hc) throw new EngineError(`container ${rec.name} has no defined healthcheck`);
  if (effectiveStatus(rec) !== 'running') throw new EngineError(`container ${rec.name} is not running`);
  const start = new Date();
  const r = execCaptured(ctx, rec, testArgs(hc.test), hc.timeoutMs);
  const end = new Date();
  const inStartPeriod = !!rec.state.startedAt && end.getTime() - Date.parse(rec.state.startedAt) < hc.startPeriodMs;
  const output = r.code === -1 ? `healthcheck timed out after ${hc.timeoutMs} ms` : r.output;
  const updated = ctx.containers.update(rec.id, (cur) => {
    cur.state.health = nextHealth(cur.state.health, { exitCode: r.code === -1 ? 1 : r.code, start, end, output }, { retries: hc.retries, inStartPeriod });
  });
  const status = updated?.state.health?.status ?? 'unhealthy';
  if (updated) recordContainerEvent(ctx, 'health_status', updated, { healthStatus: status });
  return status;
}

/** Starts the container's healthcheck timer (after `crun start`). */
export function startHealthTimer(ctx: EngineContext, rec: ContainerRecord, pid: number, pidStart: string): void {
  const hc = rec.config.healthcheck;
  if (!hc || hc.intervalMs <= 0) return;
  const child = spawn(
    helperPath(),
    ['every', String(Math.round(hc.intervalMs)), String(pid), pidStart, launcherPath(), '--root', ctx.paths.graphRoot, '--runroot', ctx.paths.runRoot, 'healthcheck', 'run', rec.id],
    { stdio: 'ignore', detached: true },
  );
  child.on('error', () => undefined);
  child.unref();
}
