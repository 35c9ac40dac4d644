// What a container's record means now: a record says "running" only as long
// as the process that waits for it is alive (checked with its start time, so
// a recycled PID is not mistaken for it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRecord, ContainerStatus } from '../state/containers';
import { processStartTime } from '../state/process';

export { processStartTime };

export function monitorAlive(rec: ContainerRecord): boolean {
  const { monitorPid, monitorStart } = rec.state;
  return !!monitorPid && processStartTime(monitorPid) === monitorStart;
}

/** The status to show: a "running" record whose monitor died shows as exited. */
export function effectiveStatus(rec: ContainerRecord): ContainerStatus {
  if (rec.state.status === 'running' && !monitorAlive(rec)) return 'exited';
  return rec.state.status;
}

/** The container's init PID as the host sees it (crun's pid file), while running. */
export function containerPid(rec: ContainerRecord, runDir: string): number {
  if (effectiveStatus(rec) !== 'running') return 0;
  try {
    const pid = Number(readFileSync(join(runDir, 'pidfile'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}
