// Published ports: parsing -p/--publish, choosing random host ports,
// checking that a host port is free before a container starts, and the
// shapes `port`, `inspect` and `ps` show them in.  Parsing and formatting
// are pure (unit-tested); only freePort/checkAvailable touch the host.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

export type Protocol = 'tcp' | 'udp';

/** One published port; a range on the command line becomes one of these per port. */
export interface PortMapping {
  /** '' = every address */
  hostIp: string;
  /** 0 = chosen when the container starts */
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

export class PortSpecError extends Error {}

function parseRange(text: string, what: string, spec: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw new PortSpecError(`invalid ${what} "${text}" in -p ${spec}`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  const min = what === 'host port' ? 0 : 1;
  if (lo < min || hi > 65535 || lo > 65535) throw new PortSpecError(`invalid ${what} "${text}" in -p ${spec}: ports are 1-65535`);
  if (hi < lo) throw new PortSpecError(`invalid ${what} range "${text}" in -p ${spec}: the end is before the start`);
  return [lo, hi];
}

/**
 * -p [[HOSTIP:][HOSTPORT]:]CONTAINERPORT[/PROTOCOL]: HOSTIP may be an IPv6
 * address in brackets; ports may be ranges (equal lengths, or a host range
 * for one container port is not allowed); PROTOCOL tcp, udp or "tcp,udp".
 */
export function parsePublish(spec: string): PortMapping[] {
  let rest = spec.trim();
  let protocols: Protocol[] = ['tcp'];
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const protos = rest.slice(slash + 1).split(',');
    if (!protos.length || protos.some((p) => p !== 'tcp' && p !== 'udp')) {
      throw new PortSpecError(`invalid protocol "${rest.slice(slash + 1)}" in -p ${spec}: use tcp or udp`);
    }
    protocols = [...new Set(protos as Protocol[])];
    rest = rest.slice(0, slash);
  }
  let hostIp = '';
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0 || rest[end + 1] !== ':') throw new PortSpecError(`invalid host IP in -p ${spec}`);
    hostIp = rest.slice(1, end);
    rest = rest.slice(end + 2);
  }
  const parts = rest.split(':');
  let hostPart = '';
  let ctrPart: string;
  if (parts.length === 1) {
    ctrPart = parts[0];
  } else if (parts.length === 2) {
    [hostPart, ctrPart] = parts;
  } else if (parts.length === 3 && !hostIp) {
    [hostIp, hostPart, ctrPart] = parts;
  } else {
    throw new PortSpecError(`invalid -p ${spec}: use [[HOSTIP:][HOSTPORT]:]CONTAINERPORT[/PROTOCOL]`);
  }
  if (hostIp && !isIp(hostIp)) throw new PortSpecError(`invalid host IP "${hostIp}" in -p ${spec}`);
  if (hostIp === '0.0.0.0') hostIp = '';
  const [clo, chi] = parseRange(ctrPart, 'container port', spec);
  const count = chi - clo + 1;
  let hlo = 0;
  if (hostPart !== '') {
    const [lo, hi] = parseRange(hostPart, 'host port', spec);
    if (hi - lo + 1 !== count && !(lo === hi && lo === 0)) {
      throw new PortSpecError(`invalid -p ${spec}: the host range and the container range differ in length`);
    }
    hlo = lo;
  }
  const out: PortMapping[] = [];
  for (const protocol of protocols) {
    for (let i = 0; i < count; i++) {
      out.push({ hostIp, hostPort: hlo === 0 ? 0 : hlo + i, containerPort: clo + i, protocol });
    }
  }
  return out;
}

function isIp(s: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) return s.split('.').every((o) => Number(o) <= 255);
  return /^[0-9a-fA-F:]+$/.test(s) && s.includes(':');
}

/** The image's ExposedPorts keys ("80/tcp", "53/udp", "8080") as mappings to random host ports (-P). */
export function publishAll(exposed: string[]): PortMapping[] {
  const out: PortMapping[] = [];
  for (const key of exposed) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp))?$/i.exec(key.trim());
    if (!m) continue;
    const lo = Number(m[1]);
    const hi = m[2] ? Number(m[2]) : lo;
    for (let p = lo; p <= hi && p <= 65535; p++) {
      out.push({ hostIp: '', hostPort: 0, containerPort: p, protocol: (m[3]?.toLowerCase() as Protocol) ?? 'tcp' });
    }
  }
  return out;
}

