// Volumes and mounts end to end, as an unprivileged user: named volumes kept
// across containers with different ID blocks (owners right in each), the
// volume commands, copy-up of image content, bind mounts with :U, tmpfs
// mounts, anonymous volumes of image VOLUMEs, and an image whose symlink at
// the mount target must not lead the mount to the host.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDockerArchive, busyboxEntries, type TarEntry } from '../../scripts/fixtures.mjs';
import { ensureBusybox, hostUid, newContainerMounts, ok, pausePid, selkie, selkieAsync, sessionMounts, tempDir, waitFor } from './helpers';

/** ok() without the final newline. */
function out(args: string[]): string {
  return ok(args).trim();
}

let IMG: string;
let T: string;
beforeAll(async () => {
  IMG = await ensureBusybox();
  T = tempDir('selkie-vol-');
  chmodSync(T, 0o755);
});
afterAll(() => {
  selkie(['rm', '-f', 'vol-a', 'vol-b', 'vol-user']);
  for (const v of ['it-shared', 'it-www', 'it-cmd', 'it-cmd2', 'it-used', 'it-evil']) selkie(['volume', 'rm', '-f', v]);
  rmSync(T, { recursive: true, force: true });
});

describe('named volumes across containers', () => {
  it('a file written as uid 33 in container A shows as 33:33 in container B with another ID block', async () => {
    selkie(['rm', '-f', 'vol-a', 'vol-b']);
    selkie(['volume', 'rm', '-f', 'it-shared']);
    // Both run at once (detached A keeps its block while B is created), so the blocks differ.
    ok(['run', '-d', '--name', 'vol-a', '-v', 'it-shared:/data', IMG, 'sh', '-c', 'mkdir /data/d && echo hi > /data/d/f && chown -R 33:33 /data/d && touch /data/done && sleep 30']);
    const data = JSON.parse(ok(['volume', 'inspect', 'it-shared']))[0].Mountpoint as string;
    // After the chown (d/f exists before it).
    await waitFor(() => existsSync(join(data, 'done')));
    const got = out(['run', '--name', 'vol-b', '-v', 'it-shared:/data', IMG, 'sh', '-c', 'stat -c "%u:%g %n" /data/d /data/d/f && cat /data/d/f && echo x > /data/d/g && chown 1000:100 /data/d/g']);
    expect(got).toContain('33:33 /data/d\n33:33 /data/d/f\nhi');
    selkie(['rm', '-f', 'vol-a']);
    // The volume stores container IDs: what B wrote is 1000:100 in a third container, and under --userns=host.
    const third = out(['run', '--rm', '-v', 'it-shared:/data', IMG, 'stat', '-c', '%u:%g', '/data/d/g']);
    expect(third).toBe('1000:100');
    for (const mode of ['host', 'auto', 'keep-id']) {
      expect([mode, out(['run', '--rm', `--userns=${mode}`, '-v', 'it-shared:/data', IMG, 'stat', '-c', '%u:%g', '/data/d/f'])]).toEqual([mode, '33:33']);
    }
    selkie(['rm', '-f', 'vol-b']);
    // fuse-overlayfs's opaque markers do not stay in the data (host-mode containers and export read it directly).
    expect(ok(['run', '--rm', '--userns=host', '-v', 'it-shared:/data', IMG, 'ls', '-aR', '/data'])).not.toContain('.wh.');
  });

  it('a detached container\'s volume mounts go when it stops', async () => {
    selkie(['rm', '-f', 'vol-a']);
    const before = new Set(sessionMounts());
    ok(['run', '-d', '--name', 'vol-a', '-v', 'it-shared:/data', IMG, 'sleep', '30']);
    await waitFor(() => newContainerMounts(before).some((m) => m.includes('/volumes/')));
    ok(['stop', '-t', '0', 'vol-a']);
    await waitFor(() => newContainerMounts(before).length === 0);
    ok(['start', 'vol-a']);
    await waitFor(() => newContainerMounts(before).some((m) => m.includes('/volumes/')));
    ok(['rm', '-f', 'vol-a']);
    expect(newContainerMounts(before)).toEqual([]);
  });

  it('copies the image content at the target into an empty volume, owners kept', () => {
    selkie(['volume', 'rm', '-f', 'it-www']);
    const got = out(['run', '--rm', '-v', 'it-www:/var/www', IMG, 'stat', '-c', '%u:%g %n', '/var/www', '/var/www/owned33']);
    expect(got).toBe('33:33 /var/www\n33:33 /var/www/owned33');
    // Copied once: a later container at another path sees the same files.
    expect(out(['run', '--rm', '-v', 'it-www:/mnt', IMG, 'cat', '/mnt/owned33'])).toBe('www');
  });
});

