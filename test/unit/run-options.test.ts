// The pure parts of the container lifecycle: run/create flag parsing, restart
// decisions, health bookkeeping, detach keys, filters, conmon's command line.
import { describe, expect, it } from 'vitest';
import { DetachMatcher, parseDetachKeys } from '../../src/engine/attach';
import { shouldRestart } from '../../src/engine/cleanup';
import { chooseDriver } from '../../src/engine/container-mount';
import { containerFilter } from '../../src/engine/container-filter';
import { nextHealth, testArgs } from '../../src/engine/health';
import { parseSize } from '../../src/engine/log-config';
import {
  healthConfig,
  parseAddHost,
  parseDevice,
  parseGoDuration,
  parseResources,
  parseRestart,
  parseTmpfs,
  parseSysctls,
  parseUlimit,
} from '../../src/engine/run-options';
import { addHostSpec } from '../../src/network/hosts';
import { conmonArgs } from '../../src/runtime/conmon';
import { normalizeSignal } from '../../src/runtime/signals';
import type { ContainerRecord } from '../../src/state/containers';

function record(over: Partial<ContainerRecord> & { labels?: Record<string, string> } = {}): ContainerRecord {
  return {
    id: 'a'.repeat(64),
    name: 'c1',
    created: '2026-01-01T00:00:00.000Z',
    image: { id: 'b'.repeat(64), name: 'localhost/busybox:latest', layers: [] },
    config: {
      args: ['true'], entrypoint: [], cmd: ['true'], env: [], workingDir: '/', user: '', hostname: 'h', tty: false, interactive: false,
      readOnly: false, network: 'none', capAdd: [], capDrop: [], privileged: false, securityOpt: [], labels: over.labels ?? {},
    },
    userns: { mode: 'private', block: 1 },
    autoRemove: false,
    state: { status: 'exited', exitCode: 0 },
    ...over,
  };
}

