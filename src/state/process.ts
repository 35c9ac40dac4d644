// Telling a live process from a recycled PID: its start time (field 22 of
// /proc/PID/stat) is recorded with its PID and compared later.
import { readFileSync } from 'node:fs';

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
