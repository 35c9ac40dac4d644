// Rootless networking end to end: pasta (the default) and slirp4netns,
// published TCP and UDP ports, --network none / container:X, resolv.conf,
// hosts, and what `port`, `inspect` and `ps` show.  Only the host's loopback
// and the containers' own network namespaces are ever contacted.
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBusybox, ok, selkie, selkieAsync, tempDir } from './helpers';
import { ensureNetImage, fetchText, freePort, udpRoundTrip } from './net-helpers';

let IMG: string;
const NET_IMG = 'localhost/itest-net:latest';
const work = tempDir('selkie-net-');

const HTTPD = 'mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www';

beforeAll(async () => {
  IMG = await ensureBusybox();
  await ensureNetImage(work, NET_IMG);
}, 120_000);

afterAll(() => {
  selkie(['rm', '-af']);
  rmSync(work, { recursive: true, force: true });
});

describe('pasta (the default network)', () => {
  it('serves HTTP on a published port; port, inspect and ps show it; the same host port cannot be published twice', async () => {
    const port = await freePort();
    ok(['run', '-d', '--name', 'web', '--hostname', 'webhost', '-p', `127.0.0.1:${port}:80`, IMG, 'sh', '-c', HTTPD]);
    expect(await fetchText(`http://127.0.0.1:${port}/`)).toBe('hello-from-webhost\n');

    expect(ok(['port', 'web']).trim()).toBe(`80/tcp -> 127.0.0.1:${port}`);
    expect(ok(['port', 'web', '80']).trim()).toBe(`127.0.0.1:${port}`);
    expect(selkie(['port', 'web', '81']).code).toBe(125);
    const info = JSON.parse(ok(['inspect', 'web']))[0];
    expect(info.NetworkSettings.Ports).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
    expect(info.HostConfig.PortBindings).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
    expect(info.HostConfig.NetworkMode).toBe('pasta');
    expect(ok(['ps', '--format', '{{.Names}} {{.Ports}}'])).toContain(`web 127.0.0.1:${port}->80/tcp`);

    const second = selkie(['run', '-d', '--name', 'web2', '-p', `127.0.0.1:${port}:80`, IMG, 'sh', '-c', HTTPD]);
    expect(second.code).toBe(125);
    expect(second.stderr).toMatch(new RegExp(`port 127\\.0\\.0\\.1:${port}/tcp: address already in use`));
    // The first one still serves.
    expect(await fetchText(`http://127.0.0.1:${port}/`)).toBe('hello-from-webhost\n');

    // --network container:web shares its interfaces and its loopback.
    const shared = ok(['run', '--rm', '--network', 'container:web', IMG, 'sh', '-c', 'ls /sys/class/net; wget -qO- http://127.0.0.1:80/']);
    expect(shared).toContain('eth0');
    expect(shared).toContain('hello-from-webhost');
    ok(['rm', '-f', 'web', 'web2']);
    // pasta is gone with the container: the port is free again.
    expect(selkie(['ps', '-aq']).stdout.trim()).toBe('');
    let free = false;
    for (let i = 0; i < 50 && !free; i++) {
      free = await new Promise<boolean>((r) => {
        const srv = createServer();
        srv.once('error', () => r(false));
        srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => r(true)));
      });
      if (!free) await new Promise((r) => setTimeout(r, 100));
    }
    expect(free).toBe(true);
  }, 60_000);

  it('echoes UDP through a published UDP port; -P publishes the exposed ports on random host ports', async () => {
    const port = await freePort();
    // Same port on both sides: the installed pasta (2023-03-09) does not
    // deliver UDP to a container port other than the host port.
    ok(['run', '-d', '--name', 'udp', '-p', `127.0.0.1:${port}:${port}/udp`, NET_IMG, 'udpecho', String(port)]);
    expect(await udpRoundTrip(port, 'ping over udp')).toBe('ping over udp');
    expect(ok(['port', 'udp']).trim()).toBe(`${port}/udp -> 127.0.0.1:${port}`);
    ok(['rm', '-f', 'udp']);

    ok(['run', '-d', '--name', 'all', '-P', NET_IMG, 'sh', '-c', `udpecho 7 & ${HTTPD}`]);
    const lines = ok(['port', 'all']).trim().split('\n').sort();
    expect(lines).toHaveLength(2);
    const tcp = Number(/^80\/tcp -> 0\.0\.0\.0:(\d+)$/.exec(lines[1])?.[1]);
    const udp = Number(/^7\/udp -> 0\.0\.0\.0:(\d+)$/.exec(lines[0])?.[1]);
    expect(tcp).toBeGreaterThan(0);
    expect(udp).toBeGreaterThan(0);
    expect(await fetchText(`http://127.0.0.1:${tcp}/`)).toMatch(/^hello-from-/);
    const info = JSON.parse(ok(['inspect', 'all']))[0];
    expect(info.NetworkSettings.Ports['80/tcp']).toEqual([{ HostIp: '', HostPort: String(tcp) }]);
    ok(['rm', '-f', 'all']);
  }, 60_000);

  it("reaches the host's loopback only with --network pasta:--map-gw (or --map-host-loopback)", async () => {
    const server: Server = createServer((c) => c.end('host-loopback-server\n'));
    await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
    const port = (server.address() as { port: number }).port;
    try {
      // With --map-gw the gateway address is the host's loopback.  (The installed
      // pasta keeps repeating the data of a connection the host closed: first line only.)
      const mapped = await selkieAsync(['run', '--rm', '--network', 'pasta:--map-gw', IMG, 'sh', '-c', `gw=$(ip route | awk '/default/ {print $3}'); echo gw=$gw >&2; timeout 3 nc -w 2 $gw ${port} </dev/null | head -n 1`]);
      expect(mapped.stdout, mapped.stderr).toBe('host-loopback-server\n');
      // Newer pasta's spelling (Podman's docs): the installed pasta lacks it, so the gateway serves, with a warning.
      const spelled = await selkieAsync(['run', '--rm', '--network', 'pasta:--map-host-loopback', IMG, 'sh', '-c', `gw=$(ip route | awk '/default/ {print $3}'); timeout 3 nc -w 2 $gw ${port} </dev/null | head -n 1`]);
      expect(spelled.stdout, spelled.stderr).toBe('host-loopback-server\n');
      expect(spelled.stderr).toMatch(/no --map-host-loopback/);
      // Without it, the container's own loopback and address are not the host's.
      const plain = await selkieAsync(['run', '--rm', IMG, 'sh', '-c', `for a in 127.0.0.1 $(ip -4 addr show eth0 | awk '/inet/ {sub("/.*","",$2); print $2}'); do nc -w 2 $a ${port} </dev/null && echo REACHED; done; echo done`]);
      expect(plain.stdout).not.toContain('REACHED');
      expect(plain.stdout).not.toContain('host-loopback-server');
      expect(plain.stdout).toContain('done');
    } finally {
      server.close();
    }
  }, 60_000);

  it('lets the container ping without CAP_NET_RAW (ping_group_range), in every user namespace mode; --sysctl sets namespaced parameters only', () => {
    for (const args of [[], ['--userns=auto'], ['-u', '1000:1000'], ['--network', 'slirp4netns'], ['--network', 'none', '-u', '1000:1000']]) {
      const r = selkie(['run', '--rm', ...args, NET_IMG, 'sh', '-c', 'cat /proc/sys/net/ipv4/ping_group_range; icmpecho 127.0.0.1']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^\d+\s+\d+\nreply\n$/); // the range as the container sees it, then the echo reply
    }
    const set = ok(['run', '--rm', '--sysctl', 'net.ipv4.ip_unprivileged_port_start=80', '--sysctl', 'kernel.msgmax=4096', IMG, 'sh', '-c', 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/msgmax']);
    expect(set).toBe('80\n4096\n');
    ok(['create', '--name', 'with-sysctl', '--sysctl', 'net.core.somaxconn=64', IMG, 'true']);
    expect(ok(['inspect', '--format', '{{index .HostConfig.Sysctls "net.core.somaxconn"}}', 'with-sysctl']).trim()).toBe('64');
    ok(['rm', 'with-sysctl']);
    expect(selkie(['run', '--rm', '--sysctl', 'vm.swappiness=1', IMG, 'true']).stderr).toContain('sysctl "vm.swappiness" is not allowed in a container');
    expect(selkie(['run', '--rm', '--network', 'host', '--sysctl', 'net.ipv4.ip_forward=1', IMG, 'true']).stderr).toContain("the container shares the host's network namespace");
    expect(selkie(['run', '--rm', '--sysctl', 'nonsense', IMG, 'true']).code).toBe(125);
  });

  it("uses Reno for the container's TCP where the host paces with BBR (the leg to pasta or slirp4netns is local); --sysctl still chooses", () => {
    const host = readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
    // On a host without BBR by default the namespace keeps the host's choice.
    const expected = host.startsWith('bbr') ? 'reno' : host;
    for (const network of ['pasta', 'slirp4netns']) {
      expect(ok(['run', '--rm', '--network', network, IMG, 'cat', '/proc/sys/net/ipv4/tcp_congestion_control']).trim(), network).toBe(expected);
    }
    // A namespace crun makes (--network none) carries no traffic off the container: left as the host's.
    expect(ok(['run', '--rm', '--network', 'none', IMG, 'cat', '/proc/sys/net/ipv4/tcp_congestion_control']).trim()).toBe(host);
    // The user's choice wins (both are always allowed in a namespace: Reno, and the host's default).
    expect(ok(['run', '--rm', '--sysctl', `net.ipv4.tcp_congestion_control=${host}`, IMG, 'cat', '/proc/sys/net/ipv4/tcp_congestion_control']).trim()).toBe(host);
  });

  it('writes resolv.conf (pasta forwarder, or --dns*), hosts and hostname', () => {
    expect(ok(['run', '--rm', IMG, 'cat', '/etc/resolv.conf'])).toContain('nameserver 169.254.1.1');
    const custom = ok(['run', '--rm', '--dns', '192.0.2.53', '--dns-search', 'example.test', '--dns-option', 'ndots:3', IMG, 'cat', '/etc/resolv.conf']);
    expect(custom).toBe('search example.test\nnameserver 192.0.2.53\noptions ndots:3\n');
    const out = ok(['run', '--rm', '--name', 'named', '--hostname', 'box1', IMG, 'sh', '-c', `hostname; cat /etc/hostname; grep -c "box1 named" /etc/hosts; ${HTTPD.replace('exec httpd -f', 'httpd')}; wget -qO- http://named/ && wget -qO- http://box1/`]);
    expect(out).toBe('box1\nbox1\n1\nhello-from-box1\nhello-from-box1\n');
  });
});

