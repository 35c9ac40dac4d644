// How a command ends.  Our own output is written synchronously on Linux
// (files, pipes, TTYs), so once nothing is queued there is nothing to wait
// for: not the event loop winding down, nor Node's teardown (~10 ms), nor
// the kernel's teardown of this process (~4 ms).
//  - bin/selkie runs Node as its child and leaves as soon as Node writes the
//    exit code to SELKIE_EXIT_FD (native/launcher.c), so the caller does not
//    wait for the kernel; stdio is closed first, so that a caller reading
//    our output sees its end at the same time.
//  - with the addon loaded anyway (every command that touched storage), Node
//    leaves with _exit.
import { closeSync, fstatSync, writeSync } from 'node:fs';
import { native, nativeLoaded } from '../native/index';
import { warmCodeCache } from '../code-cache';

/** The launcher's pipe, taken from the environment once (children must not see it). */
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

/**
 * Whether output may still be waiting in process.stdout or stderr.  A stream
 * never made has nothing queued, and making one just to ask would load net
 * and the streams for a pipe (scripts/boot.cjs tells which were made).
 */
function outputQueued(): boolean {
  const made = (globalThis as { __selkieStdioMade?: { stdout: boolean; stderr: boolean } }).__selkieStdioMade;
  return (!made || made.stdout ? process.stdout.writableLength > 0 : false) || (!made || made.stderr ? process.stderr.writableLength > 0 : false);
}

export function exitWith(code: number): never {
  if (code === 0) warmCodeCache();
  // Not with flags such as --cpu-prof, whose output is written at teardown.
  const plain = process.execArgv.length === 0 && !process.env.SELKIE_WRITE_CODE_CACHE;
  if (!outputQueued()) {
    if (exitFd !== undefined && plain) {
      for (const fd of [0, 1, 2]) {
        try {
          closeSync(fd);
        } catch {
          /* not open */
        }
      }
      try {
        writeSync(exitFd, Buffer.from([code & 0xff]));
      } catch {
        /* the launcher is gone: nobody to tell */
      }
    }
    if (plain && nativeLoaded()) native().exit(code);
  }
  process.exit(code);
}
