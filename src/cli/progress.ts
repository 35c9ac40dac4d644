// Pull progress: one bar per layer on a terminal (cli-progress), nothing
// otherwise (scripts read only the image ID from stdout).
import type { PullProgress } from '../engine/pull';
import { humanSize } from './units';
import { isTerminal } from './terminal';

export async function terminalProgress(): Promise<PullProgress | undefined> {
  if (!isTerminal(2)) return undefined;
  const { MultiBar, Presets } = await import('cli-progress');
  let bars: InstanceType<typeof MultiBar> | undefined;
  return {
    start(ref) {
      process.stderr.write(`Trying to pull ${ref}...\n`);
      bars = new MultiBar(
        {
          stream: process.stderr,
          format: 'Copying blob {id} [{bar}] {done} / {total}',
          hideCursor: true,
          clearOnComplete: false,
          autopadding: true,
          formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? humanSize(v) : String(v)),
        },
        Presets.legacy,
      );
    },
    layer(digest, size) {
      const bar = bars?.create(size, 0, { id: digest.slice(7, 19), done: humanSize(0), total: humanSize(size) });
      let done = 0;
      return {
        advance(bytes) {
          done += bytes;
          bar?.update(done, { done: humanSize(done) });
        },
        done(skipped) {
          bar?.update(size, { done: skipped ? 'skipped: already exists' : humanSize(size) });
        },
      };
    },
    finish() {
      bars?.stop();
      process.stderr.write('Writing manifest to image destination\n');
    },
  };
}
