// An engine context over fresh storage directories, made before each test of
// the file that calls it and removed after (for unit tests of the stores).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { EngineContext } from '../../src/engine/context';

export function useTempEngine(prefix: string): () => EngineContext {
  let dir: string;
  let ctx: EngineContext;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    ctx = new EngineContext({ graphRoot: join(dir, 'graph'), runRoot: join(dir, 'run') });
    ctx.ensureDirs();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  return () => ctx;
}
