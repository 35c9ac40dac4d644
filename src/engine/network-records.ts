// The network records as the engine reads them (validated: state/networks.ts,
// in the extra bundle).  Kept apart from engine/networks.ts (the commands)
// so that engine/network-attach.ts can load it at start without a cycle.
import { join } from 'node:path';
import { resolveNetworkRef } from '../network/ref';
import { NetworkRecordError, NetworkStore, type NetworkRecord } from '../state/networks';
import type { EngineContext } from './context';
import { EngineError, NotFoundError } from './errors';

const stores = new WeakMap<EngineContext, NetworkStore>();

export function networkStore(ctx: EngineContext): NetworkStore {
  let s = stores.get(ctx);
  if (!s) stores.set(ctx, (s = new NetworkStore(ctx.paths.graphRoot)));
  return s;
}

export function listNetworks(ctx: EngineContext): NetworkRecord[] {
  return networkStore(ctx).list((err) => ctx.warn(err.message));
}

export function notFound(ref: string): NotFoundError {
  return new NotFoundError(`unable to find network with name or ID ${ref}: network not found`, 1);
}

/** A network by name, full ID or unique ID prefix (network/ref.ts), its record validated. */
export function requireNetwork(ctx: EngineContext, ref: string): NetworkRecord {
  const name = resolveNetworkRef(join(ctx.paths.graphRoot, 'networks'), ref);
  let rec: NetworkRecord | undefined;
  try {
    rec = name === undefined ? undefined : networkStore(ctx).get(name);
  } catch (err) {
    if (err instanceof NetworkRecordError) throw new EngineError(err.message);
    throw err;
  }
  if (!rec) throw notFound(ref);
  return rec;
}
