// Which network a name or ID means: one resolver for the `network` commands
// and start (engine/network-records.ts requireNetwork, which then validates
// the record) and for create's --network check (engine/network-attach.ts
// resolveNetworkName, which must stay light: the records are read here as
// plain JSON, not through state/networks.ts in the extra bundle).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NAME_PATTERN } from '../state/names';

export const DEFAULT_NETWORK = 'podman';
/** fixed, as the default network's is in Podman */
export const DEFAULT_NETWORK_ID = '5e1c1e' + '0'.repeat(57) + '1';

/**
 * Longest network name: NAME.json and its temporary file while written
 * (NAME.json.PID.N.tmp) must fit in a file name (255 bytes).  Podman sets
 * no limit of its own that we know of.
 */
export const MAX_NETWORK_NAME = 200;

export class AmbiguousNetworkError extends Error {
  constructor(ref: string) {
    super(`more than one network matches "${ref}": use a longer ID`);
  }
}

/**
 * The name of the network REF means in DIR (<graphRoot>/networks): a name,
 * else a full ID or an ID prefix of any length (as Podman), which must be
 * unique (AmbiguousNetworkError).  undefined: no such network.  A file
 * that is not JSON is skipped here (it is reported when used by name).
 */
export function resolveNetworkRef(dir: string, ref: string): string | undefined {
  if (ref === DEFAULT_NETWORK) return ref;
  if (!NAME_PATTERN.test(ref) || ref.length > MAX_NETWORK_NAME) return undefined;
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
  } catch {
    files = [];
  }
  if (files.includes(`${ref}.json`)) return ref;
  if (!/^[0-9a-f]{1,64}$/.test(ref)) return undefined;
  const hits: string[] = DEFAULT_NETWORK_ID.startsWith(ref) ? [DEFAULT_NETWORK] : [];
  for (const f of files) {
    try {
      const rec = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { id?: unknown };
      if (typeof rec.id === 'string' && rec.id.startsWith(ref)) hits.push(f.slice(0, -5));
    } catch {
      /* an invalid record is reported when used */
    }
  }
  if (hits.length > 1) throw new AmbiguousNetworkError(ref);
  return hits[0];
}
