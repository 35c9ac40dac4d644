// Where a container's log is written (conmon's k8s-file) and the size limit
// from --log-opt max-size.
import { join } from 'node:path';
import type { ContainerRecord } from '../state/containers';
import type { EngineContext } from './context';
import { EngineError } from './errors';

export function logPathOf(ctx: EngineContext, rec: ContainerRecord): string {
  return rec.config.logOpts?.path ?? join(ctx.containers.containerDir(rec.id), 'ctr.log');
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, ki: 1024, kib: 1024, mi: 1 << 20, mib: 1 << 20, gi: 1 << 30, gib: 1 << 30 };

/** "10m", "512k", "1g" (Docker's units: decimal), undefined when absent. */
export function parseSize(text: string | undefined): number | undefined {
  if (text === undefined || text === '' || text === '-1') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new EngineError(`invalid size "${text}": use a number with an optional unit (b, k, m, g)`);
  return Math.floor(Number(m[1]) * unit);
}
