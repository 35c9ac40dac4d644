// User-defined networks as the engine offers them: create, list, inspect,
// remove, prune, connect and disconnect (Podman's `network` commands).
// The records are state/networks.ts's; the namespaces and addresses
// network/bridge.ts's.
import { join } from 'node:path';
import { attachBridge, deleteBridge, detachBridge, MAX_MTU, MIN_MTU } from '../network/bridge';
import { chooseSubnet, freeBridgeName, IpamError, ipToInt, isHostAddress, parseCidr, readHostRoutes } from '../network/ipam';
import { NAME_PATTERN, NAME_RULE, validName } from '../state/names';
import { publishedPorts } from '../network/config';
import { MAX_NETWORK_NAME } from '../network/ref';
import { NetworkSetupError } from '../network/setup';
import type { ContainerRecord } from '../state/containers';
import { DEFAULT_NETWORK, NetworkExistsError, type NetworkRecord } from '../state/networks';
import { randomHex } from '../state/random';
import type { EngineContext } from './context';
import { labelTest, namePattern, recordFilter } from './record-filter';
import { EngineError, InUseError, NotFoundError } from './errors';
import { isActive } from './liveness';
import { attachOptions, bridgePaths } from './network-attach';
import { listNetworks, networkStore, notFound, requireNetwork } from './network-records';

export { networkStore, notFound, requireNetwork };

/** Containers (of any state) configured to join the network. */
export function networkUsers(name: string, all: ContainerRecord[]): ContainerRecord[] {
  return all.filter((c) => c.config.network === 'bridge' && (c.config.networks ?? []).some((n) => n.name === name));
}

export interface CreateNetworkOptions {
  name?: string;
  driver?: string;
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  disableDns?: boolean;
  ignoreExisting?: boolean;
}

/** `-o KEY=VALUE` of network create: only `mtu` (without it, the interfaces get DEFAULT_BRIDGE_MTU). */
function bridgeOptions(given: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(given)) {
    if (k !== 'mtu') throw new EngineError(`unsupported bridge network option ${k}: invalid argument`);
    const mtu = Number(v);
    if (!/^\d+$/.test(v) || mtu < MIN_MTU || mtu > MAX_MTU) throw new EngineError(`invalid mtu ${JSON.stringify(v)}: must be a number from ${MIN_MTU} to ${MAX_MTU}: invalid argument`);
    out.mtu = String(mtu);
  }
  return out;
}

export function createNetwork(ctx: EngineContext, opts: CreateNetworkOptions): NetworkRecord {
  const driver = opts.driver ?? 'bridge';
  if (driver !== 'bridge') throw new EngineError(`unsupported driver ${driver}: only bridge networks are available rootless here: invalid argument`);
  const options = bridgeOptions(opts.options ?? {});
  const store = networkStore(ctx);
  ctx.ensureDirs();
  return store.locked(() => {
    const all = listNetworks(ctx);
    let name = opts.name;
    if (name === undefined) {
      // podman1, podman2, ... as Podman names them
      for (let i = 1; ; i++) if (!all.some((n) => n.name === `podman${i}`)) { name = `podman${i}`; break; }
    }
    if (!NAME_PATTERN.test(name)) throw new EngineError(`network name ${name} invalid: ${NAME_RULE}: invalid argument`);
    if (name.length > MAX_NETWORK_NAME) throw new EngineError(`network name ${name.slice(0, 20)}... invalid: names may have ${MAX_NETWORK_NAME} characters at most: invalid argument`);
    const existing = all.find((n) => n.name === name);
    if (existing) {
      if (opts.ignoreExisting) return existing;
      throw new EngineError(`network name ${name} already used: network already exists`);
    }
    let sub;
    try {
      sub = chooseSubnet([...all.map((n) => parseCidr(n.subnets[0].subnet)), ...readHostRoutes()], opts.subnet, opts.gateway);
    } catch (err) {
      if (err instanceof IpamError) throw new EngineError(err.message);
      throw err;
    }
    const rec: NetworkRecord = {
      name,
      id: randomHex(32),
      driver: 'bridge',
      network_interface: freeBridgeName(all.map((n) => n.network_interface)),
      created: new Date().toISOString(),
      subnets: [sub],
      ipv6_enabled: false,
      internal: !!opts.internal,
      dns_enabled: !opts.disableDns,
      labels: opts.labels ?? {},
      options,
      ipam_options: { driver: 'host-local' },
    };
    try {
      store.create(rec);
    } catch (err) {
      if (err instanceof NetworkExistsError) throw new EngineError(`network name ${name} already used: network already exists`);
      throw err;
    }
    return rec;
  });
}