describe('volume commands', () => {
  it('create, ls, inspect, exists, export, import, rm, prune', async () => {
    for (const v of ['it-cmd', 'it-cmd2']) selkie(['volume', 'rm', '-f', v]);
    expect(out(['volume', 'create', '--label', 'k=v', 'it-cmd'])).toBe('it-cmd');
    const dup = selkie(['volume', 'create', 'it-cmd']);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toContain('already exists');
    const ls = out(['volume', 'ls']);
    expect(ls.split('\n')[0]).toMatch(/^DRIVER\s+VOLUME NAME$/);
    expect(ls).toMatch(/local\s+it-cmd\n?/);
    expect(out(['volume', 'ls', '-q', '--filter', 'label=k=v'])).toBe('it-cmd');
    expect(out(['volume', 'ls', '--format', '{{.Name}} {{.Driver}}', '--filter', 'name=it-cmd$'])).toBe('it-cmd local');
    const info = JSON.parse(ok(['volume', 'inspect', 'it-cmd']))[0];
    expect(info).toMatchObject({ Name: 'it-cmd', Driver: 'local', Scope: 'local', Labels: { k: 'v' }, Options: {}, MountCount: 0 });
    expect(info.Mountpoint).toMatch(/volumes\/it-cmd\/_data$/);
    expect(selkie(['volume', 'exists', 'it-cmd']).code).toBe(0);
    expect(selkie(['volume', 'exists', 'it-nope']).code).toBe(1);

    ok(['run', '--rm', '-v', 'it-cmd:/v', IMG, 'sh', '-c', 'echo data > /v/f && mkdir /v/sub && chown -R 33:33 /v/sub']);
    const tar = join(T, 'v.tar');
    ok(['volume', 'export', '-o', tar, 'it-cmd']);
    ok(['volume', 'create', 'it-cmd2']);
    ok(['volume', 'import', 'it-cmd2', tar]);
    expect(out(['run', '--rm', '-v', 'it-cmd2:/v', IMG, 'sh', '-c', 'cat /v/f; stat -c %u:%g /v/sub'])).toBe('data\n33:33');

    // In use: refused with Podman's exit code 2; -f removes the container too.
    ok(['create', '--name', 'vol-user', '-v', 'it-cmd:/v:ro', IMG, 'true']);
    const mounts = JSON.parse(ok(['inspect', 'vol-user']))[0].Mounts;
    expect(mounts).toMatchObject([{ Type: 'volume', Name: 'it-cmd', Destination: '/v', Driver: 'local', RW: false }]);
    const used = selkie(['volume', 'rm', 'it-cmd']);
    expect(used.code).toBe(2);
    expect(used.stderr).toContain('volume is being used');
    const missing = selkie(['volume', 'rm', 'it-nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such volume');
    ok(['volume', 'rm', '-f', 'it-cmd']);
    expect(selkie(['container', 'exists', 'vol-user']).code).toBe(1);
    expect(selkie(['volume', 'exists', 'it-cmd']).code).toBe(1);

    // Concurrent creates of one name: exactly one wins, and no half-made volume is left.
    selkie(['volume', 'rm', '-f', 'it-race']);
    const racers = await Promise.all([1, 2, 3, 4].map(() => selkieAsync(['volume', 'create', 'it-race'])));
    expect(racers.filter((r) => r.code === 0)).toHaveLength(1);
    expect(out(['volume', 'ls', '-q', '--filter', 'name=^it-race$'])).toBe('it-race');
    ok(['volume', 'rm', 'it-race']);

    // prune takes unused volumes only.
    ok(['create', '--name', 'vol-user', '-v', 'it-used:/v', IMG, 'true']);
    expect(out(['volume', 'ls', '-q', '--filter', 'dangling=false', '--filter', 'name=^it-'])).toBe('it-used');
    const pruned = out(['volume', 'prune', '-f']).split('\n');
    expect(pruned).toContain('it-cmd2');
    expect(pruned).not.toContain('it-used');
    expect(selkie(['volume', 'exists', 'it-used']).code).toBe(0);
    ok(['rm', 'vol-user']);
  });
});

describe('bind and tmpfs mounts', () => {
  it(':U lets a non-root container user write, and the host files stay the user\'s', () => {
    const dir = join(T, 'u');
    mkdirSync(dir);
    writeFileSync(join(dir, 'old'), 'old\n');
    const got = out(['run', '--rm', '-u', '33', '-v', `${dir}:/d:U`, IMG, 'sh', '-c', 'echo new > /d/new && mkdir /d/sub && echo x > /d/sub/y && stat -c %u /d/old']);
    expect(got).toBe('33');
    for (const p of ['', 'old', 'new', 'sub', 'sub/y']) {
      const st = lstatSync(join(dir, p));
      expect([p, st.uid, st.gid]).toEqual([p, hostUid(), process.getgid!()]);
    }
    // A single file too.
    const file = join(T, 'ufile');
    writeFileSync(file, 'a\n');
    ok(['run', '--rm', '-u', '33', '-v', `${file}:/f:U`, IMG, 'sh', '-c', 'echo b >> /f']);
    expect([lstatSync(file).uid, readFileSync(file, 'utf8')]).toEqual([hostUid(), 'a\nb\n']);
    // Without :U, uid 33 cannot write to the user's directory.
    const denied = selkie(['run', '--rm', '-u', '33', '-v', `${dir}:/d`, IMG, 'touch', '/d/nope']);
    expect(denied.code).not.toBe(0);
  });

  it('binds relative and read-only host paths; --mount type=bind', () => {
    const dir = join(T, 'b');
    mkdirSync(dir);
    writeFileSync(join(dir, 'f'), 'bound\n');
    expect(out(['run', '--rm', '--mount', `type=bind,src=${dir},dst=/b,ro,relabel=private`, IMG, 'cat', '/b/f'])).toBe('bound');
    const ro = selkie(['run', '--rm', '-v', `${dir}:/b:ro,Z`, IMG, 'touch', '/b/g']);
    expect(ro.code).not.toBe(0);
    expect(existsSync(join(dir, 'g'))).toBe(false);
    // A mount below another comes after it, whatever the order given.
    ok(['run', '--rm', '--mount', 'type=tmpfs,dst=/b/t', '--mount', `type=bind,src=${dir},dst=/b`, IMG, 'sh', '-c', 'echo y > /b/t/x']);
    expect(existsSync(join(dir, 't', 'x'))).toBe(false);
  });

  it('idmap: an idmapped bind where the kernel allows it (a tmpfs of the session), a clear error where not (the host\'s disk)', () => {
    const host = join(T, 'idmap-host');
    mkdirSync(host);
    const refused = selkie(['run', '--rm', '-v', `${host}:/x:idmap`, IMG, 'true']);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toContain(`idmap on ${host}: the kernel does not allow a rootless user an idmapped mount of that filesystem`);

    // A tmpfs mounted inside the session namespace belongs to it: there the kernel allows it.
    const mine = join(T, 'idmap-tmpfs');
    mkdirSync(mine);
    ok(['ps']); // the session exists
    const inSession = (script: string) => execFileSync('nsenter', ['-t', String(pausePid()), '-U', '-m', '--preserve-credentials', '--', 'sh', '-euc', script]);
    inSession(`mount -t tmpfs tmpfs ${mine} && echo hi > ${mine}/f && chown 5:5 ${mine}/f`);
    try {
      // Session ID 5 is outside the container's own block: unmapped (65534) through a plain bind, 5 through idmap.
      expect(out(['run', '--rm', '-v', `${mine}:/x`, IMG, 'stat', '-c', '%u:%g', '/x/f'])).toBe('65534:65534');
      expect(out(['run', '--rm', '-v', `${mine}:/x:idmap`, IMG, 'stat', '-c', '%u:%g', '/x/f'])).toBe('5:5');
    } finally {
      inSession(`umount ${mine}`);
    }
  });

  it('--mount type=tmpfs with size and mode', () => {
    const got = out(['run', '--rm', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777', IMG, 'sh', '-c', 'stat -c %a /t; df -k /t | tail -1']);
    const [mode, df] = got.split('\n');
    expect(mode).toBe('1777');
    expect(df.trim().split(/\s+/)[1]).toBe('65536');
  });
});

describe('anonymous volumes', () => {
  it('run --rm with an image VOLUME removes the anonymous volume; rm -v too', async () => {
    const tar = join(T, 'volimg.tar');
    await writeDockerArchive(tar, { repoTag: 'localhost/it-volimg:1', layers: [busyboxEntries()], config: { Volumes: { '/data': {} } } });
    ok(['load', '-i', tar]);
    const before = new Set(out(['volume', 'ls', '-q']).split('\n'));
    ok(['run', '--rm', 'localhost/it-volimg:1', 'sh', '-c', 'echo x > /data/x']);
    expect(new Set(out(['volume', 'ls', '-q']).split('\n'))).toEqual(before);
    ok(['run', '--name', 'vol-anon', '-v', '/anon', 'localhost/it-volimg:1', 'true']);
    const vols = out(['volume', 'ls', '-q']).split('\n').filter((v) => !before.has(v));
    expect(vols.length).toBe(2);
    ok(['rm', '-v', 'vol-anon']);
    expect(out(['volume', 'ls', '-q']).split('\n').filter((v) => !before.has(v))).toEqual([]);
  });
});

describe('hostile images', () => {
  it('a symlink at the mount target pointing to a host path does not mount outside the container', async () => {
    const host = tempDir('selkie-evil-');
    chmodSync(host, 0o755);
    writeFileSync(join(host, 'keep'), 'keep\n');
    const dangling = tempDir('selkie-evil-');
    chmodSync(dangling, 0o755);
    const inImage = host.slice(1);
    const tar = join(T, 'evil.tar');
    // evil: dangling inside the root; evil2: the same host path exists in the image too.
    const extra: TarEntry[] = [
      { name: 'evil', type: 'symlink' as const, linkname: dangling, mode: 0o777 },
      { name: 'evil2', type: 'symlink' as const, linkname: host, mode: 0o777 },
      ...inImage.split('/').map((_, i, parts) => ({ name: `${parts.slice(0, i + 1).join('/')}/`, type: 'directory' as const, mode: 0o755 })),
    ].filter((e) => !['tmp/'].includes(e.name));
    await writeDockerArchive(tar, { repoTag: 'localhost/it-evil:1', layers: [busyboxEntries(extra)] });
    ok(['load', '-i', tar]);
    selkie(['volume', 'rm', '-f', 'it-evil']);
    const bind = join(T, 'evilbind');
    mkdirSync(bind);
    for (const target of ['/evil', '/evil2']) {
      // Refused or mounted inside the root; never on the host's directory.
      for (const m of [['-v', `it-evil:${target}`], ['-v', `${bind}:${target}`], ['--mount', `type=tmpfs,dst=${target}`]]) {
        const r = selkie(['run', '--rm', ...m, 'localhost/it-evil:1', 'sh', '-c', `echo pwned > ${target}/pwned`]);
        if (target === '/evil2') expect(r.code, r.stderr).toBe(0);
      }
    }
    expect(readdirSync(host)).toEqual(['keep']);
    expect(readdirSync(dangling)).toEqual([]);
    expect(statSync(host).mode & 0o7777).toBe(0o755);
    // evil2 led the mounts to the image's own directory of that name.
    expect(readdirSync(bind)).toEqual(['pwned']);
    rmSync(host, { recursive: true, force: true });
    rmSync(dangling, { recursive: true, force: true });
  });
});
