// User-defined networks: containers on one network reach each other by name
// and alias, containers on another cannot; connect/disconnect of a running
// container; the network commands; the rootless netns going away with the
// last container; outbound traffic through it.  Only loopback and the
// project's own network namespaces are ever contacted.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootlessDir } from '../../src/network/bridge';
import { ensureBusybox, graphRoot, ok, runRoot, selkie, selkieAsync, tempDir, waitFor } from './helpers';
import { ensureNetImage, fetchText, freePort, udpRoundTrip } from './net-helpers';

let IMG: string;
const NET_IMG = 'localhost/itest-net:latest';
const work = tempDir('selkie-nets-');
const HTTPD = (text: string) => `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`;
/** busybox's wget -T crashes (Debian 1.35): a timeout around it instead. */
const fetchIn = (url: string, secs = 3) => `timeout ${secs} wget -qO- ${url}`;

function netDir(): string {
  return rootlessDir({ graphRoot: graphRoot(), runRoot: runRoot() });
}

/** pasta processes that serve this store's rootless netns. */
function rootlessPastas(): number[] {
  const dir = netDir();
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.startsWith('pasta') && cmd.includes(dir)) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Every name an /etc/hosts text gives an address. */
function hostNames(hosts: string): string[] {
  return hosts.split('\n').flatMap((line) => line.trim().split(/\s+/).slice(1));
}

function ipOf(ctr: string, net: string): string {
  return JSON.parse(ok(['inspect', ctr]))[0].NetworkSettings.Networks[net].IPAddress;
}

beforeAll(async () => {
  IMG = await ensureBusybox();
  await ensureNetImage(work, NET_IMG);
}, 120_000);

afterAll(() => {
  selkie(['rm', '-af']);
  for (const n of ['neta', 'netb', 'spare', 'out', 'closed', 'gone', 'again', 'podman1']) selkie(['network', 'rm', '-f', n]);
  rmSync(work, { recursive: true, force: true });
});

