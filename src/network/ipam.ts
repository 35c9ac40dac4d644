// Addresses of user-defined networks: IPv4 subnets (CIDR), the subnets new
// networks get (10.89.N.0/24 upward, skipping those in use by other networks
// or by the host's routes), container addresses (lowest free), MACs and
// bridge names.  Pure, except readHostRoutes.
import { readFileSync } from 'node:fs';
import { randomBytesSync } from '../state/random';

export class IpamError extends Error {}

export interface Cidr {
  /** network address as an unsigned 32-bit number */
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x, i) => x > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith('0')))) return undefined;
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** "10.89.0.0/24" -> Cidr; host bits are cleared (Podman does the same). Throws IpamError. */
export function parseCidr(text: string): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text.trim());
  const ip = m ? ipToInt(m[1]) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || ip === undefined || prefix > 32) {
    if (m && m[1].includes(':')) throw new IpamError(`subnet ${text}: IPv6 networks are not supported`);
    throw new IpamError(`invalid subnet "${text}": use an IPv4 CIDR such as 10.89.5.0/24`);
  }
  return { base: (ip & mask(prefix)) >>> 0, prefix };
}

export function cidrText(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

export function contains(c: Cidr, ip: number): boolean {
  return ((ip & mask(c.prefix)) >>> 0) === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

function last(c: Cidr): number {
  return (c.base | (~mask(c.prefix) >>> 0)) >>> 0;
}

/**
 * The subnet and gateway of a new network: --subnet/--gateway checked, or the
 * first free 10.89.N.0/24.  `used`: other networks' subnets and the host's routes.
 */
export function chooseSubnet(used: Cidr[], subnet?: string, gateway?: string): { subnet: string; gateway: string } {
  let c: Cidr;
  if (subnet) {
    c = parseCidr(subnet);
    if (c.prefix > 30) throw new IpamError(`subnet ${cidrText(c)} is too small: it needs room for a gateway and a container (/30 at most)`);
    if (used.some((u) => overlaps(u, c))) throw new IpamError(`subnet ${cidrText(c)} is already used on the host or by another config`);
  } else {
    if (gateway) throw new IpamError('--gateway needs --subnet');
    const found = freeSubnet(used);
    if (!found) throw new IpamError('could not find a free subnet in 10.89.0.0/16: remove unused networks or give --subnet');
    c = found;
  }
  let gw = c.base + 1;
  if (gateway) {
    const g = ipToInt(gateway);
    if (g === undefined) throw new IpamError(`invalid gateway "${gateway}": use an IPv4 address`);
    if (!contains(c, g) || g === c.base || g === last(c)) throw new IpamError(`gateway ${gateway} is not a host address of subnet ${cidrText(c)}`);
    gw = g;
  }
  return { subnet: cidrText(c), gateway: intToIp(gw) };
}

/** 10.89.0.0/24, 10.89.1.0/24, ... : the first that overlaps nothing in used. */
export function freeSubnet(used: Cidr[]): Cidr | undefined {
  const start = ipToInt('10.89.0.0')!;
  for (let n = 0; n < 256; n++) {
    const c = { base: (start + n * 256) >>> 0, prefix: 24 };
    if (!used.some((u) => overlaps(u, c))) return c;
  }
  return undefined;
}

/** Whether ip (an IPv4 address) is a host address of subnet: inside, not the network or broadcast address. */
export function isHostAddress(subnet: string | Cidr, ip: string): boolean {
  const c = typeof subnet === 'string' ? parseCidr(subnet) : subnet;
  const n = ipToInt(ip);
  return n !== undefined && contains(c, n) && n !== c.base && n !== last(c);
}

/**
 * A container's address on a network: the lowest host address that is not
 * the gateway and not in `used`, or `wanted` when it is free and inside.
 */
export function allocateIp(subnet: string, gateway: string, used: Iterable<string>, wanted?: string): string {
  const c = parseCidr(subnet);
  const taken = new Set<number>();
  for (const u of used) {
    const n = ipToInt(u);
    if (n !== undefined) taken.add(n);
  }
  const gw = ipToInt(gateway);
  if (gw !== undefined) taken.add(gw);
  if (wanted !== undefined) {
    const w = ipToInt(wanted);
    if (w === undefined) throw new IpamError(`invalid IP address "${wanted}"`);
    if (!isHostAddress(c, wanted)) throw new IpamError(`requested ip address ${wanted} is not in subnet ${subnet}`);
    if (taken.has(w)) throw new IpamError(`requested ip address ${wanted} is already allocated to another container on this network`);
    return wanted;
  }
  for (let n = c.base + 1; n < last(c); n++) {
    if (!taken.has(n)) return intToIp(n);
  }
  throw new IpamError(`no free IP address left in subnet ${subnet}`);
}

/** A random unicast, locally administered MAC. */
export function randomMac(bytes: Buffer = randomBytesSync(6)): string {
  const b = Buffer.from(bytes.subarray(0, 6));
  b[0] = (b[0] & 0xfc) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** The first selkieN (N >= 1) not in use; selkie0 belongs to the default network. */
export function freeBridgeName(used: Iterable<string>): string {
  const u = new Set(used);
  for (let n = 1; ; n++) if (!u.has(`selkie${n}`)) return `selkie${n}`;
}

/** The rows of /proc/net/route (Iface, Destination, Gateway, Flags, RefCnt, Use, Metric, Mask, ...). */
function routeRows(text: string): string[][] {
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 8);
}

/** An IPv4 address or mask as /proc/net/route writes it: the bytes in network order, read as a little-endian hex word. */
function routeWord(hex: string): number | undefined {
  const v = Number.parseInt(hex, 16);
  if (!Number.isFinite(v)) return undefined;
  return (((v & 255) << 24) | (((v >>> 8) & 255) << 16) | (((v >>> 16) & 255) << 8) | (v >>> 24)) >>> 0;
}

/** Destinations of the host's IPv4 routes from /proc/net/route (default routes left out). */
export function parseProcRoutes(text: string): Cidr[] {
  const out: Cidr[] = [];
  for (const f of routeRows(text)) {
    const dest = routeWord(f[1]);
    const maskBits = routeWord(f[7]);
    if (dest === undefined || !maskBits) continue;
    let prefix = 0;
    while (prefix < 32 && maskBits & (0x80000000 >>> prefix)) prefix++;
    out.push({ base: (dest & mask(prefix)) >>> 0, prefix });
  }
  return out;
}

/** The gateway of the first IPv4 default route in /proc/net/route. */
export function defaultGateway(text: string): string | undefined {
  for (const f of routeRows(text)) {
    const gw = routeWord(f[2]);
    if (routeWord(f[1]) === 0 && routeWord(f[7]) === 0 && gw) return intToIp(gw);
  }
  return undefined;
}

/** The host's /proc/net/route ('' where it cannot be read). */
export function readProcRoutes(): string {
  try {
    return readFileSync('/proc/net/route', 'utf8');
  } catch {
    return '';
  }
}

export function readHostRoutes(): Cidr[] {
  return parseProcRoutes(readProcRoutes());
}
