import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocateIp, chooseSubnet, freeBridgeName, parseCidr, parseProcRoutes, randomMac } from '../../src/network/ipam';
import { HostsNameError, hostsText } from '../../src/network/hosts';
import { hostAddress } from '../../src/network/host-address';
import { defaultGateway } from '../../src/network/ipam';
import { checkConnectOptions } from '../../src/engine/networks';
import { parseAddHost } from '../../src/engine/run-options';
import { nftRuleset } from '../../src/network/nft';
import { attachScript, hostsFiles, networkMtu, starterAlive, storeKey, type IpamFile } from '../../src/network/bridge';
import { processStartTime } from '../../src/state/process';
import { resolveNetworkRef } from '../../src/network/ref';
import { parseNetworkFlags, parseNetworkMode } from '../../src/network/mode';
import { networkConfig } from '../../src/network/config';
import { defaultNetwork, NetworkStore, parseNetworkRecord } from '../../src/state/networks';
import { parseNetworkConf } from '../../src/config/containers-conf';

describe('subnets', () => {
  it('parses CIDRs, clearing host bits; refuses junk and IPv6', () => {
    expect(parseCidr('10.89.3.7/24')).toEqual({ base: parseCidr('10.89.3.0/24').base, prefix: 24 });
    for (const bad of ['10.89.0.0', '10.89.0.0/33', '10.300.0.0/16', 'x/24', '010.1.1.1/8']) expect(() => parseCidr(bad)).toThrow(/invalid subnet/);
    expect(() => parseCidr('fd00::/64')).toThrow(/IPv6/);
  });
  it('gives 10.89.N.0/24 upward, skipping networks and host routes that overlap', () => {
    expect(chooseSubnet([])).toEqual({ subnet: '10.89.0.0/24', gateway: '10.89.0.1' });
    const used = [parseCidr('10.88.0.0/16'), parseCidr('10.89.0.0/24'), parseCidr('10.89.1.128/25')];
    expect(chooseSubnet(used).subnet).toBe('10.89.2.0/24');
    // a host route covering the whole range
    expect(() => chooseSubnet([parseCidr('10.0.0.0/8')])).toThrow(/could not find a free subnet/);
  });
  it('honours --subnet and --gateway, and checks them', () => {
    expect(chooseSubnet([], '192.168.77.0/24', '192.168.77.254')).toEqual({ subnet: '192.168.77.0/24', gateway: '192.168.77.254' });
    expect(chooseSubnet([], '192.168.77.9/24').gateway).toBe('192.168.77.1');
    expect(() => chooseSubnet([parseCidr('192.168.0.0/16')], '192.168.77.0/24')).toThrow(/already used on the host or by another config/);
    expect(() => chooseSubnet([], '192.168.77.0/24', '192.168.78.1')).toThrow(/not a host address/);
    expect(() => chooseSubnet([], '192.168.77.0/24', '192.168.77.255')).toThrow(/not a host address/);
    expect(() => chooseSubnet([], '192.168.77.0/31')).toThrow(/too small/);
    expect(() => chooseSubnet([], undefined, '10.89.0.1')).toThrow(/--gateway needs --subnet/);
  });
  it('reads the host routes from /proc/net/route (default route left out)', () => {
    const text =
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
      'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' +
      'wg0\t0000590A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n';
    expect(parseProcRoutes(text)).toEqual([parseCidr('192.0.2.0/24'), parseCidr('10.89.0.0/16')]);
  });
});

