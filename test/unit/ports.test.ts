import { describe, expect, it } from 'vitest';
import { duplicateHostPort, formatPortLines, formatPsPorts, mergeMappings, parsePublish, portBindings, publishAll } from '../../src/network/ports';
import { parseResolv, resolvConf } from '../../src/network/resolv';
import { configuredNetworkCmd, parseNetworkMode } from '../../src/network/mode';
import { pastaArgs, pastaPortArgs, slirpArgs, slirpGuestAddress } from '../../src/network/setup';

describe('parsePublish', () => {
  it('container port only: random host port, tcp', () => {
    expect(parsePublish('80')).toEqual([{ hostIp: '', hostPort: 0, containerPort: 80, protocol: 'tcp' }]);
  });
  it('host:container, udp, host IP', () => {
    expect(parsePublish('8080:80')).toEqual([{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    expect(parsePublish('127.0.0.1:5353:53/udp')).toEqual([{ hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' }]);
    expect(parsePublish('127.0.0.1::53')).toEqual([{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 53, protocol: 'tcp' }]);
    expect(parsePublish('[::1]:8080:80')).toEqual([{ hostIp: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    expect(parsePublish('0.0.0.0:8080:80')[0].hostIp).toBe('');
  });
  it('ranges and both protocols', () => {
    expect(parsePublish('8000-8002:9000-9002').map((m) => [m.hostPort, m.containerPort])).toEqual([
      [8000, 9000],
      [8001, 9001],
      [8002, 9002],
    ]);
    expect(parsePublish('53:53/tcp,udp').map((m) => m.protocol)).toEqual(['tcp', 'udp']);
    expect(parsePublish('1000-1001').map((m) => m.hostPort)).toEqual([0, 0]);
  });
  it('rejects bad specs', () => {
    for (const bad of ['', 'abc', '80/sctp', '8000-8001:80', '70000', '1.2.3:80:80', '300.1.1.1:80:80', '9-8', 'a:b:c:d']) {
      expect(() => parsePublish(bad), bad).toThrow();
    }
  });
});

describe('published port helpers', () => {
  const list = [...parsePublish('127.0.0.1:8080:80'), ...parsePublish('5353:53/udp')];
  it('formats as podman port and ps', () => {
    expect(formatPortLines(list)).toEqual(['80/tcp -> 127.0.0.1:8080', '53/udp -> 0.0.0.0:5353']);
    expect(formatPortLines(list, '80')).toEqual(['127.0.0.1:8080']);
    expect(formatPortLines(list, '53/tcp')).toEqual([]);
    expect(formatPsPorts(list)).toBe('127.0.0.1:8080->80/tcp, 0.0.0.0:5353->53/udp');
  });
  it('inspect shape', () => {
    expect(portBindings(list, ['443/tcp'])).toEqual({
      '443/tcp': null,
      '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }],
      '53/udp': [{ HostIp: '', HostPort: '5353' }],
    });
  });
  it('-P publishes exposed ports; -p wins', () => {
    const all = publishAll(['80/tcp', '53/udp', '9000']);
    expect(all.map((m) => `${m.containerPort}/${m.protocol}`)).toEqual(['80/tcp', '53/udp', '9000/tcp']);
    expect(mergeMappings(parsePublish('8080:80'), all).map((m) => m.hostPort)).toEqual([8080, 0, 0]);
  });
  it('finds one host port published twice', () => {
    expect(duplicateHostPort([...parsePublish('8080:80'), ...parsePublish('127.0.0.1:8080:81')])?.containerPort).toBe(81);
    expect(duplicateHostPort([...parsePublish('8080:80'), ...parsePublish('8080:80/udp')])).toBeUndefined();
    expect(duplicateHostPort(parsePublish('80-81'))).toBeUndefined();
  });
});

describe('network modes and helper command lines', () => {
  it('parses --network', () => {
    expect(parseNetworkMode('', 'pasta')).toEqual({ kind: 'pasta', options: [] });
    expect(parseNetworkMode('pasta:--map-gw,-4', 'pasta')).toEqual({ kind: 'pasta', options: ['--map-gw', '-4'] });
    expect(parseNetworkMode('slirp4netns:allow_host_loopback=true', 'pasta').options).toEqual(['allow_host_loopback=true']);
    expect(parseNetworkMode('container:web', 'pasta')).toEqual({ kind: 'container', options: [], container: 'web' });
    expect(() => parseNetworkMode('slirp4netns:bogus=1', 'pasta')).toThrow(/unknown option/);
    expect(parseNetworkMode('mynet', 'pasta')).toEqual({ kind: 'bridge', options: [], networks: [{ name: 'mynet' }] });
    expect(() => parseNetworkMode('my net!', 'pasta')).toThrow(/unknown network/);
  });
  it('reads default_rootless_network_cmd', () => {
    expect(configuredNetworkCmd('[engine]\ndefault_rootless_network_cmd="x"\n[network]\ndefault_rootless_network_cmd = "slirp4netns" # c\n')).toBe('slirp4netns');
    expect(configuredNetworkCmd('[network]\n# default_rootless_network_cmd = "slirp4netns"\n')).toBeUndefined();
  });
  it('pasta: no host loopback unless --map-gw; ports per mapping', () => {
    const ports = [...parsePublish('127.0.0.1:8080:80'), ...parsePublish('5353:53/udp')];
    expect(pastaPortArgs(ports)).toEqual(['-t', '127.0.0.1/8080:80', '-u', '5353:53']);
    expect(pastaPortArgs([])).toEqual(['-t', 'none', '-u', 'none']);
    expect(pastaArgs('/ns', '/pid', [], [])).toContain('--no-map-gw');
    expect(pastaArgs('/ns', '/pid', [], ['--map-gw'])).not.toContain('--no-map-gw');
    expect(pastaArgs('/ns', '/pid', [], ['--map-gw'])).not.toContain('--map-gw');
    // --map-host-loopback: passed on where pasta has it, else the gateway is mapped, with a warning.
    const warnings: string[] = [];
    const old = pastaArgs('/ns', '/pid', [], ['--map-host-loopback', '169.254.1.2', '-4'], () => false, (m) => warnings.push(m));
    expect(old).not.toContain('--no-map-gw');
    expect(old).not.toContain('--map-host-loopback');
    expect(old).not.toContain('169.254.1.2');
    expect(old).toContain('-4');
    expect(warnings).toEqual([expect.stringMatching(/no --map-host-loopback/)]);
    expect(pastaArgs('/ns', '/pid', [], ['--map-host-loopback=169.254.1.2'], () => false, () => undefined)).not.toContain('--no-map-gw');
    const fresh = pastaArgs('/ns', '/pid', [], ['--map-host-loopback', '169.254.1.2'], () => true, () => undefined);
    expect(fresh.slice(-2)).toEqual(['--map-host-loopback', '169.254.1.2']);
    expect(fresh).toContain('--no-map-gw');
  });
  it('slirp4netns: host loopback only with allow_host_loopback=true', () => {
    expect(slirpArgs('/ns', '/sock', [])).toContain('--disable-host-loopback');
    expect(slirpArgs('/ns', '/sock', ['allow_host_loopback=true'])).not.toContain('--disable-host-loopback');
    expect(slirpArgs('/ns', '/sock', []).slice(-2)).toEqual(['/ns', 'tap0']);
  });
  it('slirp4netns: sandboxed, with a seccomp filter, as Podman runs it', () => {
    expect(slirpArgs('/ns', '/sock', [])).toEqual(expect.arrayContaining(['--enable-sandbox', '--enable-seccomp']));
  });
  it('slirp4netns: IPv6 unless enable_ipv6=false (Podman\'s default)', () => {
    expect(slirpArgs('/ns', '/sock', [])).toContain('--enable-ipv6');
    expect(slirpArgs('/ns', '/sock', ['enable_ipv6=true'])).toContain('--enable-ipv6');
    expect(slirpArgs('/ns', '/sock', ['enable_ipv6=false'])).not.toContain('--enable-ipv6');
    expect(() => parseNetworkMode('slirp4netns:enable_ipv6=yes', 'pasta')).toThrow('enable_ipv6 must be true or false');
    expect(() => parseNetworkMode('slirp4netns:allow_host_loopback=1', 'pasta')).toThrow('allow_host_loopback must be true or false');
  });
});

describe('resolv.conf', () => {
  const host = '# generated\nsearch example.com corp\nnameserver 10.0.0.1\nnameserver 127.0.0.53\noptions ndots:2\n';
  it('parses', () => {
    expect(parseResolv(host)).toEqual({ nameservers: ['10.0.0.1', '127.0.0.53'], search: ['example.com', 'corp'], options: ['ndots:2'] });
  });
  it("host's resolvers without loopback ones; all of them on the host's network", () => {
    expect(resolvConf({ host })).toBe('search example.com corp\nnameserver 10.0.0.1\noptions ndots:2\n');
    expect(resolvConf({ host, hostNetwork: true })).toContain('nameserver 127.0.0.53');
  });
  it("the network's forwarder replaces the host's nameservers", () => {
    expect(resolvConf({ host, networkNameservers: ['169.254.1.1'] })).toBe('search example.com corp\nnameserver 169.254.1.1\noptions ndots:2\n');
  });
  it('--dns, --dns-search, --dns-option override', () => {
    expect(resolvConf({ host, networkNameservers: ['169.254.1.1'], dns: ['192.0.2.53'], dnsSearch: ['a.test'], dnsOption: ['timeout:1'] })).toBe(
      'search a.test\nnameserver 192.0.2.53\noptions timeout:1\n',
    );
    expect(resolvConf({ host, dnsSearch: ['.'] })).not.toContain('search');
  });
});

describe('networkConfig', () => {
  it('discards ports with a warning where nothing forwards them; refuses a host port twice', async () => {
    const { networkConfig } = await import('../../src/network/config');
    const warnings: string[] = [];
    const cfg = networkConfig({ network: 'host', publish: ['8080:80'] }, undefined, (m) => warnings.push(m));
    expect(cfg.ports).toBeUndefined();
    expect(warnings[0]).toMatch(/discarded/);
    expect(() => networkConfig({ network: 'pasta', publish: ['8080:80', '8080:81'] }, undefined)).toThrow(/published twice/);
    const all = networkConfig({ network: 'pasta', publish: ['9000:80'], publishAll: true, expose: ['53/udp'] }, { '80/tcp': {}, '443/tcp': {} });
    expect(all.ports?.map((p) => `${p.hostPort}:${p.containerPort}/${p.protocol}`)).toEqual(['9000:80/tcp', '0:443/tcp', '0:53/udp']);
    expect(all.exposedPorts).toEqual(['80/tcp', '443/tcp', '53/udp']);
    expect(() => networkConfig({ expose: ['x'] }, undefined)).toThrow(/--expose/);
  });
});

describe('slirp4netns port forwarding', () => {
  it('forwards to the container address .100 of the cidr', () => {
    expect(slirpGuestAddress([])).toBe('10.0.2.100');
    expect(slirpGuestAddress(['cidr=10.0.3.0/24'])).toBe('10.0.3.100');
    expect(slirpGuestAddress(['mtu=1500', 'cidr=192.168.8.17/16'])).toBe('192.168.0.100');
    expect(() => slirpGuestAddress(['cidr=bogus'])).toThrow(/invalid cidr/);
  });
});
