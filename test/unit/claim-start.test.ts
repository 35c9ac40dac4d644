// A start claims the container in its record before anything runs: until
// the runtime or conmon takes over, the starting process holds it, so that
// other processes see it as alive (no cleanup ends it, no second start).
import { expect, it } from 'vitest';
import { isActive } from '../../src/engine/liveness';
import { claimStart } from '../../src/engine/start';
import type { ContainerRecord } from '../../src/state/containers';
import { useTempEngine } from './temp-engine';

const engine = useTempEngine('selkie-claim-');

it('holds the container for the starting process until the runtime takes over', () => {
  const ctx = engine();
  const id = 'a'.repeat(64);
  ctx.containers.save({ id, name: 'c', created: '2026-01-01T00:00:00Z', state: { status: 'exited', exitCode: 0 }, config: {} } as unknown as ContainerRecord);
  const rec = claimStart(ctx, id);
  expect(rec.state.status).toBe('running');
  expect(rec.state.monitorPid).toBe(process.pid);
  expect(isActive(rec)).toBe(true);
  expect(() => claimStart(ctx, id)).toThrow('container c is already running');
});
