// `ps --filter` and `container prune --filter`: Podman's container filters.
// The same key given twice matches either value; different keys must all match.
import type { ContainerRecord } from '../state/containers';
import { EngineError } from './errors';
import { effectiveStatus } from './liveness';

export type ContainerFilter = (rec: ContainerRecord) => boolean;

const STATUSES = ['created', 'exited', 'paused', 'running', 'unknown', 'stopping', 'removing', 'configured', 'stopped'];

function labelMatch(labels: Record<string, string>, spec: string): boolean {
  const eq = spec.indexOf('=');
  if (eq < 0) return spec in labels;
  return labels[spec.slice(0, eq)] === spec.slice(eq + 1);
}

function one(key: string, value: string, now: Date): ContainerFilter {
  switch (key) {
    case 'id':
      return (r) => r.id.startsWith(value);
    case 'name': {
      let re: RegExp;
      try {
        re = new RegExp(value);
      } catch {
        throw new EngineError(`invalid filter "name=${value}": not a regular expression`);
      }
      return (r) => re.test(r.name);
    }
    case 'status': {
      if (!STATUSES.includes(value)) throw new EngineError(`${value} is not a valid status`);
      const want = value === 'stopped' ? 'exited' : value === 'configured' ? 'created' : value;
      return (r) => effectiveStatus(r) === want;
    }
    case 'label':
      return (r) => labelMatch(r.config.labels, value);
    case 'label!':
      return (r) => !labelMatch(r.config.labels, value);
    case 'ancestor': {
      const bare = value.replace(/^docker\.io\//, '').replace(/^library\//, '');
      return (r) => {
        const n = r.image.name;
        const withTag = (x: string) => (/:[^/]+$/.test(x) ? x : `${x}:latest`);
        return r.image.id.startsWith(value.replace(/^sha256:/, '')) || n === value || withTag(n).endsWith(`/${withTag(bare)}`) || withTag(n) === withTag(bare);
      };
    }
    case 'exited': {
      if (!/^-?\d+$/.test(value)) throw new EngineError(`invalid filter "exited=${value}": must be an exit code`);
      return (r) => effectiveStatus(r) === 'exited' && (r.state.exitCode ?? 0) === Number(value);
    }
    case 'health':
      return (r) => (r.state.health?.status ?? 'none') === value;
    case 'until': {
      const t = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value);
      if (Number.isNaN(t)) throw new EngineError(`invalid filter "until=${value}": not a time`);
      return (r) => Date.parse(r.created) <= t;
    }
    case 'since':
    case 'before':
      throw new EngineError(`filter ${key} needs a container reference: not supported yet`);
    default:
      void now;
      throw new EngineError(`invalid filter "${key}"`);
  }
}

/** Parses KEY=VALUE filters into one predicate. */
export function containerFilter(specs: string[], now = new Date()): ContainerFilter {
  const byKey = new Map<string, ContainerFilter[]>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new EngineError(`invalid filter "${spec}": use KEY=VALUE`);
    const key = spec.slice(0, eq);
    const list = byKey.get(key) ?? [];
    list.push(one(key, spec.slice(eq + 1), now));
    byKey.set(key, list);
  }
  const groups = [...byKey.values()];
  return (rec) => groups.every((g) => g.some((f) => f(rec)));
}
