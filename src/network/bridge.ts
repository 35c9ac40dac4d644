// User-defined networks on the host, rootless: one network namespace per
// store (the "rootless netns", owned by the session namespace S and held by
// a bind mount at <runRoot>/rootless-netns-<key>/netns) holds a bridge per
// network, pasta for traffic to the outside, and an nftables table
// (network/nft.ts).  Each container keeps its own netns (made by selkie, as
// for pasta) with one veth per network whose other end is a port of the
// network's bridge.  Addresses are handed out under the networks lock and
// recorded in ipam.json beside the netns (volatile, like the containers'
// run directories); the hosts files of the containers sharing a network are
// rewritten from it whenever one joins or leaves.  The rootless netns is
// made by the first container that needs it and removed with its pasta when
// the last one leaves.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic';
import type { NetworkAddress } from '../state/containers';
import { withLock, withLockAsync } from '../state/lock';
import type { NetworkRecord } from '../state/networks';
import { processStartTime } from '../state/process';
import { randomHex } from '../state/random';
import { HOST_GATEWAY, HostsNameError, hostsText, type HostsPeer } from './hosts';
import { allocateIp, IpamError, ipToInt, randomMac } from './ipam';
import { nftRuleset } from './nft';
import { NETNS_SYSCTLS, NetworkSetupError, pastaArgs, quietStderr, unmountNetns } from './setup';
import { stopHelper } from './helper-pid';

export interface BridgePaths {
  graphRoot: string;
  runRoot: string;
}

/** A short stable key of the store: each store has its own networks, so its own rootless netns. */
export function storeKey(graphRoot: string): string {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(graphRoot)) {
    h ^= ch;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export function rootlessDir(paths: BridgePaths): string {
  return join(paths.runRoot, `rootless-netns-${storeKey(paths.graphRoot)}`);
}

export function rootlessNetnsPath(paths: BridgePaths): string {
  return join(rootlessDir(paths), 'netns');
}

function lockPath(paths: BridgePaths): string {
  return join(paths.graphRoot, 'networks.lock');
}

/** One network of a running container, as ipam.json keeps it. */
export interface IpamNetwork extends NetworkAddress {
  aliases: string[];
  /** of the container's interface and its veth peer (absent in entries of older versions) */
  mtu?: number;
  /** the end in the rootless netns (a port of the bridge) */
  veth: string;
  bridge: string;
  /** its name is resolvable by the others on this network */
  dns: boolean;
}

export interface IpamEntry {
  /** the selkie process that started it (PID, start time): live while that runs, before the record says running */
  starter?: { pid: number; start: string };
  name: string;
  hostname: string;
  runDir: string;
  addHosts?: string[];
  networks: IpamNetwork[];
}

export interface IpamFile {
  containers: Record<string, IpamEntry>;
}

function selfStarter(): IpamEntry['starter'] {
  const start = processStartTime(process.pid);
  return start ? { pid: process.pid, start } : undefined;
}

/** Whether the process that is starting this entry's container still runs. */
export function starterAlive(e: IpamEntry): boolean {
  const s = e.starter;
  return !!s && Number.isInteger(s.pid) && s.pid > 0 && typeof s.start === 'string' && processStartTime(s.pid) === s.start;
}

function readIpam(dir: string): IpamFile {
  try {
    const v = JSON.parse(readFileSync(join(dir, 'ipam.json'), 'utf8')) as IpamFile;
    if (v && typeof v.containers === 'object') return v;
  } catch {
    /* none yet */
  }
  return { containers: {} };
}

function writeIpam(dir: string, ipam: IpamFile): void {
  writeFileAtomic(join(dir, 'ipam.json'), JSON.stringify(ipam), 0o600, false);
}

/** Each running container's /etc/hosts, for every container on the networks named (all when undefined). */
export function hostsFiles(ipam: IpamFile, networks?: Set<string>): Map<string, string> {
  const out = new Map<string, string>();
  const entries = Object.entries(ipam.containers);
  for (const [id, e] of entries) {
    if (!e.networks.length) continue;
    if (networks && !e.networks.some((n) => networks.has(n.name))) continue;
    const peers: HostsPeer[] = [];
    for (const n of e.networks) {
      if (!n.dns) continue;
      for (const [oid, o] of entries) {
        if (oid === id) continue;
        const on = o.networks.find((x) => x.name === n.name);
        if (on) peers.push({ ip: on.ip, names: [o.name, ...on.aliases, oid.slice(0, 12)] });
      }
    }
    try {
      // host-gateway has no address here (create refuses it); a record from before that is left without the line.
      const addHosts = e.addHosts?.filter((l) => !l.startsWith(`${HOST_GATEWAY}\t`));
      out.set(e.runDir, hostsText({ hostname: e.hostname, name: e.name, addHosts, selfIp: e.networks[0].ip, peers }));
    } catch (err) {
      // an entry whose own names are unsafe gets no file: the others still do
      if (!(err instanceof HostsNameError)) throw err;
    }
  }
  return out;
}

/** Rewritten in place (truncate + write): crun bound the file itself into the container. */
function rewriteHosts(ipam: IpamFile, networks: Set<string>): void {
  for (const [runDir, text] of hostsFiles(ipam, networks)) {
    try {
      writeFileSync(join(runDir, 'hosts'), text);
    } catch {
      /* the container is going away */
    }
  }
}

function isMountPoint(path: string): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === path);
  } catch {
    return false;
  }
}

