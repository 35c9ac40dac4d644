// User-defined networks: <graphRoot>/networks/NAME.json in netavark's JSON
// shape (what `network inspect` prints), validated on read and written
// atomically; changes happen under networks.lock, which also guards the
// address allocations and the rootless network namespace (network/bridge.ts).
// Lock order: this lock may be taken while the container store's is held,
// never the other way round.
// The default network `podman` is built in: listed, never stored, never removed.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cidrText, IpamError, isHostAddress, parseCidr } from '../network/ipam';
import { DEFAULT_NETWORK, DEFAULT_NETWORK_ID, MAX_NETWORK_NAME } from '../network/ref';
import { NAME_PATTERN } from './names';
import * as z from 'zod/mini';
import '../zod';
import { writeFileAtomic } from './atomic';
import { withLock } from './lock';

export { DEFAULT_NETWORK, DEFAULT_NETWORK_ID };

/** A canonical IPv4 CIDR ("10.89.0.0/24", host bits clear): it goes into nft text and `ip` commands. */
export function canonicalCidr(s: string): boolean {
  try {
    const c = parseCidr(s);
    return cidrText(c) === s && c.prefix <= 30;
  } catch (err) {
    if (err instanceof IpamError) return false;
    throw err;
  }
}

const Subnet = z.strictObject({
  subnet: z.string().check(z.refine(canonicalCidr, 'not a canonical IPv4 subnet (such as 10.89.0.0/24)')),
  gateway: z.string(),
}).check(z.refine((s) => !canonicalCidr(s.subnet) || isHostAddress(s.subnet, s.gateway), { message: 'the gateway is not an IPv4 host address of the subnet', path: ['gateway'] }));

export const NetworkRecordSchema = z.strictObject({
  name: z.string().check(z.regex(NAME_PATTERN), z.maxLength(MAX_NETWORK_NAME)),
  id: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  driver: z.literal('bridge'),
  network_interface: z.string().check(z.regex(/^selkie\d+$/)),
  created: z.string(),
  subnets: z.array(Subnet).check(z.length(1)),
  ipv6_enabled: z.literal(false),
  internal: z.boolean(),
  dns_enabled: z.boolean(),
  labels: z.optional(z.record(z.string(), z.string())),
  options: z.optional(z.record(z.string(), z.string())),
  ipam_options: z.optional(z.partial(z.object({ driver: z.string() }))),
});

export type NetworkRecord = z.infer<typeof NetworkRecordSchema>;

export class NetworkRecordError extends Error {}

/** Parses a stored record; throws NetworkRecordError naming the file and the problem. */
export function parseNetworkRecord(text: string, file: string): NetworkRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new NetworkRecordError(`network file ${file} is not JSON: ${(err as Error).message}`);
  }
  const r = NetworkRecordSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new NetworkRecordError(`network file ${file} is invalid: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return r.data;
}

/** The built-in default network (Podman's `podman`, 10.88.0.0/16). */
export function defaultNetwork(): NetworkRecord {
  return {
    name: DEFAULT_NETWORK,
    id: DEFAULT_NETWORK_ID,
    driver: 'bridge',
    network_interface: 'selkie0',
    created: '1970-01-01T00:00:00Z',
    subnets: [{ subnet: '10.88.0.0/16', gateway: '10.88.0.1' }],
    ipv6_enabled: false,
    internal: false,
    dns_enabled: false,
    ipam_options: { driver: 'host-local' },
  };
}

export class NetworkExistsError extends Error {}

export class NetworkStore {
  readonly dir: string;
  readonly lockPath: string;

  constructor(graphRoot: string) {
    this.dir = join(graphRoot, 'networks');
    this.lockPath = join(graphRoot, 'networks.lock');
  }

  locked<T>(fn: () => T): T {
    return withLock(this.lockPath, fn);
  }

  /** Stored networks (not the default); an invalid file is reported through onError and skipped. */
  stored(onError?: (err: Error) => void): NetworkRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: NetworkRecord[] = [];
    for (const n of names) {
      if (!n.endsWith('.json') || n.startsWith('.')) continue;
      try {
        const rec = this.get(n.slice(0, -5));
        if (rec) out.push(rec);
      } catch (err) {
        onError?.(err as Error);
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every network, the default first. */
  list(onError?: (err: Error) => void): NetworkRecord[] {
    return [defaultNetwork(), ...this.stored(onError)];
  }

  get(name: string): NetworkRecord | undefined {
    if (name === DEFAULT_NETWORK) return defaultNetwork();
    if (!NAME_PATTERN.test(name) || name.length > MAX_NETWORK_NAME) return undefined;
    const file = join(this.dir, `${name}.json`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const rec = parseNetworkRecord(text, file);
    if (rec.name !== name) throw new NetworkRecordError(`network file ${file} names another network (${rec.name})`);
    return rec;
  }

  /** Writes a new record; the caller holds the lock.  Throws NetworkExistsError. */
  create(rec: NetworkRecord): void {
    NetworkRecordSchema.parse(rec);
    if (rec.name === DEFAULT_NETWORK || this.get(rec.name)) throw new NetworkExistsError(rec.name);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(join(this.dir, `${rec.name}.json`), JSON.stringify(rec, null, 2) + '\n', 0o600);
  }

  remove(name: string): void {
    rmSync(join(this.dir, `${name}.json`), { force: true });
  }
}
