// What a container's record means now.  A record says "running" only while
// the container's monitor (conmon, or crun for a foreground run) or its init
// process is alive, each checked with its start time so that a recycled PID
// is not mistaken for it: a killed monitor does not hide a live container,
// and a container that died unobserved does not show as running.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRecord, ContainerStatus } from '../state/containers';
import { processStartTime } from '../state/process';

export { processStartTime };

export function monitorAlive(rec: ContainerRecord): boolean {
  const { monitorPid, monitorStart } = rec.state;
  return !!monitorPid && !!monitorStart && processStartTime(monitorPid) === monitorStart;
}

export function initAlive(rec: ContainerRecord): boolean {
  const { pid, pidStart } = rec.state;
  return !!pid && !!pidStart && processStartTime(pid) === pidStart;
}

/** Something of the container still runs: its init process, or a monitor that may still start it. */
export function isActive(rec: ContainerRecord): boolean {
  return initAlive(rec) || monitorAlive(rec);
}

/** The status to show: a "running" record with nothing alive behind it shows as exited. */
export function effectiveStatus(rec: ContainerRecord): ContainerStatus {
  const s = rec.state.status;
  if ((s === 'running' || s === 'stopping') && !isActive(rec)) return 'exited';
  if (s === 'stopping') return 'running';
  return s;
}

/** The container's init PID as the host sees it, while running. */
export function containerPid(rec: ContainerRecord, runDir: string): number {
  if (effectiveStatus(rec) !== 'running') return 0;
  if (rec.state.pid) return rec.state.pid;
  try {
    const pid = Number(readFileSync(join(runDir, 'pidfile'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}