function pastaAlive(dir: string): boolean {
  try {
    const pid = Number(readFileSync(join(dir, 'pasta.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    return false;
  }
}

/** ip and nft live in /usr/sbin, often not on an unprivileged user's PATH. */
function toolEnv(): NodeJS.ProcessEnv {
  const path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  return { ...process.env, PATH: `${path}:/usr/sbin:/sbin` };
}

function run(cmd: string, args: string[], input: string, what: string): void {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 30_000, env: toolEnv() });
  if (r.error || r.status !== 0) {
    throw new NetworkSetupError(`${what}: ${r.error?.message ?? (quietStderr(r.stderr ?? '') || `exit status ${r.status}`)}`);
  }
}


/**
 * Makes the rootless netns (and its pasta) unless they are there: after a
 * crash, a mount without a live pasta gets a new pasta, and a missing mount
 * a new namespace.  Returns true when the namespace is new.
 */
function ensureRootless(paths: BridgePaths, pastaOptions: string[]): boolean {
  const dir = rootlessDir(paths);
  const ns = join(dir, 'netns');
  const mounted = isMountPoint(ns);
  if (mounted && pastaAlive(dir)) return false;
  let fresh = false;
  if (!mounted) {
    stopHelper(dir, 'pasta');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    closeSync(openSync(ns, 'w', 0o600));
    try {
      run('unshare', [`--net=${ns}`, '/bin/sh', '-euc', 'echo 1 > /proc/sys/net/ipv4/ip_forward; ip link set lo up'], '', 'cannot create the rootless network namespace');
    } catch (err) {
      unmountNetns(ns);
      throw err;
    }
    fresh = true;
  }
  const r = spawnSync('pasta', pastaArgs(ns, join(dir, 'pasta.pid'), [], pastaOptions), { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) {
    if (fresh) teardownRootless(paths);
    throw new NetworkSetupError(`pasta failed for the rootless network namespace: ${r.error?.message ?? (quietStderr(r.stderr) || `exit status ${r.status}`)}`);
  }
  return fresh;
}

function teardownRootless(paths: BridgePaths): void {
  const dir = rootlessDir(paths);
  stopHelper(dir, 'pasta');
  unmountNetns(join(dir, 'netns'));
  rmSync(dir, { recursive: true, force: true });
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface BridgeContainer {
  id: string;
  name: string;
  hostname: string;
  addHosts?: string[];
  runDir: string;
  /** the container's own netns file (RUNDIR/netns) */
  netnsFile: string;
}

export interface BridgeJoin {
  net: NetworkRecord;
  aliases: string[];
  ip?: string;
}

export interface AttachOptions {
  /** 'start': the container's netns is made here; 'connect': it exists (the container runs) */
  mode: 'start' | 'connect';
  /** every network record (the nft table covers them all) */
  allNetworks: () => NetworkRecord[];
  /**
   * whether a container ID recorded in ipam.json still runs (its record says
   * running and its process is alive); an entry whose starter still runs is
   * kept too.  Stale entries are dropped, their veths deleted.
   */
  isLive: (id: string) => boolean;
  pastaOptions: () => Promise<string[]>;
}

/**
 * A bridge network's MTU unless its `mtu` option says otherwise: pasta's own,
 * as Podman gives rootless networks.  At 1500 each container's TCP goes to
 * Debian 12's pasta in 1460-byte segments: a container's bulk upload to the
 * host crawled at 1-7 MB/s and was cut off after 26-140 MB; at 65520 it
 * completes (18-161 MB/s).  Nothing outside sees it: pasta splits what
 * leaves the host to the path's MTU.
 */
export const DEFAULT_BRIDGE_MTU = 65520;

/** The MTU of a network's interfaces (the record's `mtu` option, checked when it was created). */
export function networkMtu(net: Pick<NetworkRecord, 'options'>): number {
  const v = Number(net.options?.mtu);
  return Number.isInteger(v) && v > 0 ? v : DEFAULT_BRIDGE_MTU;
}

/** Linux's bounds for an Ethernet device's MTU (IPv4's minimum; a veth's maximum). */
export const MIN_MTU = 68;
export const MAX_MTU = 65535;

const IFACE = /^eth\d{1,4}$/;
const VETH = /^veth[0-9a-f]{8}$/;
const BRIDGE = /^selkie\d{1,6}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Every value attachScript puts into the script, checked again (they come from records and ipam.json). */
export function checkScriptValues(a: IpamNetwork): void {
  const ok =
    IFACE.test(a.iface) &&
    VETH.test(a.veth) &&
    BRIDGE.test(a.bridge) &&
    MAC.test(a.mac) &&
    Number.isInteger(a.prefixLen) &&
    a.prefixLen >= 0 &&
    a.prefixLen <= 32 &&
    ipToInt(a.ip) !== undefined &&
    ipToInt(a.gateway) !== undefined &&
    (a.mtu === undefined || (Number.isInteger(a.mtu) && a.mtu >= MIN_MTU && a.mtu <= MAX_MTU));
  if (!ok) throw new NetworkSetupError(`network ${a.name}: refusing an invalid interface, address or bridge in ${JSON.stringify(a)}`);
}

/** The shell script that makes the veths (run in the container's netns), and the part run in the rootless netns. */
export function attachScript(opts: {
  mode: 'start' | 'connect';
  rootless: string;
  adds: IpamNetwork[];
  defaultRoute?: string;
  nft?: string;
}): string {
  for (const a of opts.adds) checkScriptValues(a);
  if (opts.defaultRoute !== undefined && ipToInt(opts.defaultRoute) === undefined) throw new NetworkSetupError(`invalid default route ${JSON.stringify(opts.defaultRoute)}`);
  const lines: string[] = [];
  if (opts.mode === 'start') {
    lines.push(NETNS_SYSCTLS, 'ip link set lo up');
  }
  for (const a of opts.adds) {
    const mtu = a.mtu ?? DEFAULT_BRIDGE_MTU;
    lines.push(`ip link add ${a.iface} mtu ${mtu} address ${a.mac} type veth peer name ${a.veth} mtu ${mtu} netns ${q(opts.rootless)}`);
    lines.push(`ip addr add ${a.ip}/${a.prefixLen} dev ${a.iface}`, `ip link set ${a.iface} up`);
  }
  if (opts.defaultRoute) lines.push(`ip route add default via ${opts.defaultRoute}`);
  const inner: string[] = [];
  for (const a of opts.adds) {
    // A bridge left by a removed network of the same name must not keep that
    // network's address; one that has the right address keeps it untouched
    // (a flush would cut off the others on the network for a moment).
    const want = `${a.gateway}/${a.prefixLen}`;
    inner.push(
      `ip link show ${a.bridge} >/dev/null 2>&1 || ip link add ${a.bridge} type bridge`,
      `if [ "$(ip -4 -o addr show dev ${a.bridge} | awk '{print $4}')" != "${want}" ]; then ip addr flush dev ${a.bridge}; ip addr add ${want} dev ${a.bridge}; fi`,
      `ip link set ${a.bridge} up`,
      `ip link set ${a.veth} master ${a.bridge} up`,
    );
  }
  if (opts.nft) inner.push(`nft -f - <<'SELKIE_NFT'`, opts.nft.trimEnd(), 'SELKIE_NFT');
  if (inner.length) lines.push(`nsenter --net=${q(opts.rootless)} /bin/sh -eu <<'SELKIE_ROOTLESS'`, ...inner, 'SELKIE_ROOTLESS');
  return lines.join('\n') + '\n';
}

/**
 * Joins a container to networks: addresses allocated, veths made, the
 * bridges (and the rootless netns) made when missing, the nft table brought
 * up to date, and the hosts files of everyone on those networks rewritten.
 * mode start also makes the container's netns at netnsFile (lo only when
 * there is no network).  All or nothing: on failure nothing is recorded.
 */
export async function attachBridge(paths: BridgePaths, ctr: BridgeContainer, joins: BridgeJoin[], opts: AttachOptions): Promise<NetworkAddress[]> {
  const dir = rootlessDir(paths);
  const rootless = join(dir, 'netns');
  const pastaOptions = joins.length ? await opts.pastaOptions() : [];
  return withLockAsync(lockPath(paths), async () => {
    if (opts.mode === 'start') {
      // a netns of an earlier run still mounted there (it crashed): not stacked on
      if (isMountPoint(ctr.netnsFile)) unmountNetns(ctr.netnsFile);
      closeSync(openSync(ctr.netnsFile, 'w', 0o600));
    }
    if (!joins.length) {
      if (opts.mode === 'start') run('unshare', [`--net=${ctr.netnsFile}`, '/bin/sh', '-euc', `${NETNS_SYSCTLS}; ip link set lo up`], '', 'cannot create a network namespace');
      return [];
    }
    const ipam = readIpam(dir);
    // entries of containers that died unobserved, and (start) this one's own
    // from a run that was never cleaned up: their addresses are free again
    const stale: IpamNetwork[] = [];
    for (const [id, e] of Object.entries(ipam.containers)) {
      const dead = id === ctr.id ? opts.mode === 'start' : !starterAlive(e) && !opts.isLive(id);
      if (!dead) continue;
      stale.push(...e.networks);
      delete ipam.containers[id];
    }
    const fresh = ensureRootless(paths, pastaOptions);
    if (!fresh) deleteVeths(rootless, stale);
    const entry: IpamEntry = ipam.containers[ctr.id] ?? { name: ctr.name, hostname: ctr.hostname, runDir: ctr.runDir, addHosts: ctr.addHosts, networks: [] };
    if (opts.mode === 'start') entry.starter = selfStarter();
    const adds: IpamNetwork[] = [];
    try {
      for (const j of joins) {
        if (entry.networks.some((n) => n.name === j.net.name)) throw new NetworkSetupError(`container ${ctr.name} is already connected to network ${j.net.name}`);
        const { subnet, gateway } = j.net.subnets[0];
        const used = Object.values(ipam.containers).flatMap((e) => e.networks.filter((n) => n.name === j.net.name).map((n) => n.ip));
        let ip: string;
        try {
          ip = allocateIp(subnet, gateway, used, j.ip);
        } catch (err) {
          if (err instanceof IpamError) throw new NetworkSetupError(`network ${j.net.name}: ${err.message}`);
          throw err;
        }
        const taken = new Set([...entry.networks, ...adds].map((n) => n.iface));
        let i = 0;
        while (taken.has(`eth${i}`)) i++;
        const a: IpamNetwork = {
          name: j.net.name,
          id: j.net.id,
          iface: `eth${i}`,
          ip,
          prefixLen: Number(subnet.split('/')[1]),
          gateway,
          mac: randomMac(),
          aliases: j.aliases,
          veth: `veth${randomHex(4)}`,
          bridge: j.net.network_interface,
          dns: j.net.dns_enabled,
          mtu: networkMtu(j.net),
        };
        adds.push(a);
        // an address is taken within this call too
        used.push(ip);
      }
      const rules = nftRuleset(opts.allNetworks().map((n) => ({ bridge: n.network_interface, subnet: n.subnets[0].subnet, internal: n.internal })));
      let applied = '';
      try {
        applied = readFileSync(join(dir, 'nft.rules'), 'utf8');
      } catch {
        /* none yet */
      }
      const needsRoute = opts.mode === 'start' || entry.networks.length === 0;
      const script = attachScript({
        mode: opts.mode,
        rootless,
        adds,
        defaultRoute: needsRoute ? adds[0].gateway : undefined,
        nft: fresh || applied !== rules ? rules : undefined,
      });
      const cmd = opts.mode === 'start' ? 'unshare' : 'nsenter';
      run(cmd, [`--net=${ctr.netnsFile}`, '/bin/sh', '-eu'], script, `cannot attach ${ctr.name} to network ${joins.map((j) => j.net.name).join(', ')}`);
      if (applied !== rules) writeFileAtomic(join(dir, 'nft.rules'), rules, 0o600, false);
    } catch (err) {
      if (opts.mode === 'connect') deleteVeths(rootless, adds);
      if (!Object.keys(ipam.containers).some((id) => id !== ctr.id && ipam.containers[id].networks.length)) {
        if (opts.mode === 'start' || !entry.networks.length) teardownRootless(paths);
      }
      throw err;
    }
    entry.networks.push(...adds);
    ipam.containers[ctr.id] = entry;
    writeIpam(dir, ipam);
    rewriteHosts(ipam, new Set(entry.networks.map((n) => n.name)));
    return entry.networks.map(({ name, id, iface, ip, prefixLen, gateway, mac }) => ({ name, id, iface, ip, prefixLen, gateway, mac }));
  });
}

function deleteVeths(rootless: string, list: { veth: string }[]): void {
  const veths = list.map((n) => n.veth).filter((v) => VETH.test(v));
  if (!veths.length || !existsSync(rootless)) return;
  const script = veths.map((v) => `ip link del ${v} 2>/dev/null || true`).join('\n');
  spawnSync('nsenter', [`--net=${rootless}`, '/bin/sh'], { input: script, encoding: 'utf8', timeout: 30_000, env: toolEnv() });
}

/** Sets the default route of a running container's netns (best effort: it may be going away). */
function defaultRouteVia(netnsFile: string, gateway: string): void {
  if (ipToInt(gateway) === undefined || !existsSync(netnsFile)) return;
  spawnSync('nsenter', [`--net=${netnsFile}`, '/bin/sh'], { input: `ip route replace default via ${gateway}\n`, encoding: 'utf8', timeout: 30_000, env: toolEnv() });
}

/**
 * A container leaves networks (all of them when `networks` is undefined:
 * it stopped).  live: it keeps running, so its veths are deleted now (a
 * stopped container's go with its netns).  The hosts files of those left
 * behind are rewritten; the last container out removes the rootless netns.
 * Returns the addresses it keeps.  Idempotent.
 */
export function detachBridge(paths: BridgePaths, id: string, networks?: string[], live = false): NetworkAddress[] {
  const dir = rootlessDir(paths);
  if (!existsSync(dir)) return [];
  return withLock(lockPath(paths), () => {
    const ipam = readIpam(dir);
    const entry = ipam.containers[id];
    let kept: IpamNetwork[] = [];
    if (entry) {
      const leaving = entry.networks.filter((n) => !networks || networks.includes(n.name));
      kept = entry.networks.filter((n) => !leaving.includes(n));
      if (live) {
        deleteVeths(join(dir, 'netns'), leaving);
        // the default route went with the first network's veth: through the next one now
        if (kept.length && leaving.includes(entry.networks[0])) defaultRouteVia(join(entry.runDir, 'netns'), kept[0].gateway);
      }
      if (kept.length) entry.networks = kept;
      else delete ipam.containers[id];
      // its own file too, when it keeps running: it loses the peers of the networks it left
      const affected = new Set([...leaving, ...kept].map((n) => n.name));
      if (live && !kept.length) {
        try {
          writeFileSync(join(entry.runDir, 'hosts'), hostsText({ hostname: entry.hostname, name: entry.name, addHosts: entry.addHosts }));
        } catch {
          /* going away */
        }
      }
      writeIpam(dir, ipam);
      rewriteHosts(ipam, affected);
    }
    if (!Object.values(ipam.containers).some((e) => e.networks.length)) teardownRootless(paths);
    return kept.map(({ name, id: nid, iface, ip, prefixLen, gateway, mac }) => ({ name, id: nid, iface, ip, prefixLen, gateway, mac }));
  });
}

/**
 * Deletes a removed network's bridge from the rootless netns, when both
 * exist.  The caller holds the networks lock.
 */
export function deleteBridge(paths: BridgePaths, bridge: string): void {
  const ns = rootlessNetnsPath(paths);
  if (!BRIDGE.test(bridge) || !isMountPoint(ns)) return;
  run('nsenter', [`--net=${ns}`, '/bin/sh', '-eu'], `if ip link show ${bridge} >/dev/null 2>&1; then ip link del ${bridge}; fi\n`, `cannot delete bridge ${bridge}`);
}

/** Whether the store's rootless netns exists (for tests and `info`). */
export function rootlessActive(paths: BridgePaths): boolean {
  return isMountPoint(rootlessNetnsPath(paths));
}
