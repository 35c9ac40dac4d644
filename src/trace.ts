// SELKIE_TRACE=1: timestamps of the phases of a command on stderr, to see
// where start-up time goes (ms since the Node process started).  Written
// with writeSync: making process.stderr loads the streams (~10 ms), which
// would land in whichever phase traced first.
import { writeSync } from 'node:fs';

const enabled = !!process.env.SELKIE_TRACE;

export function trace(label: string): void {
  if (enabled) writeSync(2, `[trace] ${(process.uptime() * 1000).toFixed(1).padStart(7)} ms  ${label}\n`);
}
