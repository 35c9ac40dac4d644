// `selkie run` end to end, as an unprivileged user: real user namespaces, real
// mounts, real crun.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBusybox, graphRoot, SELKIE, hostUid, ok, runRoot, selkie, selkieAsync, sessionMounts, sessionToHost, waitFor, newContainerMounts } from './helpers';

let IMG: string;

beforeAll(async () => {
  IMG = await ensureBusybox();
});

interface MapLine { inner: number; outer: number; count: number }
function parseMap(text: string): MapLine[] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .map(([inner, outer, count]) => ({ inner, outer, count }));
}


/** A script's wait until the test says go (`release`): not a fixed time, which a slow machine could use up. */
const UNTIL_GO = 'until [ -e /dev/shm/go ]; do sleep 0.1; done';
const release = (name: string) => ok(['exec', name, 'touch', '/dev/shm/go']);

function pidOf(name: string): number {
  const r = selkie(['inspect', '-f', '{{.State.Pid}}', name]);
  return r.code === 0 ? Number(r.stdout.trim()) : 0;
}

describe('user namespaces', () => {
  it('maps container root to the invoking user and 1..65535 to a block of its own', () => {
    const out = ok(['run', '--rm', IMG, 'cat', '/proc/self/uid_map']);
    const m = parseMap(out);
    expect(m[0]).toEqual({ inner: 0, outer: 0, count: 1 });
    expect(sessionToHost(m[0].outer)).toBe(hostUid());
    expect(m[1].inner).toBe(1);
    expect(m[1].count).toBe(65535);
    // The block lies beyond the 65536 IDs that hold image files on disk.
    expect(m[1].outer).toBeGreaterThanOrEqual(65536);
    expect(m[1].outer % 65536).toBe(1);
    const gid = parseMap(ok(['run', '--rm', IMG, 'cat', '/proc/self/gid_map']));
    expect(gid[1].outer % 65536).toBe(1);
    expect(ok(['run', '--rm', IMG, 'id', '-u']).trim()).toBe('0');
  });

  it('gives containers that run at the same time disjoint blocks, and reuses a block after rm', async () => {
    const names = ['blk-a', 'blk-b'];
    for (const n of names) selkie(['rm', '-f', n]);
    const runs = names.map((n) => selkieAsync(['run', '--name', n, IMG, 'sh', '-c', `cat /proc/self/uid_map; ${UNTIL_GO}`]));
    await waitFor(() => names.every((n) => pidOf(n) > 0));
    for (const n of names) release(n);
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code).toBe(0);
    const blocks = results.map((r) => parseMap(r.stdout)[1].outer);
    expect(blocks[0]).not.toBe(blocks[1]);
    expect(Math.abs(blocks[0] - blocks[1])).toBeGreaterThanOrEqual(65536);
    const inspected = names.map((n) => JSON.parse(ok(['inspect', n]))[0].IDBlock as number);
    expect(new Set(inspected).size).toBe(2);
    // Free the lower block; the next container gets exactly that one.
    const lower = names[inspected[0] < inspected[1] ? 0 : 1];
    const lowerBlock = Math.min(...inspected);
    ok(['rm', lower]);
    ok(['run', '--name', 'blk-c', IMG, 'true']);
    expect(JSON.parse(ok(['inspect', 'blk-c']))[0].IDBlock).toBe(lowerBlock);
    ok(['rm', 'blk-c', names.find((n) => n !== lower)!]);
  });

  it('--userns=auto maps root into the block too; host uses the session mapping; keep-id keeps my ID', () => {
    const auto = parseMap(ok(['run', '--rm', '--userns=auto', IMG, 'cat', '/proc/self/uid_map']));
    expect(auto).toHaveLength(1);
    expect(auto[0].inner).toBe(0);
    expect(auto[0].count).toBe(65536);
    expect(auto[0].outer % 65536).toBe(0);
    expect(auto[0].outer).toBeGreaterThanOrEqual(65536);

    const host = parseMap(ok(['run', '--rm', '--userns=host', IMG, 'cat', '/proc/self/uid_map']));
    // In S itself: the session's own map, 0 -> me, then my subordinate ranges.
    expect(host[0]).toEqual({ inner: 0, outer: hostUid(), count: 1 });
    expect(host.slice(1).reduce((n, l) => n + l.count, 0)).toBeGreaterThan(65536);

    const keep = ok(['run', '--rm', '--userns=keep-id', IMG, 'sh', '-c', 'id -u; id -g; cat /proc/self/uid_map']).trim().split('\n');
    expect(Number(keep[0])).toBe(hostUid());
    const keepMap = parseMap(keep.slice(2).join('\n'));
    expect(keepMap.find((l) => l.inner === hostUid())).toEqual({ inner: hostUid(), outer: 0, count: 1 });
  });

  it('shows the container root process as me on the host, and a non-root container user as an ID of its block', async () => {
    for (const n of ['own-root', 'own-33']) selkie(['rm', '-f', n]);
    const a = selkieAsync(['run', '--name', 'own-root', IMG, 'sh', '-c', UNTIL_GO]);
    const b = selkieAsync(['run', '--name', 'own-33', '-u', '33', IMG, 'sh', '-c', UNTIL_GO]);
    await waitFor(() => pidOf('own-root') > 0 && pidOf('own-33') > 0);
    const ps = (pid: number) => execFileSync('ps', ['-o', 'uid=,pid=', '-p', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    const [rootUid] = ps(pidOf('own-root'));
    expect(rootUid).toBe(hostUid());
    const [uid33] = ps(pidOf('own-33'));
    const block = JSON.parse(ok(['inspect', 'own-33']))[0].IDBlock as number;
    expect(uid33).toBe(sessionToHost(65536 + block * 65536 + 33));
    for (const n of ['own-root', 'own-33']) release(n);
    expect((await a).code).toBe(0);
    expect((await b).code).toBe(0);
    ok(['rm', 'own-root', 'own-33']);
  });
});

describe('files and layers', () => {
  for (const mode of ['private', 'auto', 'host', 'keep-id']) {
    it(`shows image files with their image owners under --userns=${mode}`, () => {
      const out = ok(['run', '--rm', `--userns=${mode}`, IMG, 'stat', '-c', '%u:%g %n', '/bin/busybox', '/var/www/owned33', '/home/app']);
      expect(out.trim().split('\n')).toEqual(['0:0 /bin/busybox', '33:33 /var/www/owned33', '1000:1000 /home/app']);
    });
  }

  it('keeps a write in one container out of the image and out of other containers', () => {
    for (const n of ['w1', 'w2']) selkie(['rm', '-f', n]);
    ok(['run', '--name', 'w1', IMG, 'sh', '-c', 'echo secret > /var/www/owned33; echo new > /tmp/new; chown 33 /tmp/new']);
    const other = ok(['run', '--name', 'w2', IMG, 'sh', '-c', 'cat /var/www/owned33; ls /tmp']);
    expect(other).toBe('www\n');
    expect(ok(['run', '--rm', IMG, 'cat', '/var/www/owned33'])).toBe('www\n');
    // The writer's own upper layer keeps its files, in the image's ID space.
    ok(['start', '-a', 'w1']);
    ok(['rm', 'w1', 'w2']);
  });

  it('runs with a read-only root filesystem', () => {
    const r = selkie(['run', '--rm', '--read-only', IMG, 'sh', '-c', 'touch /x']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(ok(['run', '--rm', '--read-only', IMG, 'sh', '-c', 'touch /tmp/x && echo ok'])).toBe('ok\n');
  });
});

describe('command line to spec', () => {
  it('applies -e, --env-file, -w, -u, --entrypoint, --hostname and the image config', () => {
    const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
    execFileSync('sh', ['-c', `printf 'FROM_FILE=1\\n# comment\\nOVER=file\\n' > ${dir}/env`]);
    const out = ok([
      'run', '--rm', '-e', 'A=b c', '--env-file', `${dir}/env`, '-e', 'OVER=flag', '-w', '/work/dir', '-u', 'www-data',
      '--hostname', 'box', IMG, 'sh', '-c', 'echo "$A|$FROM_FILE|$OVER|$(pwd)|$(id -u):$(id -g)|$(hostname)|$HOME"',
    ]);
    expect(out.trim()).toBe('b c|1|flag|/work/dir|33:33|box|/var/www');
    expect(ok(['run', '--rm', '--entrypoint', 'echo', IMG, 'from', 'entrypoint']).trim()).toBe('from entrypoint');
    expect(ok(['run', '--rm', '--entrypoint', '["sh","-c","echo $0"]', IMG, 'json']).trim()).toBe('json');
    expect(ok(['run', '--rm', '-u', '1000:100', IMG, 'id']).trim()).toBe('uid=1000(app) gid=100(users)');
    // without a group, the user's supplementary groups from /etc/group apply
    expect(ok(['run', '--rm', '-u', 'app', IMG, 'id']).trim()).toBe('uid=1000(app) gid=1000(app) groups=100(users)');
  });

  it('passes stdin with -i and streams stdout and stderr separately', () => {
    const r = selkie(['run', '--rm', '-i', IMG, 'sh', '-c', 'cat; echo err >&2'], { input: 'from stdin\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('from stdin\n');
    expect(r.stderr).toBe('err\n');
  });

  it('--network none has only lo; --network host sees the host interfaces', () => {
    expect(ok(['run', '--rm', '--network', 'none', IMG, 'ls', '/sys/class/net']).trim()).toBe('lo');
    const host = readdirSync('/sys/class/net').sort();
    expect(ok(['run', '--rm', '--network', 'host', IMG, 'ls', '/sys/class/net']).trim().split(/\s+/).sort()).toEqual(host);
  });

  it('drops and adds capabilities and applies the seccomp profile', () => {
    const capEff = (args: string[]) => ok(['run', '--rm', ...args, IMG, 'sh', '-c', 'grep CapEff /proc/self/status']).trim().split(/\s+/)[1];
    const dflt = BigInt(`0x${capEff([])}`);
    const dropped = BigInt(`0x${capEff(['--cap-drop', 'CHOWN'])}`);
    expect(dflt & 1n).toBe(1n); // CAP_CHOWN is bit 0
    expect(dropped & 1n).toBe(0n);
    const added = BigInt(`0x${capEff(['--cap-add', 'NET_ADMIN'])}`);
    expect(added & (1n << 12n)).toBe(1n << 12n);
    expect(ok(['run', '--rm', IMG, 'sh', '-c', 'grep Seccomp: /proc/self/status']).trim()).toMatch(/Seccomp:\s+2/);
    expect(ok(['run', '--rm', '--security-opt', 'seccomp=unconfined', IMG, 'sh', '-c', 'grep Seccomp: /proc/self/status']).trim()).toMatch(/Seccomp:\s+0/);
    // The profile's own rules, in the container and in an exec: a new user
    // namespace needs CAP_SYS_ADMIN there; without the filter it is allowed.
    expect(selkie(['run', '--rm', IMG, 'unshare', '-U', 'true']).stderr).toMatch(/Operation not permitted/);
    expect(selkie(['run', '--rm', '--security-opt', 'seccomp=unconfined', IMG, 'unshare', '-U', 'true']).code).toBe(0);
    selkie(['rm', '-f', 'seccomp-exec']);
    ok(['run', '-d', '--name', 'seccomp-exec', IMG, 'sleep', '60']);
    const inExec = selkie(['exec', 'seccomp-exec', 'unshare', '-U', 'true']);
    expect(inExec.code).toBe(1);
    expect(inExec.stderr).toMatch(/Operation not permitted/);
    ok(['rm', '-f', 'seccomp-exec']);
    // --privileged: every capability, no seccomp filter, nothing masked
    const priv = ok(['run', '--rm', '--privileged', IMG, 'sh', '-c', 'grep -E "CapEff|Seccomp:" /proc/self/status; grep -c " /proc/keys " /proc/self/mountinfo || true']).trim().split('\n');
    expect(BigInt(`0x${priv[0].split(/\s+/)[1]}`)).toBeGreaterThanOrEqual((1n << 41n) - 1n);
    expect(priv[1]).toMatch(/Seccomp:\s+0/);
    expect(priv[2]).toBe('0');
    // A masked path is covered (by /dev/null) and reads as empty.
    expect(ok(['run', '--rm', IMG, 'sh', '-c', 'grep -c " /proc/keys " /proc/self/mountinfo; wc -c < /proc/keys']).trim()).toBe('1\n0');
  });
});

describe('exit codes', () => {
  it('returns the container\'s own code, and 125, 126, 127 as Podman does', () => {
    expect(selkie(['run', '--rm', IMG, 'sh', '-c', 'exit 3']).code).toBe(3);
    const notFound = selkie(['run', '--rm', IMG, 'no-such-command']);
    expect(notFound.code).toBe(127);
    expect(notFound.stderr).toMatch(/no-such-command.*not found/);
    const notExec = selkie(['run', '--rm', IMG, '/etc/passwd']);
    expect(notExec.code).toBe(126);
    expect(notExec.stderr).toMatch(/permission denied/);
    expect(selkie(['run', '--rm', IMG, '/etc']).code).toBe(126);
    const badFlag = selkie(['run', '--no-such-flag', IMG, 'true']);
    expect(badFlag.code).toBe(125);
    expect(badFlag.stderr).toBe('Error: unknown flag: --no-such-flag\n');
    const noImage = selkie(['run', '--rm', '--pull=never', 'localhost/does-not-exist:1', 'true']);
    expect(noImage.code).toBe(125);
    expect(noImage.stderr).toMatch(/image not known/);
    // with the default policy a missing image is pulled: the registry's error says why it failed
    const noRegistry = selkie(['run', '--rm', 'localhost:1/does-not-exist:1', 'true']);
    expect(noRegistry.code).toBe(125);
    expect(noRegistry.stderr).toMatch(/^Error: initializing source docker:\/\/localhost:1\/does-not-exist:1: .*refused/i);
    expect(selkie(['run', '--rm', '--userns=bogus', IMG, 'true']).code).toBe(125);
    expect(selkie(['run', '--rm', '-u', 'nosuchuser', IMG, 'true']).code).toBe(125);
  });

  it('sends signals given to selkie to the container', async () => {
    selkie(['rm', '-f', 'sig']);
    const p = selkieAsync(['run', '--name', 'sig', IMG, 'sh', '-c', 'trap "echo got TERM; exit 7" TERM; touch /dev/shm/ready; while true; do sleep 0.1; done']);
    // sh as PID 1 drops a signal it has no trap for: wait until the trap is set.
    await waitFor(() => pidOf('sig') > 0 && selkie(['exec', 'sig', 'test', '-e', '/dev/shm/ready']).code === 0);
    // The selkie process itself: its child is crun.
    const selkiePid = Number(execFileSync('pgrep', ['-n', '-f', 'selkie.js run --name sig'], { encoding: 'utf8' }).trim());
    process.kill(selkiePid, 'SIGTERM');
    const r = await p;
    expect(r.stdout).toBe('got TERM\n');
    expect(r.code).toBe(7);
    ok(['rm', 'sig']);
  });
});

describe('the selkie process', () => {
  it('is the one a caller waits for and kills: SIGKILL to it ends the command at once', async () => {
    selkie(['rm', '-f', 'killed']);
    const child = spawn(SELKIE, ['run', '--name', 'killed', IMG, 'sleep', '100'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, sig) => r(sig)));
    await waitFor(() => pidOf('killed') > 0);
    const node = () => spawnSync('pgrep', ['-f', 'selkie.js run --name killed'], { encoding: 'utf8' }).stdout.trim();
    expect(node()).toBe(String(child.pid));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    // Nothing of the command runs on once its caller saw it end (no process between them).
    expect(node()).toBe('');
    ok(['rm', '-f', 'killed']);
  });
});

describe('cleanup and concurrency', () => {
  it('leaves no mount, process or directory after --rm or rm', async () => {
    const mountsBefore = new Set(sessionMounts());
    const before = readdirSync(join(graphRoot(), 'containers')).length;
    ok(['run', '--rm', IMG, 'true']);
    ok(['run', '--name', 'gone', IMG, 'true']);
    const id = JSON.parse(ok(['inspect', 'gone']))[0].Id as string;
    ok(['rm', 'gone']);
    expect(readdirSync(join(graphRoot(), 'containers')).length).toBe(before);
    expect(existsSync(join(runRoot(), 'containers', id))).toBe(false);
    expect(sessionMounts().filter((m) => m.includes(join('containers', id)))).toEqual([]);
    expect(newContainerMounts(mountsBefore)).toEqual([]);
    // fuse-overlayfs daemons end once their mount is gone
    const fuse = () => {
      try {
        // this store's daemons only (the upper layers live under its graph root)
        return execFileSync('pgrep', ['-u', String(hostUid()), '-f', `^fuse-overlayfs .*upperdir=${graphRoot()}/`], { encoding: 'utf8' }).trim();
      } catch {
        return ''; // pgrep exits 1 when nothing matches
      }
    };
    await waitFor(() => fuse() === '', 10_000);
  });

  it('runs 10 concurrent `run --rm` to success and leaves consistent state', async () => {
    const mountsBefore = new Set(sessionMounts());
    const before = ok(['ps', '-a', '-q']).trim();
    const runs = Array.from({ length: 10 }, (_, i) => selkieAsync(['run', '--rm', IMG, 'sh', '-c', `echo run-${i}`]));
    const results = await Promise.all(runs);
    results.forEach((r, i) => {
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`run-${i}\n`);
      expect(r.code).toBe(0);
    });
    expect(ok(['ps', '-a', '-q']).trim()).toBe(before);
    expect(newContainerMounts(mountsBefore)).toEqual([]);
  });
});

afterAll(() => {
  selkie(['rm', '-f', 'blk-a', 'blk-b', 'blk-c', 'own-root', 'own-33', 'w1', 'w2', 'gone', 'sig']);
});