describe('run flags', () => {
  it('--tmpfs: defaults, with options overriding their opposites', () => {
    expect(parseTmpfs('/run')).toEqual({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'noexec', 'nosuid', 'nodev'] });
    expect(parseTmpfs('/x:exec,size=1m').options).toEqual(['rw', 'nosuid', 'nodev', 'exec', 'size=1m']);
    expect(parseTmpfs('/x:ro').options).toEqual(['noexec', 'nosuid', 'nodev', 'ro']);
    expect(() => parseTmpfs('rel')).toThrow(/absolute/);
  });

  it('--sysctl: namespaced parameters only, net.* only with a network namespace of its own', () => {
    expect(parseSysctls(['net.ipv4.ip_forward=1', 'kernel.shmmax=1024', 'fs.mqueue.msg_max=20', 'net/core/somaxconn=64', 'kernel.sem=1 2 3 4'], 'pasta', false)).toEqual({
      'net.ipv4.ip_forward': '1',
      'kernel.shmmax': '1024',
      'fs.mqueue.msg_max': '20',
      'net.core.somaxconn': '64',
      'kernel.sem': '1 2 3 4',
    });
    expect(() => parseSysctls(['vm.swappiness=1'], 'pasta', false)).toThrow('sysctl "vm.swappiness" is not allowed in a container');
    expect(() => parseSysctls(['kernel.hostname=x'], 'pasta', false)).toThrow(/not allowed/);
    expect(() => parseSysctls(['net.ipv4.ip_forward=1'], 'host', false)).toThrow("shares the host's network namespace");
    expect(() => parseSysctls(['net.ipv4.ip_forward=1'], 'container', true)).toThrow("shares another container's network namespace");
    expect(parseSysctls(['kernel.msgmax=1'], 'host', false)).toEqual({ 'kernel.msgmax': '1' });
    for (const bad of ['nonsense', '=1', 'net.x;rm=1']) expect(() => parseSysctls([bad], 'pasta', false)).toThrow(/invalid --sysctl/);
  });

  it('--ulimit: soft[:hard], -1 unlimited, known names only', () => {
    expect(parseUlimit('nofile=512:1024')).toEqual({ type: 'RLIMIT_NOFILE', soft: 512, hard: 1024 });
    expect(parseUlimit('nproc=10')).toEqual({ type: 'RLIMIT_NPROC', soft: 10, hard: 10 });
    expect(parseUlimit('core=-1').hard).toBe(2 ** 64 - 1);
    expect(() => parseUlimit('bogus=1')).toThrow(/--ulimit/);
    expect(() => parseUlimit('nofile=10:5')).toThrow(/soft limit is above/);
  });

  it('--device: host[:container][:perms]', () => {
    expect(parseDevice('/dev/fuse')).toEqual({ host: '/dev/fuse', container: '/dev/fuse', perms: 'rwm' });
    expect(parseDevice('/dev/fuse:r')).toEqual({ host: '/dev/fuse', container: '/dev/fuse', perms: 'r' });
    expect(parseDevice('/dev/a:/dev/b')).toEqual({ host: '/dev/a', container: '/dev/b', perms: 'rwm' });
    expect(parseDevice('/dev/a:/dev/b:rw')).toEqual({ host: '/dev/a', container: '/dev/b', perms: 'rw' });
    expect(() => parseDevice('dev/a')).toThrow(/absolute/);
    expect(() => parseDevice('/dev/a:/dev/b:x')).toThrow(/permissions/);
  });

  it('--restart and its retry count', () => {
    expect(parseRestart(undefined)).toBeUndefined();
    expect(parseRestart('always')).toEqual({ name: 'always' });
    expect(parseRestart('on-failure:3')).toEqual({ name: 'on-failure', maxRetries: 3 });
    expect(() => parseRestart('always:3')).toThrow(/takes no retry count/);
    expect(() => parseRestart('sometimes')).toThrow(/invalid restart policy/);
  });

  it('Go durations, --add-host, resources, sizes, signals', () => {
    expect(parseGoDuration('1m30s', '--x')).toBe(90_000);
    expect(parseGoDuration('500ms', '--x')).toBe(500);
    expect(parseGoDuration('0', '--x')).toBe(0);
    expect(() => parseGoDuration('10', '--x')).toThrow(/Go duration/);
    expect(() => parseGoDuration('1s junk', '--x')).toThrow();
    expect(parseAddHost('db;db.local:10.0.0.5')).toBe('10.0.0.5\tdb db.local');
    expect(parseAddHost('v6:[::1]')).toBe('::1\tv6');
    // inspect's HostConfig.ExtraHosts shows them as given, as Podman ("db:10.0.0.5")
    expect(addHostSpec(parseAddHost('db;db.local:10.0.0.5'))).toBe('db;db.local:10.0.0.5');
    expect(addHostSpec(parseAddHost('v6:::1'))).toBe('v6:::1');
    expect(() => parseAddHost('nohost')).toThrow(/HOST:IP/);
    expect(() => parseAddHost('a:not-an-ip')).toThrow(/not an IP/);
    expect(parseResources({ memory: '64m', cpus: '1.5', pidsLimit: '100' })).toEqual({ memory: 64e6, cpus: 1.5, pidsLimit: 100 });
    expect(parseResources({})).toBeUndefined();
    expect(() => parseResources({ cpus: '-1' })).toThrow(/--cpus/);
    expect(parseSize('10m')).toBe(10e6);
    expect(parseSize('1KiB')).toBe(1024);
    expect(parseSize(undefined)).toBeUndefined();
    expect(() => parseSize('ten')).toThrow(/invalid size/);
    expect(normalizeSignal('term')).toBe('SIGTERM');
    expect(normalizeSignal('SIGHUP')).toBe('SIGHUP');
    expect(normalizeSignal('9')).toBe('9');
    expect(normalizeSignal('RTMIN+3')).toBe('SIGRTMIN+3');
    expect(() => normalizeSignal('NOPE')).toThrow(/invalid signal/);
  });

  it('healthchecks: flags over the image, Podman defaults, none disables', () => {
    expect(healthConfig({ cmd: 'curl -f x' })).toEqual({ test: ['CMD-SHELL', 'curl -f x'], intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, retries: 3 });
    expect(healthConfig({ cmd: '["true","x"]', interval: '2s', retries: '5' })).toMatchObject({ test: ['CMD', 'true', 'x'], intervalMs: 2000, retries: 5 });
    const image = { Test: ['CMD', 'check'], Interval: 5e9, Retries: 2 };
    expect(healthConfig({}, image)).toMatchObject({ test: ['CMD', 'check'], intervalMs: 5000, retries: 2 });
    expect(healthConfig({ noHealthcheck: true }, image)).toBeUndefined();
    expect(healthConfig({ cmd: 'none' }, image)).toBeUndefined();
    expect(healthConfig({}, { Test: ['NONE'] })).toBeUndefined();
    expect(() => healthConfig({ cmd: 'x', interval: '10ms' })).toThrow(/at least 1 second/);
  });
});

