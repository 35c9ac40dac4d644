// The pipe to bin/selkie (native/launcher.c), which runs Node as its child:
// through it Node reports its exit code before it exits, so the launcher
// (the process the caller waits for) leaves at once while the kernel still
// tears Node down.
import { closeSync, fstatSync, writeSync } from 'node:fs';

/** Taken from the environment once: children must not see it. */
const exitFd = (() => {
  const text = process.env.SELKIE_EXIT_FD;
  delete process.env.SELKIE_EXIT_FD;
  const fd = Number(text);
  if (!text || !Number.isInteger(fd) || fd < 3) return undefined;
  try {
    return fstatSync(fd).isFIFO() ? fd : undefined;
  } catch {
    return undefined;
  }
})();

/** Closed before reporting, so that a caller reading our output sees its end as the launcher leaves. */
function closeStdio(): void {
  for (const fd of [0, 1, 2]) {
    try {
      closeSync(fd);
    } catch {
      /* not open */
    }
  }
}

/** Tells the launcher the exit code (only once all output is written: stdio is closed). */
export function reportExitCode(code: number): void {
  if (exitFd === undefined) return;
  closeStdio();
  try {
    writeSync(exitFd, Buffer.from([code & 0xff]));
  } catch {
    /* the launcher is gone: nobody to tell */
  }
}
