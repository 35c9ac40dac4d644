// A container's /etc/hosts.  On user-defined networks it is also the name
// service: every running container that shares a network with this one is
// listed by name, aliases and short ID (rewritten when one starts, stops,
// connects or disconnects).  Pure.

export interface HostsPeer {
  ip: string;
  /** name, aliases on that network, short ID */
  names: string[];
}

export interface HostsInput {
  hostname: string;
  name: string;
  /** --add-host lines, already "IP\tNAME" */
  addHosts?: string[];
  /** the host's /etc/hosts (--network host) */
  hostFile?: string;
  /** this container's address on its first network; undefined: 127.0.1.1 */
  selfIp?: string;
  /** the host as the container reaches it (host-address.ts): host.containers.internal, and --add-host's host-gateway */
  hostAddress?: string;
  peers?: HostsPeer[];
}

export class HostsNameError extends Error {}

/** Podman's name for the host, in every container's /etc/hosts where the container can reach the host. */
export const HOST_NAME = 'host.containers.internal';
/** --add-host NAME:host-gateway: the host's address as the container reaches it (Docker's and Podman's word). */
export const HOST_GATEWAY = 'host-gateway';
/** A stored --add-host line ("IP\tNAME NAME") back as it was given ("NAME;NAME:IP", as HostConfig.ExtraHosts shows it). */
export function addHostSpec(line: string): string {
  const tab = line.indexOf('\t');
  return `${line.slice(tab + 1).split(' ').join(';')}:${line.slice(0, tab)}`;
}

export const NO_HOST_ADDRESS =
  'this network gives the container no address of the host (use --network slirp4netns, or pasta with --map-gw)';

/**
 * Whether a name may go into a hosts line: no whitespace, no control
 * characters, no comment sign (a name with a newline would add lines to
 * other containers' files).  The names are checked where they are given
 * (state/names.ts validName); this is the sink's own check.
 */
export function hostsSafe(name: string): boolean {
  return name.length > 0 && name.length <= 253 && !/[\s\p{Cc}\p{Cf}#]/u.test(name);
}

/**
 * A container's hosts file.  Its own hostname and name must be safe
 * (HostsNameError); an unsafe peer name is left out, so that one bad
 * record cannot break everyone's file.
 */
export function hostsText(input: HostsInput): string {
  for (const n of [input.hostname, input.name]) {
    if (!hostsSafe(n)) throw new HostsNameError(`invalid name ${JSON.stringify(n)} for /etc/hosts`);
  }
  for (const l of input.addHosts ?? []) {
    if (/[\p{Cc}\p{Cf}]/u.test(l.replace(/\t/g, ' '))) throw new HostsNameError(`invalid --add-host line ${JSON.stringify(l)}`);
  }
  if (input.selfIp !== undefined && !/^[0-9.]+$/.test(input.selfIp)) throw new HostsNameError(`invalid address ${JSON.stringify(input.selfIp)}`);
  const lines = [
    '127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4',
    '::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6',
  ];
  if (input.hostFile?.trim()) lines.push(input.hostFile.trimEnd());
  if (input.hostAddress !== undefined) {
    if (!/^[0-9.]+$|^[0-9a-fA-F:]+$/.test(input.hostAddress)) throw new HostsNameError(`invalid address ${JSON.stringify(input.hostAddress)}`);
    lines.push(`${input.hostAddress}\t${HOST_NAME}`);
  }
  for (const l of input.addHosts ?? []) {
    if (!l.startsWith(`${HOST_GATEWAY}\t`)) lines.push(l);
    else if (input.hostAddress !== undefined) lines.push(input.hostAddress + l.slice(HOST_GATEWAY.length));
    else throw new HostsNameError(`--add-host ${addHostSpec(l)}: ${NO_HOST_ADDRESS}`);
  }
  const self = input.hostname === input.name ? input.name : `${input.hostname} ${input.name}`;
  lines.push(`${input.selfIp ?? '127.0.1.1'}\t${self}`);
  const seen = new Set<string>();
  for (const p of input.peers ?? []) {
    if (!/^[0-9.]+$/.test(p.ip)) continue;
    const names = [...new Set(p.names.filter(hostsSafe))];
    const line = `${p.ip}\t${names.join(' ')}`;
    if (!names.length || seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}