describe('lifecycle decisions', () => {
  it('restart policies: on-failure counts, a user stop wins, --rm never restarts', () => {
    const r = (restart: ContainerRecord['config']['restart'], state: Partial<ContainerRecord['state']> = {}, autoRemove = false) =>
      record({ autoRemove, config: { ...record().config, restart }, state: { status: 'exited', ...state } });
    expect(shouldRestart(r(undefined), 1)).toBe(false);
    expect(shouldRestart(r({ name: 'no' }), 1)).toBe(false);
    expect(shouldRestart(r({ name: 'on-failure' }), 0)).toBe(false);
    expect(shouldRestart(r({ name: 'on-failure' }), 1)).toBe(true);
    expect(shouldRestart(r({ name: 'on-failure', maxRetries: 2 }, { restartCount: 1 }), 1)).toBe(true);
    expect(shouldRestart(r({ name: 'on-failure', maxRetries: 2 }, { restartCount: 2 }), 1)).toBe(false);
    expect(shouldRestart(r({ name: 'always' }), 0)).toBe(true);
    expect(shouldRestart(r({ name: 'always' }, { stoppedByUser: true }), 137)).toBe(false);
    expect(shouldRestart(r({ name: 'unless-stopped' }, { stoppedByUser: true }), 0)).toBe(false);
    expect(shouldRestart(r({ name: 'always' }, {}, true), 1)).toBe(false);
  });

  it('health: start period, streaks, retries, a bounded log', () => {
    const at = (s: number) => new Date(1_700_000_000_000 + s * 1000);
    const run = (exitCode: number, s: number) => ({ exitCode, start: at(s), end: at(s), output: `o${s}` });
    let h = nextHealth(undefined, run(1, 0), { retries: 2, inStartPeriod: true });
    expect(h).toMatchObject({ status: 'starting', failingStreak: 0 });
    h = nextHealth(h, run(1, 1), { retries: 2, inStartPeriod: false });
    expect(h).toMatchObject({ status: 'starting', failingStreak: 1 });
    h = nextHealth(h, run(1, 2), { retries: 2, inStartPeriod: false });
    expect(h).toMatchObject({ status: 'unhealthy', failingStreak: 2 });
    h = nextHealth(h, run(0, 3), { retries: 2, inStartPeriod: false });
    expect(h).toMatchObject({ status: 'healthy', failingStreak: 0 });
    for (let i = 4; i < 12; i++) h = nextHealth(h, run(0, i), { retries: 2, inStartPeriod: false });
    expect(h.log.map((l) => l.output)).toEqual(['o7', 'o8', 'o9', 'o10', 'o11']);
    expect(testArgs(['CMD-SHELL', 'a && b'])).toEqual(['/bin/sh', '-c', 'a && b']);
    expect(testArgs(['CMD', 'x', 'y'])).toEqual(['x', 'y']);
  });

  it('the storage driver: kernel overlay only where no shifting is needed', () => {
    expect(chooseDriver('host', false)).toBe('overlay');
    expect(chooseDriver('private', true)).toBe('overlay');
    expect(chooseDriver('private', false)).toBe('fuse-overlayfs');
    expect(chooseDriver('auto', true)).toBe('fuse-overlayfs');
    expect(chooseDriver('keep-id', true)).toBe('fuse-overlayfs');
  });
});