describe('container addresses', () => {
  it('lowest free from .2, never the gateway, network or broadcast address', () => {
    expect(allocateIp('10.89.0.0/24', '10.89.0.1', [])).toBe('10.89.0.2');
    expect(allocateIp('10.89.0.0/24', '10.89.0.1', ['10.89.0.2', '10.89.0.4'])).toBe('10.89.0.3');
    expect(allocateIp('10.89.0.0/24', '10.89.0.2', [])).toBe('10.89.0.1');
    expect(() => allocateIp('10.89.0.0/30', '10.89.0.1', ['10.89.0.2'])).toThrow(/no free IP address/);
  });
  it('--ip: inside the subnet and free', () => {
    expect(allocateIp('10.89.0.0/24', '10.89.0.1', [], '10.89.0.50')).toBe('10.89.0.50');
    expect(() => allocateIp('10.89.0.0/24', '10.89.0.1', ['10.89.0.50'], '10.89.0.50')).toThrow(/already allocated/);
    expect(() => allocateIp('10.89.0.0/24', '10.89.0.1', [], '10.89.0.1')).toThrow(/already allocated/);
    expect(() => allocateIp('10.89.0.0/24', '10.89.0.1', [], '10.89.1.5')).toThrow(/not in subnet/);
    expect(() => allocateIp('10.89.0.0/24', '10.89.0.1', [], '10.89.0.255')).toThrow(/not in subnet/);
  });
  it('MACs are unicast and locally administered; bridge names selkieN from 1', () => {
    expect(randomMac(Buffer.from([0xff, 1, 2, 3, 4, 5]))).toBe('fe:01:02:03:04:05');
    expect(randomMac(Buffer.from([0x00, 0xab, 2, 3, 4, 5]))).toBe('02:ab:02:03:04:05');
    expect(randomMac()).toMatch(/^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
    expect(freeBridgeName(['selkie0', 'selkie1', 'selkie3'])).toBe('selkie2');
  });
});

describe('hosts files', () => {
  it('keeps localhost and --add-host, names itself by its address, lists peers', () => {
    const text = hostsText({
      hostname: 'abc123',
      name: 'web',
      addHosts: ['10.1.1.1\tregistry'],
      selfIp: '10.89.0.3',
      peers: [
        { ip: '10.89.0.2', names: ['db', 'database', 'f00dcafe1234'] },
        { ip: '10.89.0.2', names: ['db', 'database', 'f00dcafe1234'] },
      ],
    });
    expect(text).toBe(
      '127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n' +
        '::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n' +
        '10.1.1.1\tregistry\n' +
        '10.89.0.3\tabc123 web\n' +
        '10.89.0.2\tdb database f00dcafe1234\n',
    );
    expect(hostsText({ hostname: 'x', name: 'x' })).toContain('127.0.1.1\tx\n');
  });
  it('names the host host.containers.internal, and --add-host NAME:host-gateway gets its address, where the container reaches it', () => {
    const text = hostsText({ hostname: 'h', name: 'n', addHosts: ['host-gateway\tgw mine', '10.1.1.1\tr'], hostAddress: '192.0.2.2' });
    expect(text.split('\n').slice(2)).toEqual(['192.0.2.2\thost.containers.internal', '192.0.2.2\tgw mine', '10.1.1.1\tr', '127.0.1.1\th n', '']);
    expect(hostsText({ hostname: 'h', name: 'h' })).not.toContain('host.containers.internal');
    expect(() => hostsText({ hostname: 'h', name: 'h', addHosts: ['host-gateway\tgw'] })).toThrow('--add-host gw:host-gateway: this network gives the container no address of the host');
    expect(() => hostsText({ hostname: 'h', name: 'h', hostAddress: '1.2.3.4\nevil' })).toThrow(HostsNameError);
  });
  it('finds the host\'s address as each network reaches it', () => {
    const routes =
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
      'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' +
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n';
    expect(defaultGateway(routes)).toBe('192.0.2.1');
    expect(defaultGateway(routes.split('\n').slice(0, 2).join('\n'))).toBeUndefined();
    const view = {
      addresses: () => [{ address: '127.0.0.1', internal: true }, { address: '169.254.3.4', internal: false }, { address: '192.0.2.2', internal: false }],
      routes: () => routes,
      pastaKnows: (o: string) => o === '--map-host-loopback',
    };
    expect(hostAddress('slirp4netns', [], view)).toBe('192.0.2.2');
    expect(hostAddress('slirp4netns', [], { ...view, addresses: () => [{ address: '127.0.0.1', internal: true }] })).toBeUndefined();
    expect(hostAddress('pasta', [], view)).toBeUndefined();
    expect(hostAddress('pasta', ['--map-gw'], view)).toBe('192.0.2.1');
    expect(hostAddress('pasta', ['--map-host-loopback', '169.254.1.2'], view)).toBe('169.254.1.2');
    expect(hostAddress('pasta', ['--map-host-loopback=169.254.1.2'], { ...view, pastaKnows: () => false })).toBe('192.0.2.1');
    expect(hostAddress('host', [], view)).toBe('127.0.0.1');
    for (const kind of ['none', 'bridge', 'container'] as const) expect(hostAddress(kind, [], view)).toBeUndefined();
  });
  it('each running container gets the others on its networks, and only those (dns disabled: none)', () => {
    const n = (name: string, ip: string, aliases: string[] = [], dns = true) => ({
      name, id: name, iface: 'eth0', ip, prefixLen: 24, gateway: ip.replace(/\d+$/, '1'), mac: '02:00:00:00:00:01', aliases, veth: 'vethx', bridge: 'selkie1', dns,
    });
    const ipam: IpamFile = {
      containers: {
        ['a'.repeat(64)]: { name: 'a', hostname: 'ha', runDir: '/r/a', networks: [n('A', '10.89.0.2', ['alpha'])] },
        ['b'.repeat(64)]: { name: 'b', hostname: 'hb', runDir: '/r/b', networks: [n('A', '10.89.0.3'), n('B', '10.89.1.2')] },
        ['c'.repeat(64)]: { name: 'c', hostname: 'hc', runDir: '/r/c', networks: [n('B', '10.89.1.3')] },
        ['d'.repeat(64)]: { name: 'd', hostname: 'hd', runDir: '/r/d', networks: [n('N', '10.89.2.2', [], false)] },
        ['e'.repeat(64)]: { name: 'e', hostname: 'he', runDir: '/r/e', networks: [n('N', '10.89.2.3', [], false)] },
      },
    };
    const files = hostsFiles(ipam);
    expect(files.get('/r/a')).toContain('10.89.0.3\tb bbbbbbbbbbbb\n');
    expect(files.get('/r/a')).not.toContain('\tc ');
    expect(files.get('/r/c')).toContain('10.89.1.2\tb bbbbbbbbbbbb\n');
    expect(files.get('/r/c')).not.toContain('\ta ');
    expect(files.get('/r/b')).toMatch(/10\.89\.0\.2\ta alpha aaaaaaaaaaaa\n[^]*10\.89\.1\.3\tc cccccccccccc\n/);
    expect(files.get('/r/b')).toContain('10.89.0.3\thb b\n');
    expect(files.get('/r/d')).not.toContain('\te ');
    // only the containers on the networks named
    expect([...hostsFiles(ipam, new Set(['B'])).keys()].sort()).toEqual(['/r/b', '/r/c']);
  });
});

describe('nft ruleset', () => {
  it('replaces the whole table: masquerade out of each subnet, no routing between bridges, internal networks closed', () => {
    const text = nftRuleset([
      { bridge: 'selkie2', subnet: '10.89.1.0/24', internal: true },
      { bridge: 'selkie1', subnet: '10.89.0.0/24', internal: false },
    ]);
    expect(text.startsWith('table inet selkie\ndelete table inet selkie\ntable inet selkie {\n')).toBe(true);
    expect(text).toContain('\t\tiifname "selkie1" oifname "selkie*" oifname != "selkie1" drop\n');
    expect(text).toContain('\t\tip saddr 10.89.0.0/24 oifname != "selkie*" masquerade\n');
    expect(text).toContain('\t\tiifname "selkie2" oifname != "selkie2" drop\n\t\toifname "selkie2" iifname != "selkie2" drop\n');
    expect(text).not.toContain('10.89.1.0/24');
    expect(text.indexOf('selkie1')).toBeLessThan(text.indexOf('selkie2'));
    expect(nftRuleset([])).toContain('chain forward');
  });
  it('goes in the rootless netns with the veths, in one script', () => {
    const s = attachScript({
      mode: 'start',
      rootless: "/run/x/it's/netns",
      adds: [{ name: 'A', id: 'i', iface: 'eth0', ip: '10.89.0.2', prefixLen: 24, gateway: '10.89.0.1', mac: '02:00:00:00:00:01', aliases: [], veth: 'veth0123abcd', bridge: 'selkie1', dns: true }],
      defaultRoute: '10.89.0.1',
      nft: 'table inet selkie\n',
    });
    expect(s).toContain("ip link add eth0 mtu 65520 address 02:00:00:00:00:01 type veth peer name veth0123abcd mtu 65520 netns '/run/x/it'\\''s/netns'\n");
    expect(s).toContain('ip route add default via 10.89.0.1\n');
    // the bridge's address is set whether or not the bridge was there (a removed network's may be)
    expect(s).toMatch(/nsenter --net='[^\n]*' \/bin\/sh -eu <<'SELKIE_ROOTLESS'\nip link show selkie1 >\/dev\/null 2>&1 \|\| ip link add selkie1 type bridge\nif \[ "\$\(ip -4 -o addr show dev selkie1 \| awk '\{print \$4\}'\)" != "10\.89\.0\.1\/24" \]; then ip addr flush dev selkie1; ip addr add 10\.89\.0\.1\/24 dev selkie1; fi\nip link set selkie1 up\nip link set veth0123abcd master selkie1 up\nnft -f - <<'SELKIE_NFT'\ntable inet selkie\nSELKIE_NFT\nSELKIE_ROOTLESS\n$/);
    const c = attachScript({ mode: 'connect', rootless: '/n', adds: [] });
    expect(c).not.toContain('ip_unprivileged_port_start');
  });
  it("a network's MTU: its mtu option, else pasta's 65520", () => {
    expect(networkMtu({ options: {} })).toBe(65520);
    expect(networkMtu({})).toBe(65520);
    expect(networkMtu({ options: { mtu: '1400' } })).toBe(1400);
  });
  it('one rootless netns per store', () => {
    expect(storeKey('/a/storage')).toMatch(/^[0-9a-f]{8}$/);
    expect(storeKey('/a/storage')).not.toBe(storeKey('/b/storage'));
  });
});

describe('network records', () => {
  const good = {
    name: 'app',
    id: 'a'.repeat(64),
    driver: 'bridge',
    network_interface: 'selkie1',
    created: '2024-01-01T00:00:00Z',
    subnets: [{ subnet: '10.89.0.0/24', gateway: '10.89.0.1' }],
    ipv6_enabled: false,
    internal: false,
    dns_enabled: true,
    labels: {},
    options: {},
    ipam_options: { driver: 'host-local' },
  };
  it('accepts netavark-shaped records and refuses anything else', () => {
    expect(parseNetworkRecord(JSON.stringify(good), 'f').name).toBe('app');
    expect(() => parseNetworkRecord('{', 'f')).toThrow(/not JSON/);
    expect(() => parseNetworkRecord(JSON.stringify({ ...good, driver: 'macvlan' }), 'f')).toThrow(/driver/);
    expect(() => parseNetworkRecord(JSON.stringify({ ...good, name: '../x' }), 'f')).toThrow(/name/);
    expect(() => parseNetworkRecord(JSON.stringify({ ...good, network_interface: 'eth0; rm -rf /' }), 'f')).toThrow(/network_interface/);
    expect(() => parseNetworkRecord(JSON.stringify({ ...good, subnets: [] }), 'f')).toThrow(/subnets/);
    expect(() => parseNetworkRecord(JSON.stringify({ ...good, extra: 1 }), 'f')).toThrow();
  });
  it('refuses hostile subnets and gateways (they reach `ip` scripts and nft text)', () => {
    const sn = (subnet: string, gateway: string) => JSON.stringify({ ...good, subnets: [{ subnet, gateway }] });
    for (const subnet of ['10.89.0.0/24; reboot', '10.89.0.0/24\nx', '10.89.0.5/24', '010.89.0.0/24', '10.89.0.0/33', '10.89.0.0/31', 'fd00::/64', ' 10.89.0.0/24', '10.89.0.0/24 ']) {
      expect(() => parseNetworkRecord(sn(subnet, '10.89.0.1'), 'f'), subnet).toThrow(/subnets\.0\.subnet/);
    }
    for (const gateway of ['10.89.0.1 dev lo; reboot', '10.89.0.1\n', '10.89.1.1', '10.89.0.0', '10.89.0.255', '10.89.0.01', '', 'x']) {
      expect(() => parseNetworkRecord(sn('10.89.0.0/24', gateway), 'f'), gateway).toThrow(/subnets\.0\.gateway/);
    }
    expect(parseNetworkRecord(sn('192.168.7.0/30', '192.168.7.2'), 'f').subnets[0].gateway).toBe('192.168.7.2');
  });
  it('the script and ruleset builders check what they interpolate again', () => {
    const a = { name: 'A', id: 'A', iface: 'eth0', ip: '10.89.0.2', prefixLen: 24, gateway: '10.89.0.1', mac: '02:00:00:00:00:01', aliases: [], veth: 'veth0123abcd', bridge: 'selkie1', dns: true };
    const script = (x: Partial<typeof a>, route?: string) => attachScript({ mode: 'start', rootless: '/r/netns', adds: [{ ...a, ...x }], defaultRoute: route });
    expect(script({})).toContain('ip addr add 10.89.0.1/24 dev selkie1');
    expect(script({ mtu: 1400 } as never)).toContain('ip link add eth0 mtu 1400 address 02:00:00:00:00:01 type veth peer name veth0123abcd mtu 1400 ');
    for (const bad of [{ gateway: '10.89.0.1/0 dev lo; reboot #' }, { ip: '$(reboot)' }, { bridge: 'selkie1; reboot' }, { veth: 'veth1 x' }, { iface: 'eth0\n' }, { mac: 'x' }, { prefixLen: NaN }, { mtu: 67 }, { mtu: 65536 }, { mtu: '1500; reboot' }]) {
      expect(() => script(bad as never), JSON.stringify(bad)).toThrow(/refusing/);
    }
    expect(() => script({}, '1.1.1.1; reboot')).toThrow(/default route/);
    expect(() => nftRuleset([{ bridge: 'selkie1', subnet: '10.89.0.0/24 counter accept', internal: false }])).toThrow(/refusing/);
    expect(() => nftRuleset([{ bridge: 'selkie1"', subnet: '10.89.0.0/24', internal: false }])).toThrow(/refusing/);
  });
  it('the store: default network built in, names checked, a record under another name refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'selkie-net-'));
    try {
      const store = new NetworkStore(dir);
      expect(store.list().map((n) => n.name)).toEqual(['podman']);
      expect(defaultNetwork().subnets[0].subnet).toBe('10.88.0.0/16');
      store.create(good as never);
      expect(() => store.create(good as never)).toThrow();
      expect(store.list().map((n) => n.name)).toEqual(['podman', 'app']);
      expect(store.get('../app')).toBeUndefined();
      mkdirSync(join(dir, 'networks'), { recursive: true });
      writeFileSync(join(dir, 'networks', 'other.json'), JSON.stringify(good));
      expect(() => store.get('other')).toThrow(/names another network/);
      const errors: string[] = [];
      expect(store.stored((e) => errors.push(e.message)).map((n) => n.name)).toEqual(['app']);
      expect(errors).toHaveLength(1);
      store.remove('app');
      expect(store.get('app')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--network flags', () => {
  it('names, bridge, repeated and comma-separated; options per network', () => {
    expect(parseNetworkMode('bridge', 'pasta')).toEqual({ kind: 'bridge', options: [], networks: [{ name: 'podman' }] });
    expect(parseNetworkFlags(['a', 'b'], 'pasta').networks).toEqual([{ name: 'a' }, { name: 'b' }]);
    expect(parseNetworkFlags(['a,b'], 'pasta').networks).toEqual([{ name: 'a' }, { name: 'b' }]);
    expect(parseNetworkFlags(['app:ip=10.89.0.9,alias=x,alias=y'], 'pasta').networks).toEqual([{ name: 'app', ip: '10.89.0.9', aliases: ['x', 'y'] }]);
    expect(parseNetworkFlags([], 'pasta').kind).toBe('pasta');
    expect(() => parseNetworkFlags(['app', 'pasta'], 'pasta')).toThrow(/cannot be combined/);
    expect(() => parseNetworkFlags(['app', 'app'], 'pasta')).toThrow(/more than once/);
    expect(() => parseNetworkFlags(['app:mtu=9000'], 'pasta')).toThrow(/unknown or invalid option/);
  });
  it('--network-alias and --ip go to the bridge networks; -p is kept for the forwarder', () => {
    expect(networkConfig({ network: ['a', 'b'], networkAlias: ['x'] }, {}).networks).toEqual([
      { name: 'a', aliases: ['x'] },
      { name: 'b', aliases: ['x'] },
    ]);
    expect(networkConfig({ network: 'a', ip: '10.89.0.7' }, {})).toMatchObject({ network: 'bridge', networks: [{ name: 'a', ip: '10.89.0.7' }] });
    expect(() => networkConfig({ network: ['a', 'b'], ip: '10.89.0.7' }, {})).toThrow(/single network/);
    expect(() => networkConfig({ network: 'pasta', networkAlias: ['x'] }, {})).toThrow(/bridge network/);
    expect(networkConfig({ network: 'a', publish: ['8080:80'] }, {}).ports).toEqual([{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
  });
});

describe('containers.conf [network]', () => {
  it('reads pasta_options and the default command', async () => {
    expect(await parseNetworkConf('[engine]\nx = 1\n[network]\npasta_options = ["--map-gw", "-4"]\ndefault_rootless_network_cmd = "pasta"\n')).toEqual({
      pasta_options: ['--map-gw', '-4'],
      default_rootless_network_cmd: 'pasta',
    });
    await expect(parseNetworkConf('[network\n')).rejects.toThrow();
  });
});

describe('hostile names (newlines into other containers\' /etc/hosts)', () => {
  const hostile = ['x\n6.6.6.6 evil', 'x y', 'x\ty', 'x\r', '\u0085x', 'x#y', '', '-x', 'x\u2028y'];
  it('--network NAME:alias= and --network-alias are checked with the one name rule', () => {
    for (const h of hostile) {
      expect(() => parseNetworkFlags([`app:alias=${h}`], 'pasta'), JSON.stringify(h)).toThrow();
      expect(() => networkConfig({ network: 'app', networkAlias: [h] }, {}), JSON.stringify(h)).toThrow(/not a valid name/);
    }
    expect(() => parseNetworkFlags(['app:ip=10.89.0.300'], 'pasta')).toThrow(/invalid option/);
    expect(() => networkConfig({ network: 'app', ip: '999.1.1.1' }, {})).toThrow(/not an IPv4/);
  });
  it('network connect --alias and --ip are checked before the config changes', () => {
    const net = { ...defaultNetwork(), subnets: [{ subnet: '10.89.4.0/24', gateway: '10.89.4.1' }] };
    for (const h of hostile) expect(() => checkConnectOptions(net, { aliases: ['ok', h] }), JSON.stringify(h)).toThrow(/invalid alias/);
    for (const ip of ['10.89.5.2', '10.89.4.0', '10.89.4.255', '10.89.4.1', '10.89.4.2\nx', '10.89.4.2; reboot', 'fd00::1']) {
      expect(() => checkConnectOptions(net, { ip }), ip).toThrow(/IP address|not a host address/);
    }
    expect(() => checkConnectOptions(net, { aliases: ['db', 'db.local_1'], ip: '10.89.4.9' })).not.toThrow();
  });
  it('the hosts file refuses unsafe names itself: its own are an error, a peer\'s are left out', () => {
    for (const h of hostile.filter((x) => x !== '-x')) {
      expect(() => hostsText({ hostname: h, name: 'web' }), JSON.stringify(h)).toThrow(HostsNameError);
      expect(() => hostsText({ hostname: 'web', name: h }), JSON.stringify(h)).toThrow(HostsNameError);
    }
    expect(() => hostsText({ hostname: 'a', name: 'a', addHosts: ['1.2.3.4\tx\n5.6.7.8 y'] })).toThrow(HostsNameError);
    const text = hostsText({ hostname: 'a', name: 'a', peers: [{ ip: '10.89.0.2', names: ['db', 'x\n6.6.6.6 evil', 'y z'] }, { ip: '10.89.0.3\n6.6.6.6', names: ['q'] }] });
    expect(text).toContain('10.89.0.2\tdb\n');
    expect(text).not.toContain('evil');
    expect(text).not.toContain('6.6.6.6');
    // one record with an unsafe own name does not stop the others' files
    const n = (ip: string, aliases: string[] = []) => ({ name: 'A', id: 'A', iface: 'eth0', ip, prefixLen: 24, gateway: '10.89.0.1', mac: '02:00:00:00:00:01', aliases, veth: 'vethx', bridge: 'selkie1', dns: true });
    const ipam: IpamFile = {
      containers: {
        ['a'.repeat(64)]: { name: 'a', hostname: 'x\n1.1.1.1 evil', runDir: '/r/a', networks: [n('10.89.0.2', ['ok', 'bad\nalias'])] },
        ['b'.repeat(64)]: { name: 'b', hostname: 'hb', runDir: '/r/b', networks: [n('10.89.0.3')] },
      },
    };
    const files = hostsFiles(ipam);
    expect(files.has('/r/a')).toBe(false);
    expect(files.get('/r/b')).toContain('10.89.0.2\ta ok aaaaaaaaaaaa\n');
    expect(files.get('/r/b')).not.toContain('alias');
  });
  it('--hostname and --add-host names are checked at create', () => {
    expect(() => parseAddHost('a\nb:1.2.3.4')).toThrow(/spaces or control/);
    expect(() => parseAddHost('a b:1.2.3.4')).toThrow(/spaces or control/);
    expect(parseAddHost('a;b:1.2.3.4')).toBe('1.2.3.4\ta b');
  });
});

describe('stale address allocations', () => {
  it('an entry is held by its starter only while that process (same start time) runs', () => {
    const e = (starter?: { pid: number; start: string }) => ({ name: 'a', hostname: 'a', runDir: '/r', networks: [], starter });
    const start = processStartTime(process.pid)!;
    expect(starterAlive(e({ pid: process.pid, start }))).toBe(true);
    expect(starterAlive(e({ pid: process.pid, start: String(Number(start) + 1) }))).toBe(false);
    expect(starterAlive(e({ pid: 2 ** 22 + 1, start }))).toBe(false);
    expect(starterAlive(e())).toBe(false);
  });
});

describe('network references', () => {
  it('one resolver for create and the network commands: name, then ID prefix of any length, unique', () => {
    const dir = mkdtempSync(join(tmpdir(), 'selkie-netref-'));
    try {
      writeFileSync(join(dir, 'one.json'), JSON.stringify({ name: 'one', id: 'abc1' + '0'.repeat(60) }));
      writeFileSync(join(dir, 'two.json'), JSON.stringify({ name: 'two', id: 'abd2' + '0'.repeat(60) }));
      writeFileSync(join(dir, 'abd2.json'), JSON.stringify({ name: 'abd2', id: 'f'.repeat(64) }));
      writeFileSync(join(dir, 'bad.json'), '{');
      expect(resolveNetworkRef(dir, 'one')).toBe('one');
      expect(resolveNetworkRef(dir, 'abc')).toBe('one');
      expect(resolveNetworkRef(dir, 'abc1' + '0'.repeat(60))).toBe('one');
      // a name wins over an ID prefix
      expect(resolveNetworkRef(dir, 'abd2')).toBe('abd2');
      expect(resolveNetworkRef(dir, 'abd')).toBe('two');
      expect(() => resolveNetworkRef(dir, 'ab')).toThrow(/more than one network matches "ab": use a longer ID/);
      expect(() => resolveNetworkRef(dir, 'f')).not.toThrow();
      expect(resolveNetworkRef(dir, '5e1c')).toBe('podman');
      expect(resolveNetworkRef(dir, 'podman')).toBe('podman');
      expect(resolveNetworkRef(dir, 'nope')).toBeUndefined();
      expect(resolveNetworkRef(dir, '../one')).toBeUndefined();
      expect(resolveNetworkRef(join(dir, 'absent'), 'one')).toBeUndefined();
      // longer than a network name may be: no such network (not ENAMETOOLONG)
      expect(resolveNetworkRef(dir, 'n'.repeat(253))).toBeUndefined();
      expect(new NetworkStore(dir).get('n'.repeat(253))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