/** Adds mappings not already present (same container port and protocol): -p wins over -P. */
export function mergeMappings(explicit: PortMapping[], extra: PortMapping[]): PortMapping[] {
  const out = [...explicit];
  for (const m of extra) {
    if (!out.some((o) => o.containerPort === m.containerPort && o.protocol === m.protocol)) out.push(m);
  }
  return out;
}

/** Two mappings of one container that would bind the same host socket. */
export function duplicateHostPort(list: PortMapping[]): PortMapping | undefined {
  for (let i = 0; i < list.length; i++) {
    const m = list[i];
    if (m.hostPort === 0) continue;
    const clash = list
      .slice(0, i)
      .some((o) => o.protocol === m.protocol && o.hostPort === m.hostPort && (o.hostIp === m.hostIp || !o.hostIp || !m.hostIp));
    if (clash) return m;
  }
  return undefined;
}

export function portKey(m: Pick<PortMapping, 'containerPort' | 'protocol'>): string {
  return `${m.containerPort}/${m.protocol}`;
}

/** `port` lines, as Podman prints them: "80/tcp -> 0.0.0.0:8080". */
export function formatPortLines(list: PortMapping[], wanted?: string): string[] {
  const want = wanted === undefined ? undefined : wanted.includes('/') ? wanted : `${wanted}/tcp`;
  return list
    .filter((m) => want === undefined || portKey(m) === want)
    .map((m) => {
      const host = `${m.hostIp ? (m.hostIp.includes(':') ? `[${m.hostIp}]` : m.hostIp) : '0.0.0.0'}:${m.hostPort}`;
      return want === undefined ? `${portKey(m)} -> ${host}` : host;
    });
}

/** ps's PORTS column: "127.0.0.1:8080->80/tcp, 0.0.0.0:5353->53/udp". */
export function formatPsPorts(list: PortMapping[]): string {
  return list.map((m) => `${m.hostIp || '0.0.0.0'}:${m.hostPort}->${portKey(m)}`).join(', ');
}

/** inspect's NetworkSettings.Ports / HostConfig.PortBindings shape. */
export function portBindings(list: PortMapping[], exposed: string[] = []): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const e of exposed) {
    const key = e.includes('/') ? e : `${e}/tcp`;
    out[key] = null;
  }
  for (const m of list) {
    const key = portKey(m);
    const arr = out[key] ?? [];
    arr.push({ HostIp: m.hostIp, HostPort: m.hostPort ? String(m.hostPort) : '' });
    out[key] = arr;
  }
  return out;
}

function bindOnce(m: PortMapping, port: number): Promise<number> {
  const host = m.hostIp || '0.0.0.0';
  if (m.protocol === 'udp') {
    return new Promise((resolve, reject) => {
      const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      sock.once('error', (err) => {
        sock.close();
        reject(err);
      });
      sock.bind({ address: host, port, exclusive: true }, () => {
        const got = sock.address().port;
        sock.close(() => resolve(got));
      });
    });
  }
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host, port, exclusive: true }, () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : port;
      srv.close(() => resolve(got));
    });
  });
}

/**
 * Gives every mapping without a host port a free one, and checks that every
 * host port can be bound now: a port in use (by another program or another
 * container) is an error before the container starts, not a failure inside it.
 */
export async function claimHostPorts(list: PortMapping[]): Promise<PortMapping[]> {
  const out: PortMapping[] = [];
  for (const m of list) {
    try {
      const port = await bindOnce(m, m.hostPort);
      out.push({ ...m, hostPort: port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const where = `${m.hostIp || '0.0.0.0'}:${m.hostPort}/${m.protocol}`;
      if (code === 'EADDRINUSE') {
        throw new PortSpecError(`cannot publish port ${where}: address already in use (by another program or container)`);
      }
      if (code === 'EACCES') throw new PortSpecError(`cannot publish port ${where}: permission denied (ports below 1024 need net.ipv4.ip_unprivileged_port_start)`);
      if (code === 'EADDRNOTAVAIL') throw new PortSpecError(`cannot publish port ${where}: the host has no address ${m.hostIp}`);
      throw new PortSpecError(`cannot publish port ${where}: ${(err as Error).message}`);
    }
  }
  return out;
}
