// The network part of a container's config, from --network, -p, -P,
// --expose and --dns*: validated at create so that a bad flag fails there.
import type { ContainerConfig } from '../state/containers';
import { NAME_RULE, validName } from '../state/names';
import { ipToInt } from './ipam';
import { defaultNetworkCmd, NetworkModeError, parseNetworkFlags } from './mode';
import { duplicateHostPort, mergeMappings, parsePublish, PortSpecError, publishAll, type PortMapping } from './ports';

export interface NetworkFlags {
  /** --network, possibly repeated */
  network?: string | string[];
  /** --network-alias (every bridge network the container joins) */
  networkAlias?: string[];
  /** --ip (one bridge network) */
  ip?: string;
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
}

export class NetworkFlagError extends Error {}

type NetworkPart = Pick<ContainerConfig, 'network' | 'networks' | 'networkOptions' | 'networkContainer' | 'ports' | 'exposedPorts' | 'dns' | 'dnsSearch' | 'dnsOption'>;

export function networkConfig(
  flags: NetworkFlags,
  imageExposed: Record<string, unknown> | null | undefined,
  warn: (msg: string) => void = () => undefined,
): NetworkPart {
  let mode;
  try {
    const values = flags.network === undefined ? [] : Array.isArray(flags.network) ? flags.network : [flags.network];
    mode = parseNetworkFlags(values, defaultNetworkCmd);
  } catch (err) {
    if (err instanceof NetworkModeError) throw new NetworkFlagError(err.message);
    throw err;
  }
  if (mode.kind === 'bridge') {
    const nets = mode.networks!;
    if (flags.ip !== undefined) {
      if (nets.length !== 1) throw new NetworkFlagError('--ip can only be used with a single network');
      if (ipToInt(flags.ip) === undefined) throw new NetworkFlagError(`--ip ${flags.ip}: not an IPv4 address`);
      nets[0].ip = flags.ip;
    }
    for (const alias of flags.networkAlias ?? []) {
      if (!validName(alias)) throw new NetworkFlagError(`--network-alias ${JSON.stringify(alias)}: not a valid name: ${NAME_RULE}`);
      for (const n of nets) if (!(n.aliases ??= []).includes(alias)) n.aliases.push(alias);
    }
  } else {
    if (flags.ip !== undefined) throw new NetworkFlagError('--ip can only be used with a bridge network');
    if (flags.networkAlias?.length) throw new NetworkFlagError('--network-alias can only be used with a bridge network');
  }
  const exposed = [...Object.keys(imageExposed ?? {})];
  for (const e of flags.expose ?? []) {
    if (!/^\d+(-\d+)?(\/(tcp|udp))?$/.test(e)) throw new NetworkFlagError(`invalid --expose "${e}": use PORT[-PORT][/PROTOCOL]`);
    const key = e.includes('/') ? e : `${e}/tcp`;
    if (!exposed.includes(key)) exposed.push(key);
  }
  let ports: PortMapping[] = [];
  try {
    for (const p of flags.publish ?? []) ports.push(...parsePublish(p));
  } catch (err) {
    if (err instanceof PortSpecError) throw new NetworkFlagError(err.message);
    throw err;
  }
  if (flags.publishAll) ports = mergeMappings(ports, publishAll(exposed));
  const dup = duplicateHostPort(ports);
  if (dup) throw new NetworkFlagError(`host port ${dup.hostPort}/${dup.protocol} is published twice`);
  if (ports.length && mode.kind !== 'pasta' && mode.kind !== 'slirp4netns' && mode.kind !== 'bridge') {
    // Podman and Docker discard them with a warning (scripts pass -p with --network host).
    if (flags.publish?.length) warn(`Port mappings have been discarded as one of the Host, Container, Pod, and None network modes are in use`);
    ports = [];
  }
  const out: NetworkPart = { network: mode.kind };
  if (mode.options.length) out.networkOptions = mode.options;
  if (mode.container) out.networkContainer = mode.container;
  if (mode.networks) out.networks = mode.networks;
  if (ports.length) out.ports = ports;
  if (exposed.length) out.exposedPorts = exposed;
  if (flags.dns?.length) out.dns = flags.dns;
  if (flags.dnsSearch?.length) out.dnsSearch = flags.dnsSearch;
  if (flags.dnsOption?.length) out.dnsOption = flags.dnsOption;
  return out;
}

/** The ports a container publishes: as bound at its last start, else as asked. */
export function publishedPorts(rec: { config: Pick<ContainerConfig, 'ports'>; state: { ports?: PortMapping[] } }): PortMapping[] {
  return rec.state.ports ?? rec.config.ports ?? [];
}
