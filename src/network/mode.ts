// --network values: which network a container gets and with what options.
// Pure; the default rootless command follows containers.conf's
// default_rootless_network_cmd (pasta, or slirp4netns where pasta is absent).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export type NetworkKind = 'none' | 'host' | 'pasta' | 'slirp4netns' | 'container';

export interface NetworkMode {
  kind: NetworkKind;
  /** pasta's extra arguments, or slirp4netns's key=value options */
  options: string[];
  /** container:NAME|ID */
  container?: string;
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
    }
    return { kind: 'slirp4netns', options: opts };
  }
  if (name === 'bridge') throw new NetworkModeError('--network bridge: rootless selkie has no bridge network; use pasta (the default) or slirp4netns');
  throw new NetworkModeError(`--network ${text}: unknown network; use pasta[:OPTIONS], slirp4netns[:OPTIONS], none, host or container:NAME`);
}

export function formatNetworkMode(m: NetworkMode): string {
  if (m.kind === 'container') return `container:${m.container}`;
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
  const home = process.env.HOME || homedir();
  const files = [
    '/usr/share/containers/containers.conf',
    '/etc/containers/containers.conf',
    join(process.env.XDG_CONFIG_HOME || join(home, '.config'), 'containers', 'containers.conf'),
  ];
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
