// The PID files of the network helpers a container's run directory holds
// (pasta, slirp4netns, the port forwarder), and stopping them safely: a PID
// is signalled only while /proc/PID/cmdline still names that run directory,
// so a recycled PID of someone else's process is never hit.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export function helperPidFile(runDir: string, name: string): string {
  return join(runDir, `${name}.pid`);
}

/** Whether one of the arguments in CMDLINE (/proc/PID/cmdline) is runDir or a path below it. */
export function namesRunDir(cmdline: string, runDir: string): boolean {
  return cmdline.split('\0').some((arg) => arg === runDir || arg.startsWith(`${runDir}/`));
}

/** Stops the helper whose PID file is RUNDIR/NAME.pid, if that PID is still ours, and removes the file.  Idempotent. */
export function stopHelper(runDir: string, name: string): void {
  const file = helperPidFile(runDir, name);
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return;
  }
  if (Number.isInteger(pid) && pid > 1) {
    try {
      if (namesRunDir(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), runDir)) process.kill(pid, 'SIGTERM');
    } catch {
      /* gone already */
    }
  }
  rmSync(file, { force: true });
}
