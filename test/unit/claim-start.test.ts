// A start claims the container in its record before anything runs: until
// the runtime or conmon takes over, the starting process holds it, so that
// other processes see it as alive (no cleanup ends it, no second start).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { EngineContext } from '../../src/engine/context';
import { isActive } from '../../src/engine/liveness';
import { claimStart } from '../../src/engine/start';
import type { ContainerRecord } from '../../src/state/containers';

let dir: string;
let ctx: EngineContext;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'selkie-claim-'));
  ctx = new EngineContext({ graphRoot: join(dir, 'graph'), runRoot: join(dir, 'run') });
  ctx.ensureDirs();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('holds the container for the starting process until the runtime takes over', () => {
  const id = 'a'.repeat(64);
  ctx.containers.save({ id, name: 'c', created: '2026-01-01T00:00:00Z', state: { status: 'exited', exitCode: 0 }, config: {} } as unknown as ContainerRecord);
  const rec = claimStart(ctx, id);
  expect(rec.state.status).toBe('running');
  expect(rec.state.monitorPid).toBe(process.pid);
  expect(isActive(rec)).toBe(true);
  expect(() => claimStart(ctx, id)).toThrow('container c is already running');
});
