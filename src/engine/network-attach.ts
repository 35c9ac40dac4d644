// A container's bridge networks at start and stop.  Kept apart from
// engine/networks.ts (the commands) and engine/network-records.ts (the
// records, validated with zod in the extra bundle, loaded here only at start):
// stopping, cleaning up and removing containers of every kind come through
// releaseContainerNetwork, which must stay light.
import { join } from 'node:path';
import { attachBridge, detachBridge, rootlessNetnsPath, type AttachOptions, type BridgePaths } from '../network/bridge';
import { forwardRules, startForwarder, stopForwarder } from '../network/forwarder';
import { resolveNetworkRef } from '../network/ref';
import type { NetworkRecord } from '../state/networks';
import { claimHostPorts, PortSpecError } from '../network/ports';
import { resolvConf } from '../network/resolv';
import { hostResolv, needsNetns, NetworkSetupError, PASTA_DNS, teardownNetwork, type NetworkAttachment } from '../network/setup';
import type { ContainerRecord, NetworkAddress } from '../state/containers';
import type { EngineContext } from './context';
import { EngineError } from './errors';
import { isActive } from './liveness';

export function bridgePaths(ctx: EngineContext): BridgePaths {
  return { graphRoot: ctx.paths.graphRoot, runRoot: ctx.paths.runRoot };
}

/** Whether a container recorded in the address allocations still runs: its record says so and its process is alive. */
export function containerLive(ctx: EngineContext, id: string): boolean {
  const r = ctx.containers.get(id);
  return !!r && (r.state.status === 'running' || r.state.status === 'stopping') && isActive(r);
}

/**
 * The name of the network a --network value means (name, ID or unique ID
 * prefix: network/ref.ts, as requireNetwork), read without validating the
 * records (that is start's job, in the extra bundle): create stays light.
 * undefined: no such network; an ambiguous ID prefix is an error.
 */
export function resolveNetworkName(ctx: EngineContext, ref: string): string | undefined {
  return resolveNetworkRef(join(ctx.paths.graphRoot, 'networks'), ref);
}

/** Options of attachBridge; allNetworks: every record (the nft table covers them all). */
export function attachOptions(ctx: EngineContext, mode: 'start' | 'connect', allNetworks: () => NetworkRecord[]): AttachOptions {
  return {
    mode,
    allNetworks,
    isLive: (id) => containerLive(ctx, id),
    pastaOptions: async () => {
      const { networkConf } = await import('../config/containers-conf');
      return (await networkConf(ctx.warn)).pasta_options ?? [];
    },
  };
}

/**
 * Attaches a starting container to its bridge networks (see
 * network/bridge.ts).  On failure the caller's cleanup (prepare's) releases
 * whatever was made.
 */
export async function attachContainerNetworks(ctx: EngineContext, rec: ContainerRecord): Promise<NetworkAttachment & { addresses: NetworkAddress[] }> {
  const runDir = ctx.runDir(rec.id);
  const { requireNetwork, listNetworks } = await import('./network-records');
  const joins = (rec.config.networks ?? []).map((a) => ({ net: requireNetwork(ctx, a.name), aliases: a.aliases ?? [], ip: a.ip }));
  let addresses: NetworkAddress[];
  try {
    addresses = await attachBridge(
      bridgePaths(ctx),
      { id: rec.id, name: rec.name, hostname: rec.config.hostname, addHosts: rec.config.addHosts, runDir, netnsFile: join(runDir, 'netns') },
      joins,
      attachOptions(ctx, 'start', () => listNetworks(ctx)),
    );
  } catch (err) {
    if (err instanceof NetworkSetupError) throw new EngineError(err.message);
    throw err;
  }
  let ports = rec.config.ports ?? [];
  if (ports.length) {
    try {
      ports = await claimHostPorts(ports);
      if (!addresses.length) throw new EngineError('cannot publish ports: the container is on no network');
      // as Podman's rootlessport: to the address on the first network, from the rootless netns
      await startForwarder(runDir, rootlessNetnsPath(bridgePaths(ctx)), forwardRules(ports, addresses[0].ip));
    } catch (err) {
      if (err instanceof PortSpecError) throw new EngineError(err.message);
      throw err;
    }
  }
  const c = rec.config;
  const resolv = resolvConf({ host: hostResolv(), networkNameservers: [PASTA_DNS], dns: c.dns, dnsSearch: c.dnsSearch, dnsOption: c.dnsOption });
  return { netnsPath: join(runDir, 'netns'), ports, resolv, addresses };
}

/**
 * Undoes a container's network on every exit path (prepare's cleanup,
 * `container cleanup`, rm): its bridge addresses are released (and the
 * rootless netns with the last one), then its own netns and helpers go.
 * Idempotent.  May run while the container store's lock is held.
 */
export function releaseContainerNetwork(ctx: EngineContext, rec: Pick<ContainerRecord, 'id' | 'config'>): void {
  const runDir = ctx.runDir(rec.id);
  if (rec.config.network === 'bridge') {
    stopForwarder(runDir);
    detachBridge(bridgePaths(ctx), rec.id);
  }
  if (needsNetns(rec.config.network)) teardownNetwork(runDir);
}