describe('network commands', () => {
  it('create, ls, inspect, exists; errors as Podman', () => {
    expect(ok(['network', 'create', 'neta']).trim()).toBe('neta');
    const again = selkie(['network', 'create', 'neta']);
    expect(again.code).toBe(125);
    expect(again.stderr).toContain('Error: network name neta already used: network already exists');
    expect(selkie(['network', 'create', '--ignore', 'neta']).code).toBe(0);
    expect(ok(['network', 'create', '--subnet', '10.123.45.0/24', '--gateway', '10.123.45.254', '--label', 'k=v', 'netb']).trim()).toBe('netb');
    const overlap = selkie(['network', 'create', '--subnet', '10.123.45.128/25', 'bad']);
    expect(overlap.code).toBe(125);
    expect(overlap.stderr).toContain('already used on the host or by another config');

    expect(selkie(['network', 'exists', 'neta']).code).toBe(0);
    expect(selkie(['network', 'exists', 'nope']).code).toBe(1);

    const ls = ok(['network', 'ls']).trim().split('\n');
    expect(ls[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER$/);
    expect(ls.slice(1).map((l) => l.split(/\s+/)[1])).toEqual(['podman', 'neta', 'netb']);
    expect(ls[1]).toMatch(/^[0-9a-f]{12}\s+podman\s+bridge$/);
    expect(ok(['network', 'ls', '-q']).trim().split('\n')).toEqual(['podman', 'neta', 'netb']);
    expect(ok(['network', 'ls', '--filter', 'label=k=v', '--format', '{{.Name}}']).trim()).toBe('netb');
    expect(ok(['network', 'ls', '--no-trunc', '--filter', 'name=^neta$', '--format', '{{.ID}}']).trim()).toMatch(/^[0-9a-f]{64}$/);

    const [info] = JSON.parse(ok(['network', 'inspect', 'netb']));
    expect(info).toMatchObject({
      name: 'netb',
      driver: 'bridge',
      subnets: [{ subnet: '10.123.45.0/24', gateway: '10.123.45.254' }],
      ipv6_enabled: false,
      internal: false,
      dns_enabled: true,
      labels: { k: 'v' },
      ipam_options: { driver: 'host-local' },
    });
    expect(info.id).toMatch(/^[0-9a-f]{64}$/);
    expect(info.network_interface).toMatch(/^selkie\d+$/);
    expect(ok(['network', 'inspect', info.id.slice(0, 12), '-f', '{{.Name}} {{.Driver}}']).trim()).toBe('netb bridge');
    const [neta] = JSON.parse(ok(['network', 'inspect', 'neta']));
    expect(neta.subnets[0].subnet).toMatch(/^10\.89\.\d+\.0\/24$/);
    const missing = selkie(['network', 'inspect', 'nope']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain('unable to find network with name or ID nope: network not found');
    const run = selkie(['create', '--network', 'nope', IMG, 'true']);
    expect(run.code).toBe(125);
    expect(run.stderr).toContain('network not found');
    expect(selkie(['network', 'rm', 'podman']).code).toBe(125);
    // unnamed: podman1, podman2, ... as Podman
    expect(ok(['network', 'create']).trim()).toBe('podman1');
    ok(['network', 'rm', 'podman1']);
    // too long for NAME.json: a clear error, not ENAMETOOLONG
    for (const len of [201, 251, 253]) {
      const long = selkie(['network', 'create', 'n'.repeat(len)]);
      expect(long.code).toBe(125);
      expect(long.stderr).toContain('200 characters at most');
      expect(long.stderr).not.toContain('ENAMETOOLONG');
    }
    expect(selkie(['network', 'inspect', 'n'.repeat(253)]).stderr).toContain('network not found');
  });
});

describe('MTU', () => {
  it("gives a network's interfaces pasta's MTU, or its -o mtu, and Reno over BBR; other options and bad values are refused", () => {
    ok(['network', 'create', 'mtubig']);
    ok(['network', 'create', '-o', 'mtu=1400', 'mtusmall']);
    expect(JSON.parse(ok(['network', 'inspect', 'mtusmall']))[0].options).toEqual({ mtu: '1400' });
    // (ip, not /sys/class/net: a rootless container's /sys shows another netns)
    const mtu = (net: string) => /\bmtu (\d+)/.exec(ok(['run', '--rm', '--network', net, IMG, 'ip', '-o', 'link', 'show', 'eth0']))?.[1];
    expect(mtu('mtubig')).toBe('65520');
    expect(mtu('mtusmall')).toBe('1400');
    // The container's TCP ends at pasta on this machine: Reno where the host paces with BBR (network/congestion.ts).
    const host = readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
    expect(ok(['run', '--rm', '--network', 'mtubig', IMG, 'cat', '/proc/sys/net/ipv4/tcp_congestion_control']).trim()).toBe(host.startsWith('bbr') ? 'reno' : host);
    for (const [opt, msg] of [
      ['mtu=abc', 'invalid mtu "abc"'],
      ['mtu=65536', 'invalid mtu "65536"'],
      ['vlan=3', 'unsupported bridge network option vlan'],
    ]) {
      const r = selkie(['network', 'create', '-o', opt, 'mtubad']);
      expect(r.code, opt).toBe(125);
      expect(r.stderr).toContain(msg);
    }
    ok(['network', 'rm', 'mtubig', 'mtusmall']);
  });
});

describe('name resolution and isolation', () => {
  it('containers on one network reach each other by name and alias; another network reaches neither name nor address', async () => {
    ok(['run', '-d', '--network', 'neta', '--name', 'db', '--network-alias', 'database', IMG, 'sh', '-c', HTTPD('hello-from-db')]);
    const dbIp = ipOf('db', 'neta');
    expect(dbIp).toMatch(/^10\.89\.\d+\.2$/);

    const same = ok(['run', '--rm', '--network', 'neta', IMG, 'sh', '-c', `cat /etc/hosts; ${fetchIn('http://db/')} && ${fetchIn('http://database/')}`]);
    expect(same).toContain(`${dbIp}\tdb database `);
    expect(same.match(/hello-from-db/g)).toHaveLength(2);

    const other = selkie(['run', '--rm', '--network', 'netb', IMG, 'sh', '-c', `${fetchIn(`http://${dbIp}/`, 2)}; echo by-ip=$?; ${fetchIn('http://db/', 2)}; echo by-name=$?; cat /etc/hosts`]);
    expect(other.stdout).not.toContain('hello-from-db');
    expect(other.stdout).toMatch(/by-ip=[1-9]/);
    expect(other.stdout).toMatch(/by-name=[1-9]/);
    expect(other.stdout).not.toMatch(/\tdb\b/);

    const info = JSON.parse(ok(['inspect', 'db']))[0];
    expect(info.HostConfig.NetworkMode).toBe('neta');
    expect(info.NetworkSettings.IPAddress).toBe(dbIp);
    expect(info.NetworkSettings.Networks.neta).toMatchObject({ IPAddress: dbIp, IPPrefixLen: 24, Aliases: ['database', info.Id.slice(0, 12)] });
    expect(info.NetworkSettings.Networks.neta.MacAddress).toMatch(/^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
    // Podman 4: the network's name, running or stopped
    expect(info.NetworkSettings.Networks.neta.NetworkID).toBe('neta');
    expect(ok(['ps', '--format', '{{.Names}}']).split('\n')).toContain('db');
  }, 60_000);

  it('containers on a network ping each other by name without CAP_NET_RAW (an ICMP echo socket)', () => {
    ok(['run', '-d', '--network', 'neta', '--name', 'pingee', NET_IMG, 'sleep', '600']);
    const byName = "icmpecho $(awk '$2 == \"pingee\" {print $1; exit}' /etc/hosts)";
    for (const args of [[], ['--userns=auto'], ['-u', '33:33']]) {
      const r = selkie(['run', '--rm', ...args, '--network', 'neta', NET_IMG, 'sh', '-c', byName]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toBe('reply\n');
    }
    ok(['rm', '-f', 'pingee']);
  }, 60_000);

  it('publishes ports of a bridge container on the host (TCP and UDP through the port forwarder)', async () => {
    const tcp = await freePort();
    const udp = await freePort();
    selkie(['rm', '-f', 'pubweb']);
    ok(['run', '-d', '--network', 'neta', '--name', 'pubweb', '-p', `127.0.0.1:${tcp}:80`, '-p', `127.0.0.1:${udp}:7/udp`, NET_IMG, 'sh', '-c', `udpecho 7 & ${HTTPD('hello-from-pubweb')}`]);
    try {
      expect(ok(['port', 'pubweb', '80']).trim()).toBe(`127.0.0.1:${tcp}`);
      expect(await fetchText(`http://127.0.0.1:${tcp}/`)).toBe('hello-from-pubweb\n');
      expect(await udpRoundTrip(udp, 'ping over udp')).toBe('ping over udp');
      // The host port is taken while it runs, by the forwarder.
      const again = selkie(['run', '-d', '--network', 'neta', '-p', `127.0.0.1:${tcp}:80`, IMG, 'true']);
      expect(again.code).toBe(125);
      expect(again.stderr).toMatch(/address already in use/);
    } finally {
      ok(['rm', '-f', 'pubweb']);
    }
    // ... and free again once the container is gone: nothing listens.
    await expect(fetch(`http://127.0.0.1:${tcp}/`)).rejects.toThrow();
  }, 60_000);

  it('connect and disconnect change what a running container reaches; its peers\' hosts files follow', () => {
    const dbIp = ipOf('db', 'neta');
    ok(['run', '-d', '--network', 'netb', '--name', 'cli', IMG, 'sleep', '300']);
    expect(selkie(['exec', 'cli', 'sh', '-c', fetchIn(`http://${dbIp}/`, 2)]).code).not.toBe(0);

    ok(['network', 'connect', '--alias', 'client', 'neta', 'cli']);
    expect(ok(['exec', 'cli', 'sh', '-c', fetchIn('http://db/')])).toBe('hello-from-db\n');
    expect(ok(['exec', 'db', 'cat', '/etc/hosts'])).toMatch(/\tcli client [0-9a-f]{12}\n/);
    const nets = JSON.parse(ok(['inspect', 'cli', '--format', '{{json .NetworkSettings.Networks}}']));
    expect(Object.keys(nets)).toEqual(['netb', 'neta']);
    expect(nets.neta.IPAddress).toMatch(/^10\.89\.\d+\.3$/);

    const rmInUse = selkie(['network', 'rm', 'neta']);
    expect(rmInUse.code).toBe(2);
    expect(rmInUse.stderr).toContain('"neta" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used');

    ok(['network', 'disconnect', 'neta', 'cli']);
    expect(selkie(['exec', 'cli', 'sh', '-c', fetchIn(`http://${dbIp}/`, 2)]).code).not.toBe(0);
    // Names are compared whole: a container ID (a hostname) may contain "db" by chance.
    expect(hostNames(ok(['exec', 'db', 'cat', '/etc/hosts']))).not.toContain('cli');
    expect(hostNames(ok(['exec', 'cli', 'cat', '/etc/hosts']))).not.toContain('db');
    expect(selkie(['network', 'disconnect', 'neta', 'cli']).code).toBe(125);
  }, 60_000);

  it('disconnecting a running container\'s first network: refused while it publishes ports, else the default route moves to the next one', async () => {
    const port = await freePort();
    ok(['run', '-d', '--network', 'netb', '--network', 'neta', '--name', 'two', '-p', `127.0.0.1:${port}:80`, IMG, 'sleep', '300']);
    try {
      const refused = selkie(['network', 'disconnect', 'netb', 'two']);
      expect(refused.code).toBe(125);
      expect(refused.stderr).toContain('published ports are forwarded to its address on that network');
      expect(Object.keys(JSON.parse(ok(['inspect', 'two', '--format', '{{json .NetworkSettings.Networks}}'])))).toEqual(['netb', 'neta']);
      // not its first network: allowed
      ok(['network', 'disconnect', 'neta', 'two']);
    } finally {
      ok(['rm', '-f', 'two']);
    }
    ok(['run', '-d', '--network', 'netb', '--network', 'neta', '--name', 'two', IMG, 'sleep', '300']);
    try {
      ok(['network', 'disconnect', 'netb', 'two']);
      // eth1 (neta) carries the default route now
      expect(ok(['exec', 'two', 'cat', '/proc/net/route'])).toMatch(/^eth1\s+00000000\s/m);
    } finally {
      ok(['rm', '-f', 'two']);
    }
  }, 60_000);

  it('concurrent starts on one network get different addresses', async () => {
    const runs = await Promise.all([1, 2, 3, 4].map((i) => selkieAsync(['run', '-d', '--network', 'neta', '--name', `par${i}`, IMG, 'sleep', '300'])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const ips = [1, 2, 3, 4].map((i) => ipOf(`par${i}`, 'neta'));
    expect(new Set([...ips, ipOf('db', 'neta')]).size).toBe(5);
    // each of them is in the others' hosts files
    expect(ok(['exec', 'par1', 'cat', '/etc/hosts'])).toMatch(/\tpar4 [0-9a-f]{12}\n/);
    ok(['rm', '-f', 'par1', 'par2', 'par3', 'par4']);
  }, 90_000);

  it('a removed network\'s bridge leaves the rootless netns; the next network given its name has its own address', async () => {
    ok(['network', 'create', '--subnet', '10.124.7.0/24', 'gone']);
    ok(['run', '--rm', '--network', 'gone', IMG, 'true']);
    const bridge = JSON.parse(ok(['network', 'inspect', 'gone']))[0].network_interface;
    ok(['network', 'rm', 'gone']);
    // the port forwarder lives in the rootless netns: its /proc/PID/net/dev lists the bridges there
    const port = await freePort();
    ok(['run', '-d', '--network', 'neta', '--name', 'fwd', '-p', `127.0.0.1:${port}:80`, IMG, 'sleep', '300']);
    try {
      const fwd = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).find((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes('forward') && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`:${port}:`);
        } catch {
          return false;
        }
      });
      expect(fwd).toBeDefined();
      const devs = readFileSync(`/proc/${fwd}/net/dev`, 'utf8');
      expect(devs).toMatch(/\bselkie\d+:/);
      expect(devs).not.toContain(`${bridge}:`);
    } finally {
      ok(['rm', '-f', 'fwd']);
    }
    ok(['network', 'create', '--subnet', '10.124.8.0/24', 'again']);
    expect(JSON.parse(ok(['network', 'inspect', 'again']))[0].network_interface).toBe(bridge);
    try {
      // the gateway answers (a refused connection), as it would not with the old address on the bridge
      const r = selkie(['run', '--rm', '--network', 'again', IMG, 'sh', '-c', `${fetchIn('http://10.124.8.1:9/')} 2>&1; true`]);
      expect(r.stdout).toContain('Connection refused');
    } finally {
      ok(['network', 'rm', 'again']);
    }
  }, 90_000);

  it('a stopped container connects by config; rm -f of a network removes its containers; prune keeps what is used', () => {
    ok(['create', '--name', 'idle', '--network', 'netb', IMG, 'true']);
    ok(['network', 'connect', 'neta', 'idle']);
    expect(Object.keys(JSON.parse(ok(['inspect', 'idle', '--format', '{{json .NetworkSettings.Networks}}'])))).toEqual(['netb', 'neta']);
    expect(ok(['inspect', 'idle', '--format', '{{(index .NetworkSettings.Networks "neta").NetworkID}}']).trim()).toBe('neta');
    ok(['network', 'create', 'spare']);
    expect(ok(['network', 'prune', '-f']).trim()).toBe('spare');
    expect(selkie(['network', 'exists', 'spare']).code).toBe(1);
    expect(ok(['network', 'rm', '-f', 'netb']).trim()).toBe('netb');
    expect(selkie(['container', 'exists', 'cli']).code).toBe(1);
    expect(selkie(['container', 'exists', 'idle']).code).toBe(1);
    expect(selkie(['container', 'exists', 'db']).code).toBe(0);
  }, 60_000);

  it('the rootless netns and its pasta go with the last container', async () => {
    expect(rootlessPastas().length).toBe(1);
    ok(['rm', '-f', 'db']);
    // pasta is sent SIGTERM; it may take a moment to go.
    await waitFor(() => rootlessPastas().length === 0, 5000);
    expect(existsSync(netDir())).toBe(false);
  }, 60_000);
});

describe('outbound', () => {
  it('reaches a server on the host\'s loopback through pasta (pasta_options --map-gw from containers.conf); an --internal network reaches its own peers and nothing else', async () => {
    const route = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/)).find((f) => f[1] === '00000000');
    // no default route: pasta has no gateway to map, the host part is left out
    const g = route ? Number.parseInt(route[2], 16) : undefined;
    const gw = g === undefined ? undefined : [g & 255, (g >>> 8) & 255, (g >>> 16) & 255, g >>> 24].join('.');
    const server = createServer((_req, res) => res.end('hello-from-host\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const conf = join(work, 'containers.conf');
    writeFileSync(conf, '[network]\npasta_options = ["--map-gw"]\n');
    try {
      ok(['network', 'create', 'out']);
      ok(['network', 'create', '--internal', 'closed']);
      // the first container makes the rootless netns: pasta gets containers.conf's options
      ok(['run', '-d', '--name', 'holder', '--network', 'out', IMG, 'sh', '-c', HTTPD('hello-from-out')], { env: { CONTAINERS_CONF: conf } });
      if (gw) {
        const r = await selkieAsync(['run', '--rm', '--network', 'out', IMG, 'sh', '-c', `cat /etc/resolv.conf; ${fetchIn(`http://${gw}:${port}/`, 5)}`]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain('nameserver 169.254.1.1');
        expect(r.stdout).toContain('hello-from-host');
      }
      // an --internal network: its own peers answer (the control), nothing outside it does
      ok(['run', '-d', '--name', 'inside', '--network', 'closed', IMG, 'sh', '-c', HTTPD('hello-inside')]);
      const outside = [`http://${ipOf('holder', 'out')}/`, ...(gw ? [`http://${gw}:${port}/`] : [])];
      const closed = await selkieAsync(['run', '--rm', '--network', 'closed', IMG, 'sh', '-c', [`${fetchIn('http://inside/')}; echo peer=$?`, ...outside.map((u) => `${fetchIn(u, 2)}; echo out=$?`)].join('; ')]);
      expect(closed.stdout).toContain('hello-inside');
      expect(closed.stdout).toContain('peer=0');
      expect(closed.stdout).not.toContain('hello-from-out');
      expect(closed.stdout).not.toContain('hello-from-host');
      expect(closed.stdout.match(/out=[1-9]/g)).toHaveLength(outside.length);
      ok(['rm', '-f', 'holder', 'inside']);
      await waitFor(() => rootlessPastas().length === 0, 5000);
    } finally {
      server.close();
    }
  }, 60_000);
});