describe('slirp4netns', () => {
  it('serves a published port and reaches the host loopback only with allow_host_loopback=true', async () => {
    const port = await freePort();
    ok(['run', '-d', '--name', 'sweb', '--hostname', 'slirp', '--network', 'slirp4netns', '-p', `127.0.0.1:${port}:80`, IMG, 'sh', '-c', HTTPD]);
    expect(await fetchText(`http://127.0.0.1:${port}/`)).toBe('hello-from-slirp\n');
    expect(ok(['run', '--rm', '--network', 'slirp4netns', IMG, 'cat', '/etc/resolv.conf'])).toContain('nameserver 10.0.2.3');
    ok(['rm', '-f', 'sweb']);

    // UDP through the forwarder (port_handler=rootlessport, the default),
    // to another container port than the host's.
    const uport = await freePort();
    ok(['run', '-d', '--name', 'sudp', '--network', 'slirp4netns', '-p', `127.0.0.1:${uport}:7/udp`, NET_IMG, 'udpecho', '7']);
    expect(await udpRoundTrip(uport, 'slirp udp')).toBe('slirp udp');
    ok(['rm', '-f', 'sudp']);
    // slirp4netns's own forwarding answers a loopback client from 10.0.2.2,
    // so only with the host's loopback allowed.
    const sport = await freePort();
    ok(['run', '-d', '--name', 'sudp2', '--network', 'slirp4netns:port_handler=slirp4netns,allow_host_loopback=true', '-p', `127.0.0.1:${sport}:${sport}/tcp`, IMG, 'sh', '-c', `httpd -f -p ${sport} -h /etc`]);
    expect(await fetchText(`http://127.0.0.1:${sport}/hostname`)).toMatch(/^[0-9a-f]{12}\n$/);
    ok(['rm', '-f', 'sudp2']);

    const server: Server = createServer((c) => c.end('host-loopback-server\n'));
    await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
    const hport = (server.address() as { port: number }).port;
    try {
      const allowed = await selkieAsync(['run', '--rm', '--network', 'slirp4netns:allow_host_loopback=true', IMG, 'nc', '-w', '3', '10.0.2.2', String(hport)]);
      expect(allowed.stdout).toBe('host-loopback-server\n');
      const denied = await selkieAsync(['run', '--rm', '--network', 'slirp4netns', IMG, 'sh', '-c', `nc -w 3 10.0.2.2 ${hport} </dev/null; echo done`]);
      expect(denied.stdout).toBe('done\n');
    } finally {
      server.close();
    }
  }, 60_000);

  it('gives the container IPv6 (fd00::/64, from slirp4netns\'s router advertisements) unless enable_ipv6=false, as Podman', () => {
    const v6 = ok(['run', '--rm', '--network', 'slirp4netns', IMG, 'sh', '-c', 'for i in $(seq 100); do ip -6 route | grep -q "^fd00::/64" && exec ip -6 addr show tap0; sleep 0.1; done; exit 1']);
    expect(v6).toMatch(/inet6 fd00::[0-9a-f:]+\/64 scope global/);
    const id = ok(['run', '-d', '--network', 'slirp4netns:enable_ipv6=false', IMG, 'sleep', '100']).trim();
    try {
      const slirps = readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .map((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
          } catch {
            return [];
          }
        })
        .filter((argv) => argv[0] === 'slirp4netns' && argv.some((a) => a.includes(id)));
      expect(slirps).toHaveLength(1);
      expect(slirps[0]).not.toContain('--enable-ipv6');
    } finally {
      ok(['rm', '-f', id]);
    }
  }, 60_000);
});

