// Podman's --filter KEY=VALUE for listed records (volumes, networks): each
// kind names the keys it knows; all given filters must hold.
import { EngineError } from './errors';

export type FilterKeys<T> = Record<string, (value: string) => (item: T) => boolean>;

export function recordFilter<T>(filters: string[], keys: FilterKeys<T>): (item: T) => boolean {
  const tests = filters.map((f) => {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new EngineError(`invalid filter "${f}": use KEY=VALUE`);
    const key = f.slice(0, eq);
    if (!Object.hasOwn(keys, key)) throw new EngineError(`invalid filter "${key}": supported are ${Object.keys(keys).join(', ')}`);
    return keys[key](f.slice(eq + 1));
  });
  return (item) => tests.every((t) => t(item));
}

/** name=: a regular expression, or the literal text where it is not a valid one. */
export function namePattern(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch {
    return new RegExp(value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  }
}

/** label=KEY (present) or label=KEY=VALUE (equal). */
export function labelTest(value: string): (labels: Record<string, string> | undefined) => boolean {
  const eq = value.indexOf('=');
  if (eq < 0) return (labels) => value in (labels ?? {});
  const key = value.slice(0, eq);
  const want = value.slice(eq + 1);
  return (labels) => (labels ?? {})[key] === want;
}
