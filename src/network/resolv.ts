// /etc/resolv.conf for a container: the host's resolvers unless the network
// gives its own (pasta's DNS forwarder, slirp4netns's 10.0.2.3), then
// --dns, --dns-search and --dns-option override, each as a whole.  Pure.

export interface ResolvInput {
  /** the host's /etc/resolv.conf text */
  host: string;
  /** the network's own resolver (replaces the host's nameservers) */
  networkNameservers?: string[];
  /** keep loopback nameservers (only the host's network can reach them) */
  hostNetwork?: boolean;
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
}

export function parseResolv(text: string): { nameservers: string[]; search: string[]; options: string[] } {
  const out = { nameservers: [] as string[], search: [] as string[], options: [] as string[] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...vals] = line.split(/\s+/);
    if (key === 'nameserver' && vals[0]) out.nameservers.push(vals[0]);
    else if (key === 'search' || key === 'domain') out.search = vals;
    else if (key === 'options') out.options.push(...vals);
  }
  return out;
}

function isLoopback(ns: string): boolean {
  return ns.startsWith('127.') || ns === '::1';
}

export function resolvConf(input: ResolvInput): string {
  const host = parseResolv(input.host);
  let nameservers = input.networkNameservers?.length ? input.networkNameservers : host.nameservers;
  if (!input.hostNetwork) nameservers = nameservers.filter((n) => !isLoopback(n));
  if (input.dns?.length) nameservers = input.dns;
  let search = host.search;
  if (input.dnsSearch?.length) search = input.dnsSearch.includes('.') ? [] : input.dnsSearch;
  const options = input.dnsOption?.length ? input.dnsOption : host.options;
  const lines: string[] = [];
  if (search.length) lines.push(`search ${search.join(' ')}`);
  for (const n of nameservers) lines.push(`nameserver ${n}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return lines.join('\n') + '\n';
}
