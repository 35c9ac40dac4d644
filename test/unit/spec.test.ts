import { describe, expect, it } from 'vitest';
import { buildSpec, type SpecInput } from '../../src/runtime/spec';
import { buildConfig, mergeEnv, parseEntrypoint, type CreateOptions } from '../../src/engine/create';
import { parseChanges } from '../../src/engine/changes';

const base: SpecInput = {
  args: ['sh'],
  env: ['PATH=/bin'],
  cwd: '/',
  user: { uid: 0, gid: 0, additionalGids: [] },
  terminal: false,
  hostname: 'h',
  rootfs: 'rootfs',
  readOnly: false,
  uidMap: [{ inner: 0, outer: 0, count: 1 }],
  gidMap: [{ inner: 0, outer: 0, count: 1 }],
  network: 'none',
  capabilities: ['CAP_CHOWN'],
  ttyGroup: true,
  noNewPrivileges: false,
  maskedPaths: ['/proc/kcore'],
  readonlyPaths: ['/proc/sys'],
  etcFiles: [{ destination: '/etc/hosts', source: '/run/x/hosts' }],
};

describe('OCI spec', () => {
  it('gives the container its own user namespace with the mapping, and a network namespace', () => {
    const s = buildSpec(base) as any;
    expect(s.linux.namespaces.map((n: any) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'user', 'uts']);
    expect(s.linux.uidMappings).toEqual([{ containerID: 0, hostID: 0, size: 1 }]);
    expect(s.root).toEqual({ path: 'rootfs', readonly: false });
    expect(s.mounts.find((m: any) => m.destination === '/etc/hosts')).toMatchObject({ type: 'bind', source: '/run/x/hosts' });
    expect(s.mounts.find((m: any) => m.destination === '/sys').type).toBe('sysfs');
    expect(s.mounts.find((m: any) => m.destination === '/dev/pts').options).toContain('gid=5');
    const single = buildSpec({ ...base, ttyGroup: false }) as any;
    expect(single.mounts.find((m: any) => m.destination === '/dev/pts').options).not.toContain('gid=5');
  });
  it('host userns and host network: no user or network namespace, /sys bound', () => {
    const s = buildSpec({ ...base, uidMap: undefined, gidMap: undefined, network: 'host' }) as any;
    expect(s.linux.namespaces.map((n: any) => n.type)).not.toContain('user');
    expect(s.linux.namespaces.map((n: any) => n.type)).not.toContain('network');
    expect(s.linux.uidMappings).toBeUndefined();
    expect(s.mounts.find((m: any) => m.destination === '/sys')).toMatchObject({ type: 'bind', source: '/sys' });
  });
  it('a non-root user starts without effective capabilities; read-only adds tmpfs scratch dirs', () => {
    const s = buildSpec({ ...base, user: { uid: 33, gid: 33, additionalGids: [100] }, readOnly: true }) as any;
    expect(s.process.capabilities.bounding).toEqual(['CAP_CHOWN']);
    expect(s.process.capabilities.effective).toEqual([]);
    expect(s.process.user).toEqual({ uid: 33, gid: 33, additionalGids: [100] });
    expect(s.mounts.filter((m: any) => m.type === 'tmpfs').map((m: any) => m.destination)).toEqual(
      expect.arrayContaining(['/tmp', '/run', '/var/tmp']),
    );
  });
});

describe('image config + command line', () => {
  const opts: CreateOptions = {
    image: 'x', command: [], env: [], envFiles: [], readOnly: false, capAdd: [], capDrop: [], privileged: false,
    securityOpt: [], rm: false, interactive: false, tty: false, labels: [],
  };
  const image = { rootfs: { type: 'layers', diff_ids: [] }, config: { Entrypoint: ['/ep'], Cmd: ['a', 'b'], Env: ['A=1', 'PATH=/x'], WorkingDir: '/w', User: 'u', Labels: { l: '1' } } } as any;
  it('uses the image entrypoint and cmd unless overridden; --entrypoint resets cmd', () => {
    expect(buildConfig(opts, image, []).args).toEqual(['/ep', 'a', 'b']);
    expect(buildConfig({ ...opts, command: ['c'] }, image, []).args).toEqual(['/ep', 'c']);
    expect(buildConfig({ ...opts, entrypoint: 'sh' }, image, []).args).toEqual(['sh']);
    expect(buildConfig({ ...opts, entrypoint: '' , command: ['ls'] }, image, []).args).toEqual(['ls']);
    expect(() => buildConfig({ ...opts, entrypoint: '' }, image, [])).toThrow(/no command or entrypoint/);
    const c = buildConfig({ ...opts, labels: ['k=v'] }, image, []);
    expect(c.workingDir).toBe('/w');
    expect(c.user).toBe('u');
    expect(c.labels).toEqual({ l: '1', k: 'v' });
  });
  it('merges env: image, then files, then -e; KEY alone copies from the caller', () => {
    process.env.SELKIE_TEST_COPY = 'copied';
    const env = mergeEnv(['A=1', 'B=2'], [{ text: '# c\nB=file\n\nC=3\n', file: 'f' }], ['C=flag', 'SELKIE_TEST_COPY', 'SELKIE_TEST_UNSET_VAR']);
    expect(env).toEqual(['A=1', 'B=file', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'C=flag', 'SELKIE_TEST_COPY=copied']);
    expect(() => mergeEnv([], [], ['=x'])).toThrow(/empty name/);
  });
  it('parses --entrypoint as JSON or a string', () => {
    expect(parseEntrypoint('["a","b c"]', ['x'])).toEqual(['a', 'b c']);
    expect(parseEntrypoint('[not json', undefined)).toEqual(['[not json']);
    expect(parseEntrypoint(undefined, ['x'])).toEqual(['x']);
  });
  it('applies --change instructions', () => {
    expect(parseChanges(['CMD ["a","b"]', 'ENTRYPOINT sh -c x', 'ENV A=1 B="two words"', 'WORKDIR /w', 'EXPOSE 80 53/udp', 'LABEL k=v'])).toEqual({
      Cmd: ['a', 'b'],
      Entrypoint: ['/bin/sh', '-c', 'sh -c x'],
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1', 'B=two words'],
      WorkingDir: '/w',
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Labels: { k: 'v' },
    });
    expect(() => parseChanges(['FROM x'])).toThrow(/FROM is not one of/);
  });
});
