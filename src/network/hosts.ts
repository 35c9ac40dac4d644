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
  peers?: HostsPeer[];
}

export function hostsText(input: HostsInput): string {
  const lines = [
    '127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4',
    '::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6',
  ];
  if (input.hostFile?.trim()) lines.push(input.hostFile.trimEnd());
  lines.push(...(input.addHosts ?? []));
  const self = input.hostname === input.name ? input.name : `${input.hostname} ${input.name}`;
  lines.push(`${input.selfIp ?? '127.0.1.1'}\t${self}`);
  const seen = new Set<string>();
  for (const p of input.peers ?? []) {
    const names = [...new Set(p.names.filter(Boolean))];
    const line = `${p.ip}\t${names.join(' ')}`;
    if (!names.length || seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}
