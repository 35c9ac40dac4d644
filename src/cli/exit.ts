// How a command ends.  Our own output is written synchronously on Linux
// (files, pipes, TTYs), so once nothing is queued there is nothing to wait
// for: not the event loop winding down, nor Node's teardown (~10 ms).  Node
// leaves with _exit, from the small addon boot.cjs loads in every process
// (native/map-file.c).
import { warmCodeCache } from '../code-cache';

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
  const plain = !(globalThis as { __selkieOtherNodeFlags?: boolean }).__selkieOtherNodeFlags && !process.env.SELKIE_WRITE_CODE_CACHE;
  const quickExit = (globalThis as { __selkieQuickExit?: (code: number) => never }).__selkieQuickExit;
  if (plain && quickExit && !outputQueued()) quickExit(code);
  process.exit(code);
}
