// Attaching a container to its network before crun runs, and detaching it
// after.  For pasta and slirp4netns, selkie (root of the session namespace
// S) creates the network namespace itself, as Podman does: `unshare --net=F`
// bind-mounts a new netns (owned by S) on F in the run directory; pasta (or
// slirp4netns) joins it by path and the spec names it, so crun joins it
// while creating the container's own user namespace.  Everything started
// here is recorded in the run directory and undone by teardownNetwork on
// every exit path (prepare's cleanup, container cleanup, rm).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, isIP } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { native } from '../native/index';
import type { ContainerRecord } from '../state/containers';
import type { NetworkKind } from './mode';
import { stopHelper } from './helper-pid';
import { forwardRules, startForwarder, stopForwarder } from './forwarder';
import { claimHostPorts, PortSpecError, type PortMapping } from './ports';
import { resolvConf } from './resolv';

/** pasta's DNS forwarder address inside the container (Podman 5's choice). */
export const PASTA_DNS = '169.254.1.1';
export const SLIRP_DNS = '10.0.2.3';
const MNT_DETACH = 2;

export class NetworkSetupError extends Error {}

export interface NetworkAttachment {
  /** the netns the spec must join; undefined: crun makes a new one (none) or none at all (host) */
  netnsPath?: string;
  ports: PortMapping[];
  resolv: string;
}

export function needsNetns(kind: NetworkKind): boolean {
  return kind === 'pasta' || kind === 'slirp4netns' || kind === 'bridge';
}

/** The host's /etc/resolv.conf ('' when there is none). */
export function hostResolv(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

function netnsFile(runDir: string): string {
  return join(runDir, 'netns');
}

/**
 * Sysctls set in the new namespace.  It is owned by S, not by the
 * container's user namespace, so the container's root has no
 * CAP_NET_BIND_SERVICE there: ports below 1024 are opened to every user of
 * the namespace instead (as Docker does for its containers).
 */
export const NETNS_SYSCTLS = 'echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start';

/** A new network namespace bind-mounted on FILE (in S's mount namespace). */
function createNetns(file: string): void {
  closeSync(openSync(file, 'w', 0o600));
  const r = spawnSync('unshare', [`--net=${file}`, '/bin/sh', '-c', NETNS_SYSCTLS], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    unmountNetns(file);
    throw new NetworkSetupError(`cannot create a network namespace: ${r.error?.message ?? r.stderr.trim()}`);
  }
}

export function quietStderr(text: string): string {
  return text
    .split('\n')
    .filter((l) => l.trim() && !/^Failed to send \d+ bytes to syslog/.test(l))
    .join('; ');
}

/** pasta's -t/-u specs for the mappings of one protocol ("none" when there are none). */
export function pastaPortArgs(ports: PortMapping[]): string[] {
  const out: string[] = [];
  for (const [flag, proto] of [['-t', 'tcp'], ['-u', 'udp']] as const) {
    const list = ports.filter((p) => p.protocol === proto);
    if (!list.length) out.push(flag, 'none');
    for (const p of list) out.push(flag, `${p.hostIp ? `${p.hostIp}/` : ''}${p.hostPort}:${p.containerPort}`);
  }
  return out;
}

/** The installed pasta's options (its --help), read once, and only when a choice depends on them. */
let pastaHelp: string | undefined;
function pastaKnows(option: string): boolean {
  if (pastaHelp === undefined) {
    const r = spawnSync('pasta', ['--help'], { encoding: 'utf8', timeout: 10_000 });
    pastaHelp = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  }
  return pastaHelp.includes(option);
}

/**
 * How a pasta container reaches the host's loopback, from the user's pasta
 * options: through the gateway address (`--map-gw`, older pasta and Podman
 * 4-5's spelling, or `--map-host-loopback` on a pasta without it, with a
 * warning), through an address of its own (`--map-host-loopback ADDR`,
 * newer pasta), or not at all.  `rest` is the options left to pass on.
 */
export function pastaHostLoopback(
  userOpts: string[],
  knows: (option: string) => boolean = pastaKnows,
  warn: (msg: string) => void = () => {},
): { viaGateway: boolean; address?: string; rest: string[] } {
  let viaGateway = false;
  let address: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < userOpts.length; i++) {
    const o = userOpts[i];
    const isMapHostLoopback = o === '--map-host-loopback' || o.startsWith('--map-host-loopback=');
    if (o === '--map-gw') {
      viaGateway = true;
    } else if (isMapHostLoopback && !knows('--map-host-loopback')) {
      if (o === '--map-host-loopback' && isIP(userOpts[i + 1] ?? '')) i++;
      viaGateway = true;
      warn('the installed pasta has no --map-host-loopback: the gateway address reaches the host\'s loopback instead (--map-gw)');
    } else {
      if (isMapHostLoopback) address = o.includes('=') ? o.slice(o.indexOf('=') + 1) : userOpts[i + 1];
      rest.push(o);
    }
  }
  return { viaGateway, address: address && isIP(address) ? address : undefined, rest };
}

