// Which events `events --filter` lets through, with Podman's rules: filters
// with the same key are alternatives (any may match), different keys must all
// match; container=, image=, pod= take a name or a prefix of the ID.
import type { SelkieEvent } from '../state/events';
import { EngineError } from './errors';

type Match = (e: SelkieEvent) => boolean;

export interface EventFilters {
  /** key -> alternatives */
  byKey: Map<string, Match[]>;
  /** strictly after / strictly before, in nanoseconds */
  since?: bigint;
  until?: bigint;
}

const byNameOrId = (type: string, v: string): Match => (e) => e.type === type && (e.name === v || (!!e.id && e.id.startsWith(v)));

function matcher(key: string, value: string): Match {
  switch (key) {
    case 'container':
      return byNameOrId('container', value);
    case 'image':
      return byNameOrId('image', value);
    case 'pod':
      return byNameOrId('pod', value);
    case 'volume':
      return (e) => e.type === 'volume' && !!e.name && e.name.startsWith(value);
    case 'network':
      return (e) => e.type === 'network' && (e.network === value || e.name === value || (!!e.id && e.id.startsWith(value)));
    case 'event':
    case 'status': {
      const status = value === 'die' ? 'died' : value; // Docker's name for it
      return (e) => e.status === status;
    }
    case 'type':
      return (e) => e.type === value;
    case 'label': {
      const eq = value.indexOf('=');
      const k = eq < 0 ? value : value.slice(0, eq);
      const v = eq < 0 ? undefined : value.slice(eq + 1);
      return (e) => !!e.attributes && Object.hasOwn(e.attributes, k) && (v === undefined || e.attributes[k] === v);
    }
  }
  throw new EngineError(`${key} is an invalid filter`);
}

/** Parses KEY=VALUE filters (since= and until= are the caller's: they need the time parser). */
export function parseEventFilters(filters: string[]): EventFilters {
  const byKey = new Map<string, Match[]>();
  for (const f of filters) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new EngineError(`${f} is an invalid filter`);
    let key = f.slice(0, eq).toLowerCase();
    const m = matcher(key, f.slice(eq + 1));
    if (key === 'status') key = 'event'; // two names for one key
    byKey.set(key, [...(byKey.get(key) ?? []), m]);
  }
  return { byKey };
}

export function matchEvent(f: EventFilters, e: SelkieEvent): boolean {
  if (f.since !== undefined && e.time <= f.since) return false;
  if (f.until !== undefined && e.time >= f.until) return false;
  for (const alternatives of f.byKey.values()) {
    if (!alternatives.some((m) => m(e))) return false;
  }
  return true;
}
