// SELKIE_TRACE=1: timestamps of the phases of a command on stderr, to see
// where start-up time goes (ms since the Node process started).
const enabled = !!process.env.SELKIE_TRACE;

export function trace(label: string): void {
  if (enabled) process.stderr.write(`[trace] ${(process.uptime() * 1000).toFixed(1).padStart(7)} ms  ${label}\n`);
}