/**
 * pasta's command line.  As Podman: no forwarding from the container to the
 * host's ports (-T/-U none), the gateway address is not the host's loopback
 * unless asked (pastaHostLoopback), and DNS goes to pasta's forwarder.
 */
export function pastaArgs(
  netns: string,
  pidFile: string,
  ports: PortMapping[],
  userOpts: string[],
  knows: (option: string) => boolean = pastaKnows,
  warn: (msg: string) => void = (m) => process.stderr.write(`WARN: ${m}\n`),
): string[] {
  const { viaGateway: mapGw, rest: opts } = pastaHostLoopback(userOpts, knows, warn);
  return [
    '--config-net',
    '--netns',
    netns,
    '--pid',
    pidFile,
    '--quiet',
    '--dns-forward',
    PASTA_DNS,
    ...(mapGw ? [] : ['--no-map-gw']),
    '-T',
    'none',
    '-U',
    'none',
    ...pastaPortArgs(ports),
    ...opts,
  ];
}

export function startPasta(runDir: string, netns: string, ports: PortMapping[], userOpts: string[]): void {
  const pidFile = join(runDir, 'pasta.pid');
  // pasta daemonizes once the namespace is configured and its ports are bound.
  const r = spawnSync('pasta', pastaArgs(netns, pidFile, ports, userOpts), { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) {
    throw new NetworkSetupError(`pasta failed: ${r.error?.message ?? (quietStderr(r.stderr) || `exit status ${r.status}`)}`);
  }
}

function slirpOption(opts: string[], key: string): string | undefined {
  return opts.find((o) => o.startsWith(`${key}=`))?.slice(key.length + 1);
}

export function slirpArgs(netns: string, apiSocket: string, opts: string[]): string[] {
  // Sandboxed as Podman runs it: libslirp parses every packet the container
  // sends, so slirp4netns gets an empty mount namespace and a seccomp filter.
  const args = ['--configure', `--mtu=${slirpOption(opts, 'mtu') ?? '65520'}`, '--enable-sandbox', '--enable-seccomp', '--netns-type=path', '--ready-fd=3', `--api-socket=${apiSocket}`];
  if (slirpOption(opts, 'allow_host_loopback') !== 'true') args.push('--disable-host-loopback');
  const cidr = slirpOption(opts, 'cidr');
  if (cidr) args.push(`--cidr=${cidr}`);
  // IPv6 unless turned off, as Podman: the container configures fd00::/64 from slirp4netns's router advertisements.
  if (slirpOption(opts, 'enable_ipv6') !== 'false') args.push('--enable-ipv6');
  const out4 = slirpOption(opts, 'outbound_addr');
  if (out4) args.push(`--outbound-addr=${out4}`);
  const out6 = slirpOption(opts, 'outbound_addr6');
  if (out6) args.push(`--outbound-addr6=${out6}`);
  return [...args, netns, 'tap0'];
}

/** The API socket: not in the run directory, whose path is too long for a socket's (108 bytes). */
function slirpSocket(runDir: string): string {
  return join(dirname(dirname(runDir)), 'slirp', `${basename(runDir).slice(0, 16)}.sock`);
}

function slirpRequest(socket: string, req: object): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect(socket);
    let reply = '';
    c.on('connect', () => c.end(JSON.stringify(req)));
    c.on('data', (d) => (reply += d));
    c.on('error', reject);
    c.on('close', () => {
      try {
        const parsed = JSON.parse(reply) as { error?: { desc?: string } };
        if (parsed.error) reject(new Error(parsed.error.desc ?? reply));
        else resolve();
      } catch {
        reject(new Error(`unexpected reply from slirp4netns: ${reply}`));
      }
    });
  });
}

/** The container's address on slirp4netns's network: .100 of its cidr (10.0.2.100 by default). */
export function slirpGuestAddress(opts: string[]): string {
  const cidr = slirpOption(opts, 'cidr') ?? '10.0.2.0/24';
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new NetworkSetupError(`slirp4netns: invalid cidr "${cidr}"`);
  const bits = Number(m[5]);
  const base = m.slice(1, 5).reduce((n, o) => n * 256 + Number(o), 0);
  const net = bits === 0 ? 0 : Math.floor(base / 2 ** (32 - bits)) * 2 ** (32 - bits);
  const ip = net + 100;
  return [24, 16, 8, 0].map((shift) => Math.floor(ip / 2 ** shift) % 256).join('.');
}