/** Podman's Go field names, for --format templates of ls and inspect. */
export function networkView(n: NetworkRecord, truncate = false) {
  return {
    Name: n.name,
    ID: truncate ? n.id.slice(0, 12) : n.id,
    Driver: n.driver,
    NetworkInterface: n.network_interface,
    Created: n.created,
    Subnets: n.subnets.map((s) => ({ Subnet: s.subnet, Gateway: s.gateway })),
    IPv6Enabled: n.ipv6_enabled,
    Internal: n.internal,
    DNSEnabled: n.dns_enabled,
    Labels: n.labels ?? {},
    Options: n.options ?? {},
    IPAMOptions: n.ipam_options ?? {},
  };
}

/** Podman's network filters: name= (regexp), id= (prefix), label=KEY[=VALUE], driver=, dangling=. */
export function networkFilter(filters: string[], inUse: (name: string) => boolean = () => false): (n: NetworkRecord) => boolean {
  return recordFilter<NetworkRecord>(filters, {
    name: (value) => {
      const re = namePattern(value);
      return (n) => re.test(n.name);
    },
    id: (value) => (n) => n.id.startsWith(value),
    label: (value) => {
      const has = labelTest(value);
      return (n) => has(n.labels);
    },
    driver: (value) => (n) => n.driver === value,
    dangling: (value) => (n) => !inUse(n.name) === (value === 'true'),
  });
}

export function listFiltered(ctx: EngineContext, filters: string[]): NetworkRecord[] {
  const all = ctx.containers.list();
  const keep = networkFilter(filters, (name) => networkUsers(name, all).length > 0);
  return listNetworks(ctx).filter(keep);
}

/** A removed network's bridge goes from the rootless netns (its name may be given to the next network). */
function dropBridge(ctx: EngineContext, net: NetworkRecord): void {
  try {
    deleteBridge(bridgePaths(ctx), net.network_interface);
  } catch (err) {
    if (err instanceof NetworkSetupError) ctx.warn(err.message);
    else throw err;
  }
}

/** Removes a network; in use: refused (exit 2) unless force, which removes the containers first. */
export async function removeNetwork(ctx: EngineContext, ref: string, force: boolean): Promise<string> {
  const net = requireNetwork(ctx, ref);
  if (net.name === DEFAULT_NETWORK) throw new EngineError(`default network ${DEFAULT_NETWORK} cannot be removed`);
  const users = networkUsers(net.name, ctx.containers.list());
  const inUse = () => new InUseError(`"${net.name}" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used`);
  if (users.length && !force) throw inUse();
  if (users.length) {
    const { removeContainer } = await import('./remove');
    for (const c of users) await removeContainer(ctx, c.id, true);
  }
  networkStore(ctx).locked(() => {
    if (networkUsers(net.name, ctx.containers.list()).length) throw inUse();
    networkStore(ctx).remove(net.name);
    dropBridge(ctx, net);
  });
  return net.name;
}

/** Removes every stored network no container is configured to join; returns their names. */
export function pruneNetworks(ctx: EngineContext, filters: string[]): string[] {
  const keep = networkFilter(filters);
  const removed: string[] = [];
  networkStore(ctx).locked(() => {
    const all = ctx.containers.list();
    for (const n of networkStore(ctx).stored((err) => ctx.warn(err.message))) {
      if (!keep(n) || networkUsers(n.name, all).length) continue;
      networkStore(ctx).remove(n.name);
      removed.push(n.name);
      dropBridge(ctx, n);
    }
  });
  return removed;
}

function requireContainer(ctx: EngineContext, ref: string): ContainerRecord {
  const c = ctx.containers.lookup(ref);
  if (!c) throw new NotFoundError(`no container with name or ID "${ref}" found: no such container`);
  return c;
}