describe('the host by name: host.containers.internal and --add-host NAME:host-gateway', () => {
  it('name the address through which each network reaches the host, and are refused where there is none', async () => {
    // A server on the host's first IPv4 address (slirp4netns reaches it) and one on its loopback (pasta --map-gw reaches that).
    const hostIp = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.'))?.address;
    const serve = (host: string, text: string) =>
      new Promise<Server>((r) => {
        const srv: Server = createServer((c) => c.end(text));
        srv.listen({ host, port: 0 }, () => r(srv));
      });
    const loop = await serve('127.0.0.1', 'host-loopback-server\n');
    const onIp = hostIp ? await serve(hostIp, 'host-address-server\n') : undefined;
    const portOf = (srv: Server) => (srv.address() as { port: number }).port;
    try {
      // slirp4netns: the host's address, and the container's own is 10.0.2.100 (as Podman)
      if (onIp) {
        const r = await selkieAsync(['run', '--rm', '--name', 'hs1', '--network', 'slirp4netns', '--add-host', 'gw:host-gateway', IMG, 'sh', '-c', `cat /etc/hosts; nc -w 3 host.containers.internal ${portOf(onIp)} </dev/null | head -n 1`]);
        expect(r.code, r.stderr).toBe(0);
        const hosts = r.stdout.split('\n');
        expect(hosts).toContain(`${hostIp}\thost.containers.internal`);
        expect(hosts).toContain(`${hostIp}\tgw`);
        expect(hosts.some((l) => /^10\.0\.2\.100\t[0-9a-f]{12} hs1$/.test(l))).toBe(true);
        expect(hosts).toContain('host-address-server');
      }
      // pasta with --map-gw: the gateway address, which reaches the host's loopback (first line: see above)
      const mapped = await selkieAsync(['run', '--rm', '--network', 'pasta:--map-gw', '--add-host', 'gw:host-gateway', IMG, 'sh', '-c', `gw=$(ip route | awk '/default/ {print $3}'); grep -q "^$gw	host.containers.internal$" /etc/hosts && grep -q "^$gw	gw$" /etc/hosts && echo names-ok; timeout 3 nc -w 2 host.containers.internal ${portOf(loop)} </dev/null | head -n 1`]);
      expect(mapped.stdout, mapped.stderr).toBe('names-ok\nhost-loopback-server\n');
      // pasta without it, and --network none: no way to the host, so no name for it
      expect(ok(['run', '--rm', IMG, 'cat', '/etc/hosts'])).not.toContain('host.containers.internal');
      for (const net of ['pasta', 'none']) {
        const refused = selkie(['create', '--network', net, '--add-host', 'gw:host-gateway', IMG, 'true']);
        expect(refused.code).toBe(125);
        expect(refused.stderr).toBe('Error: --add-host gw:host-gateway: this network gives the container no address of the host (use --network slirp4netns, or pasta with --map-gw)\n');
      }
      // inspect shows --add-host as given, as Podman
      ok(['create', '--name', 'xh', '--network', 'pasta:--map-gw', '--add-host', 'gw:host-gateway', '--add-host', 'a;b:10.0.0.6', IMG, 'true']);
      expect(JSON.parse(ok(['inspect', '-f', '{{json .HostConfig.ExtraHosts}}', 'xh']))).toEqual(['gw:host-gateway', 'a;b:10.0.0.6']);
      ok(['rm', 'xh']);
    } finally {
      loop.close();
      onIp?.close();
    }
  }, 60_000);
});

describe('--network none', () => {
  it('has only lo, and a container of another user namespace can join it', () => {
    expect(ok(['run', '--rm', '--network', 'none', IMG, 'ls', '/sys/class/net']).trim()).toBe('lo');
    ok(['run', '-d', '--name', 'isolated', '--network', 'none', IMG, 'sleep', '60']);
    const joined = ok(['run', '--rm', '--network', 'container:isolated', IMG, 'sh', '-c', 'ip -o link | wc -l']);
    expect(joined.trim()).toBe('1');
    ok(['rm', '-f', 'isolated']);
    // As Podman: ports are discarded, with a warning, where nothing forwards them.
    const discarded = selkie(['run', '--rm', '--network', 'none', '-p', '8080:80', IMG, 'true']);
    expect(discarded.code).toBe(0);
    expect(discarded.stderr).toContain('Port mappings have been discarded');
  });
});
