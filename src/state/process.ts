// Telling a live process from a recycled PID: its start time (field 22 of
// /proc/PID/stat) is recorded with its PID and compared later.
import { readFileSync } from 'node:fs';

/** undefined when the process is gone or a zombie (dead, waiting to be reaped). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}