function running(c: ContainerRecord): boolean {
  return (c.state.status === 'running' || c.state.status === 'stopping') && !!c.state.networks && isActive(c);
}

/** connect's --alias and --ip, checked before they go into the config (and from there into hosts files and scripts). */
export function checkConnectOptions(net: NetworkRecord, opts: { aliases?: string[]; ip?: string }): void {
  for (const a of opts.aliases ?? []) if (!validName(a)) throw new EngineError(`invalid alias ${JSON.stringify(a)}: ${NAME_RULE}: invalid argument`);
  if (opts.ip !== undefined) {
    const { subnet, gateway } = net.subnets[0];
    if (ipToInt(opts.ip) === undefined) throw new EngineError(`invalid IP address ${JSON.stringify(opts.ip)}: use an IPv4 address: invalid argument`);
    if (!isHostAddress(subnet, opts.ip) || opts.ip === gateway) throw new EngineError(`requested ip address ${opts.ip} is not a host address of subnet ${subnet} of network ${net.name}: invalid argument`);
  }
}

/**
 * Joins a container to a network: its config changes (what the next start
 * gets), and a running container gets the interface now.
 */
export async function connectNetwork(ctx: EngineContext, netRef: string, ctrRef: string, opts: { aliases?: string[]; ip?: string } = {}): Promise<void> {
  const net = requireNetwork(ctx, netRef);
  const ctr = requireContainer(ctx, ctrRef);
  if (ctr.config.network !== 'bridge') throw new EngineError(`"${ctr.config.network}" is not supported: invalid network mode: only containers on bridge networks can be connected`);
  if ((ctr.config.networks ?? []).some((n) => n.name === net.name)) throw new EngineError(`container ${ctr.id} is already connected to network "${net.name}": network is already connected`);
  checkConnectOptions(net, opts);
  const attach = { name: net.name, ...(opts.aliases?.length ? { aliases: opts.aliases } : {}), ...(opts.ip ? { ip: opts.ip } : {}) };
  ctx.containers.update(ctr.id, (r) => {
    r.config.networks = [...(r.config.networks ?? []).filter((n) => n.name !== net.name), attach];
  });
  if (!running(ctr)) return;
  const runDir = ctx.runDir(ctr.id);
  try {
    const addresses = await attachBridge(
      bridgePaths(ctx),
      { id: ctr.id, name: ctr.name, hostname: ctr.config.hostname, addHosts: ctr.config.addHosts, runDir, netnsFile: join(runDir, 'netns') },
      [{ net, aliases: opts.aliases ?? [], ip: opts.ip }],
      attachOptions(ctx, 'connect', () => listNetworks(ctx)),
    );
    ctx.containers.update(ctr.id, (r) => {
      r.state.networks = addresses;
    });
  } catch (err) {
    ctx.containers.update(ctr.id, (r) => {
      r.config.networks = (r.config.networks ?? []).filter((n) => n.name !== net.name);
    });
    if (err instanceof NetworkSetupError) throw new EngineError(err.message);
    throw err;
  }
}

/** Leaves a network: the config changes, and a running container loses the interface now. */
export function disconnectNetwork(ctx: EngineContext, netRef: string, ctrRef: string): void {
  const net = requireNetwork(ctx, netRef);
  const ctr = requireContainer(ctx, ctrRef);
  if (ctr.config.network !== 'bridge' || !(ctr.config.networks ?? []).some((n) => n.name === net.name)) {
    throw new EngineError(`container ${ctr.id} is not connected to network ${net.name}: network is not connected`);
  }
  const live = running(ctr);
  // the port forwarder connects to the address on the first network (fixed at start)
  if (live && ctr.state.networks?.[0]?.name === net.name && publishedPorts(ctr).length) {
    throw new EngineError(`cannot disconnect ${ctr.name} from ${net.name} while it runs: its published ports are forwarded to its address on that network (its first); stop the container first`);
  }
  ctx.containers.update(ctr.id, (r) => {
    r.config.networks = (r.config.networks ?? []).filter((n) => n.name !== net.name);
  });
  if (!live) return;
  const kept = detachBridge(bridgePaths(ctx), ctr.id, [net.name], true);
  ctx.containers.update(ctr.id, (r) => {
    r.state.networks = kept;
  });
}
