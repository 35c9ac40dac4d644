// SELKIE_TRACE=1: timestamps of the phases of a command on stderr, to see
// where start-up time goes (ms since the Node process started).  Written
// with writeSync: making process.stderr loads the streams (~10 ms), which
// would land in whichever phase traced first.  SELKIE_TRACE=modules also
// names the built-in modules each phase loaded.
import { writeSync } from 'node:fs';

const enabled = !!process.env.SELKIE_TRACE;
const modules = process.env.SELKIE_TRACE === 'modules';
// Shared by both bundles, which each hold a copy of this module.
const state = globalThis as { __selkieTraceSeen?: number };

export function trace(label: string): void {
  if (!enabled) return;
  let loaded = '';
  if (modules) {
    // process.moduleLoadList: Node's record of the internal modules loaded so far, in order.
    const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
    const fresh = list.slice(state.__selkieTraceSeen ?? 0).filter((m) => m.startsWith('NativeModule '));
    state.__selkieTraceSeen = list.length;
    if (fresh.length) loaded = `  [${fresh.map((m) => m.slice(13)).join(' ')}]`;
  }
  writeSync(2, `[trace] ${(process.uptime() * 1000).toFixed(1).padStart(7)} ms  ${label}${loaded}\n`);
}