describe('detach keys', () => {
  it('parses Podman key specs', () => {
    expect([...parseDetachKeys('ctrl-p,ctrl-q')]).toEqual([16, 17]);
    expect([...parseDetachKeys('ctrl-[,x')]).toEqual([27, 120]);
    expect(parseDetachKeys('').length).toBe(0);
    expect(() => parseDetachKeys('ctrl-1')).toThrow(/invalid detach keys/);
    expect(() => parseDetachKeys('shift-a')).toThrow(/invalid detach keys/);
  });

  it('finds the sequence across chunks and passes on a broken partial match', () => {
    const m = new DetachMatcher(Buffer.from([16, 17]));
    expect(m.feed(Buffer.from('ab'))).toEqual({ forward: Buffer.from('ab'), detach: false });
    expect(m.feed(Buffer.from([104, 16]))).toEqual({ forward: Buffer.from([104]), detach: false });
    expect(m.feed(Buffer.from([17, 99]))).toEqual({ forward: Buffer.alloc(0), detach: true });
    const n = new DetachMatcher(Buffer.from([16, 17]));
    expect(n.feed(Buffer.from([16, 120]))).toEqual({ forward: Buffer.from([16, 120]), detach: false });
    expect(n.feed(Buffer.from([16, 16, 17]))).toEqual({ forward: Buffer.from([16]), detach: true });
    expect(new DetachMatcher(Buffer.alloc(0)).feed(Buffer.from([16, 17]))).toEqual({ forward: Buffer.from([16, 17]), detach: false });
  });
});

describe('container filters', () => {
  const a = record({ name: 'web-1', labels: { tier: 'web' }, state: { status: 'exited', exitCode: 3 } });
  const b = record({ id: 'c'.repeat(64), name: 'db', labels: { tier: 'db' }, state: { status: 'created' } });
  const names = (f: string[]) => [a, b].filter(containerFilter(f)).map((r) => r.name);

  it('same key: any value; different keys: all', () => {
    expect(names(['label=tier=web'])).toEqual(['web-1']);
    expect(names(['label=tier'])).toEqual(['web-1', 'db']);
    expect(names(['name=^web', 'name=^db$'])).toEqual(['web-1', 'db']);
    expect(names(['name=^web', 'status=created'])).toEqual([]);
    expect(names(['status=exited'])).toEqual(['web-1']);
    expect(names(['exited=3'])).toEqual(['web-1']);
    expect(names(['id=ccc'])).toEqual(['db']);
    expect(names(['ancestor=busybox'])).toEqual(['web-1', 'db']);
    expect(names(['ancestor=alpine'])).toEqual([]);
  });

  it('refuses what it does not know', () => {
    expect(() => containerFilter(['colour=red'])).toThrow(/invalid filter/);
    expect(() => containerFilter(['status=sleepy'])).toThrow(/not a valid status/);
    expect(() => containerFilter(['nokey'])).toThrow(/KEY=VALUE/);
  });
});

describe("conmon's command line", () => {
  const base = {
    id: 'x'.repeat(64), name: 'c1', bundle: '/run/b', socketDir: '/run/s', pidFile: '/run/b/pidfile', conmonPidFile: '/run/b/conmon.pid',
    exitDir: '/run/exits', terminal: false, stdin: false, runtime: '/usr/bin/crun', runtimeArgs: ['--root=/run/crun'], exitCommand: ['/bin/selkie', 'container', 'cleanup', 'x'],
  };

  it('logs, terminal, stdin that outlives an attach, runtime and exit command', () => {
    const args = conmonArgs({ ...base, logPath: '/d/ctr.log', logSizeMax: 1000, terminal: true, stdin: true });
    const joined = args.join(' ');
    expect(joined).toContain('-l k8s-file:/d/ctr.log --log-size-max 1000');
    expect(joined).toContain('-t -i --leave-stdin-open');
    expect(joined).toContain('-r /usr/bin/crun');
    expect(joined).toContain('--runtime-arg --root=/run/crun');
    expect(joined).toContain('--exit-command /bin/selkie --exit-command-arg container --exit-command-arg cleanup --exit-command-arg x');
    expect(joined).toContain('--exit-dir /run/exits');
  });

  it('no log file for --log-driver none, no terminal flags by default', () => {
    const joined = conmonArgs(base).join(' ');
    expect(joined).toContain('-l none:');
    expect(joined).not.toMatch(/ -t | -i /);
  });
});