async function startSlirp(runDir: string, netns: string, ports: PortMapping[], opts: string[]): Promise<void> {
  const api = slirpSocket(runDir);
  mkdirSync(dirname(api), { recursive: true, mode: 0o700 });
  rmSync(api, { force: true });
  const child = spawn('slirp4netns', slirpArgs(netns, api, opts), { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    child.stdio[3]!.once('data', () => {
      clearTimeout(timer);
      resolve(true);
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.once('error', () => resolve(false));
  });
  if (child.pid) writeFileSync(join(runDir, 'slirp4netns.pid'), String(child.pid));
  child.stderr!.destroy();
  (child.stdio[3] as NodeJS.ReadableStream & { destroy(): void }).destroy();
  child.unref();
  if (!ready) throw new NetworkSetupError(`slirp4netns failed: ${stderr.trim() || 'it did not become ready'}`);
  if (slirpOption(opts, 'port_handler') !== 'slirp4netns') {
    // Podman's default, rootlessport: our forwarder, connecting from the
    // container's netns to its slirp address.  Faster than slirp4netns's
    // own forwarding, and UDP replies reach a client on the host's loopback.
    if (!ports.length) return;
    try {
      await startForwarder(runDir, netns, forwardRules(ports, slirpGuestAddress(opts)));
    } catch (err) {
      throw new NetworkSetupError(`cannot publish ports: ${(err as Error).message}`);
    }
    return;
  }
  for (const p of ports) {
    try {
      await slirpRequest(api, {
        execute: 'add_hostfwd',
        arguments: { proto: p.protocol, host_addr: p.hostIp || '0.0.0.0', host_port: p.hostPort, guest_port: p.containerPort },
      });
    } catch (err) {
      throw new NetworkSetupError(`slirp4netns cannot publish port ${p.hostPort}/${p.protocol}: ${(err as Error).message}`);
    }
  }
}

/**
 * Network of a container about to start: the netns path for the spec, the
 * host ports it got, and its resolv.conf.  On failure, whatever was started
 * is torn down before the error is thrown.
 */
export async function attachNetwork(
  rec: ContainerRecord,
  runDir: string,
  lookupRunning: (ref: string) => { pid: number; runDir: string } | undefined,
): Promise<NetworkAttachment> {
  const c = rec.config;
  const dnsFlags = { dns: c.dns, dnsSearch: c.dnsSearch, dnsOption: c.dnsOption };
  switch (c.network) {
    case 'host':
      return { ports: [], resolv: resolvConf({ host: hostResolv(), hostNetwork: true, ...dnsFlags }) };
    case 'none':
      return { ports: [], resolv: resolvConf({ host: hostResolv(), ...dnsFlags }) };
    case 'container': {
      const other = lookupRunning(c.networkContainer ?? '');
      if (!other) throw new NetworkSetupError(`--network container:${c.networkContainer}: that container is not running`);
      let theirs = '';
      try {
        theirs = readFileSync(join(other.runDir, 'resolv.conf'), 'utf8');
      } catch {
        theirs = resolvConf({ host: hostResolv() });
      }
      const resolv = c.dns?.length || c.dnsSearch?.length || c.dnsOption?.length ? resolvConf({ host: theirs, ...dnsFlags }) : theirs;
      return { netnsPath: `/proc/${other.pid}/ns/net`, ports: [], resolv };
    }
    case 'bridge':
      throw new NetworkSetupError('bridge networks are attached by network/bridge.ts');
    default:
      break;
  }
  let ports: PortMapping[];
  try {
    ports = await claimHostPorts(c.ports ?? []);
  } catch (err) {
    if (err instanceof PortSpecError) throw new NetworkSetupError(err.message);
    throw err;
  }
  const file = netnsFile(runDir);
  createNetns(file);
  try {
    if (c.network === 'pasta') startPasta(runDir, file, ports, c.networkOptions ?? []);
    else await startSlirp(runDir, file, ports, c.networkOptions ?? []);
  } catch (err) {
    teardownNetwork(runDir);
    throw err;
  }
  const nameserver = c.network === 'pasta' ? PASTA_DNS : SLIRP_DNS;
  return { netnsPath: file, ports, resolv: resolvConf({ host: hostResolv(), networkNameservers: [nameserver], ...dnsFlags }) };
}

/** Undoes attachNetwork: stops pasta/slirp4netns, unmounts and removes the netns file.  Idempotent. */
export function teardownNetwork(runDir: string): void {
  stopForwarder(runDir);
  stopHelper(runDir, 'pasta');
  stopHelper(runDir, 'slirp4netns');
  unmountNetns(netnsFile(runDir));
  rmSync(slirpSocket(runDir), { force: true });
}

export function unmountNetns(file: string): void {
  if (!existsSync(file)) return;
  try {
    native().umount(file, MNT_DETACH);
  } catch {
    /* not mounted */
  }
  rmSync(file, { force: true });
}
