// --network values: which network a container gets and with what options.
// Pure; the default rootless command follows containers.conf's
// default_rootless_network_cmd (pasta, or slirp4netns where pasta is absent).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { containersConfFiles } from '../config/containers-conf';
import { ipToInt } from './ipam';
import { NAME_RULE, validName } from '../state/names';

export type NetworkKind = 'none' | 'host' | 'pasta' | 'slirp4netns' | 'container' | 'bridge';

/** One user-defined (bridge) network a container joins. */
export interface NetworkAttach {
  name: string;
  /** --network-alias, or NAME:alias=A */
  aliases?: string[];
  /** --ip, or NAME:ip=A */
  ip?: string;
}

export interface NetworkMode {
  kind: NetworkKind;
  /** pasta's extra arguments, or slirp4netns's key=value options */
  options: string[];
  /** container:NAME|ID */
  container?: string;
  /** kind bridge: the networks, the first one gives the default route */
  networks?: NetworkAttach[];
}


/** NAME[:ip=A,alias=B,...] of a bridge network ("bridge" is the default network, podman). */
function bridgeAttach(name: string, opts: string[], text: string): NetworkAttach {
  const a: NetworkAttach = { name: name === 'bridge' ? 'podman' : name };
  for (const o of opts) {
    const eq = o.indexOf('=');
    const k = eq < 0 ? o : o.slice(0, eq);
    const v = eq < 0 ? '' : o.slice(eq + 1);
    if (k === 'alias' && validName(v)) {
      if (!(a.aliases ??= []).includes(v)) a.aliases.push(v);
    } else if (k === 'ip' && ipToInt(v) !== undefined) a.ip = v;
    else if (k === 'alias') throw new NetworkModeError(`--network ${text}: invalid alias ${JSON.stringify(v)}: ${NAME_RULE}`);
    else throw new NetworkModeError(`--network ${text}: unknown or invalid option "${o}" (ip=IPV4, alias=NAME)`);
  }
  return a;
}

export class NetworkModeError extends Error {}

const SLIRP_OPTIONS = new Set(['allow_host_loopback', 'cidr', 'enable_ipv6', 'mtu', 'outbound_addr', 'outbound_addr6', 'port_handler']);

export function parseNetworkMode(text: string, defaultCmd: 'pasta' | 'slirp4netns' | (() => 'pasta' | 'slirp4netns')): NetworkMode {
  // The default is looked up (containers.conf) only when it is the answer.
  if (text === '' || text === 'default' || text === 'private') return { kind: typeof defaultCmd === 'function' ? defaultCmd() : defaultCmd, options: [] };
  if (text === 'none' || text === 'host') return { kind: text, options: [] };
  if (text.startsWith('container:')) {
    const ref = text.slice('container:'.length);
    if (!ref) throw new NetworkModeError('--network container: needs a container name or ID');
    return { kind: 'container', options: [], container: ref };
  }
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const opts = colon < 0 ? [] : text.slice(colon + 1).split(',').filter(Boolean);
  if (name === 'pasta') return { kind: 'pasta', options: opts };
  if (name === 'slirp4netns') {
    for (const o of opts) {
      const [k, v] = o.split('=');
      if (!SLIRP_OPTIONS.has(k) || v === undefined) throw new NetworkModeError(`--network slirp4netns: unknown option "${o}"`);
      if (k === 'port_handler' && v !== 'slirp4netns' && v !== 'rootlessport') {
        throw new NetworkModeError(`--network slirp4netns: port_handler must be rootlessport or slirp4netns`);
      }
      if ((k === 'allow_host_loopback' || k === 'enable_ipv6') && v !== 'true' && v !== 'false') {
        throw new NetworkModeError(`--network slirp4netns: ${k} must be true or false`);
      }
    }
    return { kind: 'slirp4netns', options: opts };
  }
  if (validName(name)) return { kind: 'bridge', options: [], networks: [bridgeAttach(name, opts, text)] };
  throw new NetworkModeError(`--network ${text}: unknown network; use pasta[:OPTIONS], slirp4netns[:OPTIONS], none, host, container:NAME, bridge or a network's name`);
}

/**
 * Every --network value of a run/create: one mode, or several networks
 * (repeated flags, or NAME,NAME in one value as Podman allows).
 */
export function parseNetworkFlags(values: string[], defaultCmd: 'pasta' | 'slirp4netns' | (() => 'pasta' | 'slirp4netns')): NetworkMode {
  const items: string[] = [];
  for (const v of values) {
    if (v.includes(':')) items.push(v);
    else items.push(...v.split(',').filter(Boolean));
  }
  if (items.length <= 1) return parseNetworkMode(items[0] ?? '', defaultCmd);
  const modes = items.map((i) => parseNetworkMode(i, defaultCmd));
  const other = modes.findIndex((m) => m.kind !== 'bridge');
  if (other >= 0) throw new NetworkModeError(`--network ${items[other]} cannot be combined with other networks`);
  const networks = modes.flatMap((m) => m.networks!);
  const seen = new Set<string>();
  for (const n of networks) {
    if (seen.has(n.name)) throw new NetworkModeError(`--network ${n.name} is given more than once`);
    seen.add(n.name);
  }
  return { kind: 'bridge', options: [], networks };
}

export function formatNetworkMode(m: NetworkMode): string {
  if (m.kind === 'container') return `container:${m.container}`;
  if (m.kind === 'bridge') return (m.networks ?? []).map((n) => n.name).join(',');
  return m.options.length ? `${m.kind}:${m.options.join(',')}` : m.kind;
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').some((d) => d && existsSync(join(d, cmd)));
}

/** containers.conf [network] default_rootless_network_cmd, from the last file that sets it. */
export function configuredNetworkCmd(text: string): string | undefined {
  let section = '';
  let found: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) section = sec[1].trim();
    const kv = /^default_rootless_network_cmd\s*=\s*["']([^"']*)["']$/.exec(line);
    if (kv && section === 'network') found = kv[1];
  }
  return found;
}

let cached: 'pasta' | 'slirp4netns' | undefined;

/** The rootless default: containers.conf's choice, else pasta, else slirp4netns when pasta is not installed. */
export function defaultNetworkCmd(): 'pasta' | 'slirp4netns' {
  if (cached) return cached;
  const files = containersConfFiles();
  let chosen: string | undefined;
  for (const f of files) {
    try {
      chosen = configuredNetworkCmd(readFileSync(f, 'utf8')) ?? chosen;
    } catch {
      /* absent */
    }
  }
  if (chosen === 'slirp4netns') cached = 'slirp4netns';
  else if (chosen === 'pasta' || onPath('pasta')) cached = 'pasta';
  else cached = onPath('slirp4netns') ? 'slirp4netns' : 'pasta';
  return cached;
}
