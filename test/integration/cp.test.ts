// `selkie cp` end to end, as an unprivileged user: host <-> container (created,
// exited and running containers), Docker's SRC/DEST rules, tar streams, the
// owners the container sees, and symlinks planted in a container that must
// never lead a copy to the host's files, in either direction.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBusybox, hostUid, ok, selkie, SELKIE, tempDir, waitFor } from './helpers';

let IMG: string;
let T: string;
beforeAll(async () => {
  IMG = await ensureBusybox();
  T = tempDir('selkie-cp-');
});
afterAll(() => rmSync(T, { recursive: true, force: true }));

/** A stopped container that ran script (so what it made is in its upper layer). */
function ran(name: string, script: string, extra: string[] = []): void {
  selkie(['rm', '-f', name]);
  ok(['run', '--name', name, ...extra, IMG, 'sh', '-c', script]);
}

/** A created container whose command reports on what cp put in; `report()` starts it and returns its output. */
function created(name: string, script: string, extra: string[] = []): { report: () => string } {
  selkie(['rm', '-f', name]);
  ok(['create', '--name', name, ...extra, IMG, 'sh', '-c', script]);
  return { report: () => ok(['start', '-a', name]) };
}

function failing(args: string[], input?: string): string {
  const r = selkie(args, { input });
  expect(r.code, `selkie ${args.join(' ')}: ${r.stderr}`).toBe(125);
  return r.stderr;
}

/** selkie with binary stdin/stdout (tar streams). */
function raw(args: string[], input?: Buffer): { code: number; stdout: Buffer; stderr: string } {
  const r = spawnSync(SELKIE, args, { input, env: process.env, timeout: 60_000, maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr.toString() };
}

function tarList(tar: Buffer): string[] {
  return spawnSync('tar', ['-tvf', '-'], { input: tar, encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .map((l) => {
      const f = l.split(/\s+/);
      return `${f[1]} ${f.slice(5).join(' ')}`; // owner and name (and link)
    });
}

async function tarOf(entries: { name: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string; content?: string; uid?: number; gid?: number; mode?: number }[]): Promise<Buffer> {
  const p = pack();
  for (const { content, ...h } of entries) p.entry({ mode: h.type === 'directory' ? 0o755 : 0o644, ...h }, content ?? '');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function hostDir(name: string): string {
  const d = join(T, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  return d;
}

describe('cp between the host and a container', () => {
  it('copies a host file into a container: into a directory, to a new name, over a file, relative to the working directory', () => {
    const src = hostDir('in-file');
    writeFileSync(join(src, 'hostfile'), 'from the host\n');
    // run once so that the working directory exists, then report what cp brought
    ran('cp-in', 'echo original > /tmp/old', ['--workdir', '/srv']);
    ok(['cp', join(src, 'hostfile'), 'cp-in:/tmp']);
    ok(['cp', join(src, 'hostfile'), 'cp-in:/tmp/renamed.txt']);
    ok(['cp', join(src, 'hostfile'), 'cp-in:/tmp/old']);
    ok(['cp', join(src, 'hostfile'), 'cp-in:rel.txt']);
    ok(['container', 'cp', join(src, 'hostfile'), 'cp-in:/']);
    const out = raw(['cp', 'cp-in:/', '-']);
    expect(out.code).toBe(0);
    const names = tarList(out.stdout).map((l) => l.split(' ')[1]);
    expect(names).toEqual(expect.arrayContaining(['tmp/hostfile', 'tmp/renamed.txt', 'tmp/old', 'srv/rel.txt', 'hostfile']));
    const back = hostDir('in-file-back');
    for (const f of ['/tmp/hostfile', '/tmp/renamed.txt', '/tmp/old', '/srv/rel.txt', '/hostfile']) {
      ok(['cp', `cp-in:${f}`, join(back, 'x')]);
      expect(readFileSync(join(back, 'x'), 'utf8'), f).toBe('from the host\n');
    }
    ok(['rm', 'cp-in']);
  });

  it('copies container files and directories to the host as the invoking user, by the rules for dir, dir/ and dir/.', () => {
    ran('cp-out', 'mkdir -p /data/sub && echo f > /data/sub/f && echo top > /data/top && ln -s sub/f /data/link && chown -R 1000:1000 /data && chmod 640 /data/top');
    const d = hostDir('out');
    ok(['cp', 'cp-out:/data/top', d]);
    expect(readFileSync(join(d, 'top'), 'utf8')).toBe('top\n');
    // owned by the user who ran cp, the mode kept
    expect(statSync(join(d, 'top')).uid).toBe(hostUid());
    expect(statSync(join(d, 'top')).mode & 0o777).toBe(0o640);
    ok(['cp', 'cp-out:/data/top', join(d, 'renamed')]);
    expect(readFileSync(join(d, 'renamed'), 'utf8')).toBe('top\n');
    // a directory to a new name: created with the contents
    ok(['cp', 'cp-out:/data', join(d, 'new')]);
    expect(readFileSync(join(d, 'new', 'sub', 'f'), 'utf8')).toBe('f\n');
    expect(readlinkSync(join(d, 'new', 'link'))).toBe('sub/f');
    expect(statSync(join(d, 'new', 'sub')).uid).toBe(hostUid());
    // into an existing directory: the directory itself, or with "/." its contents
    mkdirSync(join(d, 'exists1'));
    mkdirSync(join(d, 'exists2'));
    ok(['cp', 'cp-out:/data/', join(d, 'exists1')]);
    ok(['cp', 'cp-out:/data/.', join(d, 'exists2')]);
    expect(readdirSync(join(d, 'exists1'))).toEqual(['data']);
    expect(readdirSync(join(d, 'exists2')).sort()).toEqual(['link', 'sub', 'top']);
    // a symlink is copied as a symlink unless -L
    ok(['cp', 'cp-out:/data/link', join(d, 'l1')]);
    expect(lstatSync(join(d, 'l1')).isSymbolicLink()).toBe(true);
    ok(['cp', '-L', 'cp-out:/data/link', join(d, 'l2')]);
    expect(readFileSync(join(d, 'l2'), 'utf8')).toBe('f\n');

    expect(failing(['cp', 'cp-out:/data', join(d, 'top')])).toBe('Error: destination must be a directory when copying a directory\n');
    expect(failing(['cp', 'cp-out:/data/top', join(d, 'nodir') + '/'])).toMatch(/could not be found on the host: no such file or directory/);
    expect(failing(['cp', 'cp-out:/nothere', d])).toBe('Error: "/nothere" could not be found on container cp-out: no such file or directory\n');
    expect(failing(['cp', 'nosuch:/x', d])).toMatch(/no container with name or ID "nosuch" found: no such container/);
    ok(['rm', 'cp-out']);
  });

  it('copies host directories into a container: dir into a directory, dir/. to a new one', () => {
    const src = hostDir('in-dir');
    mkdirSync(join(src, 'dir', 'sub'), { recursive: true });
    writeFileSync(join(src, 'dir', 'sub', 'f'), 'deep\n');
    symlinkSync('sub/f', join(src, 'dir', 'link'));
    const c = created('cp-in-dir', 'cat /tmp/dir/sub/f /tmp/dir/link /new/sub/f; readlink /tmp/dir/link; ls /new');
    ok(['cp', join(src, 'dir'), 'cp-in-dir:/tmp']);
    ok(['cp', join(src, 'dir') + '/.', 'cp-in-dir:/new']);
    expect(c.report()).toBe('deep\ndeep\ndeep\nsub/f\nlink\nsub\n');
    expect(failing(['cp', join(src, 'dir'), 'cp-in-dir:/etc/passwd'])).toBe('Error: destination must be a directory when copying a directory\n');
    expect(failing(['cp', join(src, 'dir', 'sub', 'f'), 'cp-in-dir:/nodir/'])).toBe('Error: "/nodir/" could not be found on container cp-in-dir: no such file or directory\n');
    expect(failing(['cp', join(src, 'missing'), 'cp-in-dir:/tmp'])).toMatch(/missing" could not be found on the host/);
    ok(['rm', 'cp-in-dir']);
  });

  it('replaces a directory by a file and the other way round only with --overwrite', () => {
    const src = hostDir('overwrite');
    writeFileSync(join(src, 'foo'), 'file\n');
    const c = created('cp-ow', 'cat /tmp/foo', []);
    ok(['cp', `${hostDir('overwrite-d')}/.`, 'cp-ow:/tmp/foo']); // /tmp/foo is now a directory
    expect(failing(['cp', join(src, 'foo'), 'cp-ow:/tmp'])).toMatch(/error creating "\/tmp\/foo": .*: file exists/);
    ok(['cp', '--overwrite', join(src, 'foo'), 'cp-ow:/tmp']);
    expect(c.report()).toBe('file\n');
    ok(['rm', 'cp-ow']);
  });

  it('works on a running container, through its own mount', async () => {
    const src = hostDir('running');
    writeFileSync(join(src, 'f'), 'while running\n');
    selkie(['rm', '-f', 'cp-live']);
    const child = spawn(SELKIE, ['run', '--name', 'cp-live', IMG, 'sh', '-c', 'echo mine > /made; i=0; while [ ! -f /tmp/f ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; cat /tmp/f'], { env: process.env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    // 'close', not 'exit': the output may still be on its way when the process has exited.
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await waitFor(() => selkie(['inspect', '-f', '{{.State.Status}}', 'cp-live']).stdout.trim() === 'running');
    await waitFor(() => selkie(['cp', 'cp-live:/made', join(src, 'made')]).code === 0);
    expect(readFileSync(join(src, 'made'), 'utf8')).toBe('mine\n');
    ok(['cp', join(src, 'f'), 'cp-live:/tmp/f']);
    expect(await exited).toBe(0);
    expect(out).toBe('while running\n');
    ok(['rm', 'cp-live']);
  });
});

describe('owners', () => {
  for (const userns of ['private', 'host']) {
    it(`gives what is copied in to the container's user, or keeps the archive's IDs with -a=false (--userns=${userns})`, async () => {
      const src = hostDir(`owners-${userns}`);
      writeFileSync(join(src, 'f'), 'x');
      mkdirSync(join(src, 'd'));
      writeFileSync(join(src, 'd', 'g'), 'y');
      const opts = userns === 'private' ? [] : ['--userns=host'];
      // the image's user "app" is 1000:1000; the container runs as it
      const app = created(`cp-own-app-${userns}`, 'stat -c "%u:%g %n" /tmp/f /tmp/d /tmp/d/g /tmp/kept /tmp/kd /tmp/kd/k', [...opts, '--user', 'app']);
      ok(['cp', join(src, 'f'), `cp-own-app-${userns}:/tmp`]);
      ok(['cp', join(src, 'd'), `cp-own-app-${userns}:/tmp`]);
      const tar = await tarOf([
        { name: 'kept', content: 'k', uid: 1042, gid: 1043 },
        { name: 'kd/', type: 'directory', uid: 33, gid: 33 },
        { name: 'kd/k', content: 'k', uid: 33, gid: 100 },
      ]);
      expect(raw(['cp', '-a=false', '-', `cp-own-app-${userns}:/tmp`], tar).code).toBe(0);
      expect(app.report()).toBe('1000:1000 /tmp/f\n1000:1000 /tmp/d\n1000:1000 /tmp/d/g\n1042:1043 /tmp/kept\n33:33 /tmp/kd\n33:100 /tmp/kd/k\n');

      const root = created(`cp-own-root-${userns}`, 'stat -c "%u:%g %n" /tmp/f /tmp/d/g /tmp/kept', opts);
      ok(['cp', join(src, 'f'), `cp-own-root-${userns}:/tmp`]);
      ok(['cp', join(src, 'd'), `cp-own-root-${userns}:/tmp`]);
      // with --archive (the default) a tar's own IDs give way to the container's user
      expect(raw(['cp', '-', `cp-own-root-${userns}:/tmp`], tar).code).toBe(0);
      expect(root.report()).toBe('0:0 /tmp/f\n0:0 /tmp/d/g\n0:0 /tmp/kept\n');

      // and out again: the invoking user's files, whoever owned them in the container
      const back = hostDir(`owners-back-${userns}`);
      ok(['cp', `cp-own-app-${userns}:/tmp/kd`, back]);
      expect(statSync(join(back, 'kd', 'k')).uid).toBe(hostUid());
      selkie(['rm', `cp-own-app-${userns}`, `cp-own-root-${userns}`]);
    });
  }
});

describe('tar streams', () => {
  it('extracts a tar (plain or gzip) from stdin into a directory, and writes one to stdout with the container\'s owners', async () => {
    const c = created('cp-tar', 'cat /tmp/t/a /tmp/z; stat -c "%u:%g" /tmp/t/a');
    const tar = await tarOf([
      { name: 't/', type: 'directory' },
      { name: 't/a', content: 'A\n' },
      { name: 't/l', type: 'symlink', linkname: 'a' },
    ]);
    expect(raw(['cp', '-', 'cp-tar:/tmp'], tar).code).toBe(0);
    expect(raw(['cp', '-', 'cp-tar:/tmp'], gzipSync(await tarOf([{ name: 'z', content: 'gz\n' }]))).code).toBe(0);
    expect(c.report()).toBe('A\ngz\n0:0\n');

    const out = raw(['cp', 'cp-tar:/tmp/t', '-']);
    expect(out.code).toBe(0);
    expect(tarList(out.stdout)).toEqual(['0/0 t/', '0/0 t/a', '0/0 t/l -> a']);
    expect(tarList(raw(['cp', 'cp-tar:/tmp/t/.', '-']).stdout)).toEqual(['0/0 a', '0/0 l -> a']);
    // the image's files keep their container owners in the archive
    expect(tarList(raw(['cp', 'cp-tar:/var/www/owned33', '-']).stdout)).toEqual(['33/33 owned33']);

    expect(failing(['cp', '-', 'cp-tar:/tmp/t/a'], 'x')).toBe('Error: destination must be a directory when copying from stdin\n');
    expect(failing(['cp', '-', 'cp-tar:/tmp/nothere'], 'x')).toBe('Error: destination must be a directory when copying from stdin\n');
    expect(failing(['cp', '-', 'cp-tar:/tmp'], 'this is not a tar archive\n')).toBe('Error: source must be a (compressed) tar archive when copying from stdin\n');
    ok(['rm', 'cp-tar']);
  });
});

describe('symlinks planted in the container', () => {
  let marker: string;
  let markerDir: string;
  beforeAll(() => {
    markerDir = hostDir('host-only');
    marker = join(markerDir, 'marker');
    writeFileSync(marker, 'HOST ONLY\n');
    ran(
      'cp-evil',
      [
        'echo container > /etc/marker',
        'ln -s /etc /evil',
        'ln -s / /root/rootlink',
        `ln -s ${markerDir} /hostdir`,
        `ln -s ${marker} /hostfile`,
        'mkdir -p /tmp/d',
        `ln -s ${markerDir} /tmp/d/sub`,
        'mkdir -p /data/sub && echo c > /data/sub/marker',
      ].join('; '),
    );
  });
  afterAll(() => {
    selkie(['rm', '-f', 'cp-evil']);
  });
  const hostUntouched = () => {
    expect(readdirSync(markerDir)).toEqual(['marker']);
    expect(readFileSync(marker, 'utf8')).toBe('HOST ONLY\n');
    expect(existsSync('/etc/x')).toBe(false);
  };

  it('writes land inside the container, or fail', async () => {
    const src = hostDir('evil-src');
    writeFileSync(join(src, 'x'), 'written\n');
    writeFileSync(join(src, 'marker'), 'overwritten\n');
    const before = statSync(marker).mtimeMs;
    // /evil -> /etc: the container's /etc
    ok(['cp', join(src, 'x'), 'cp-evil:/evil/x']);
    ok(['cp', join(src, 'x'), 'cp-evil:/root/rootlink/etc/x2']);
    // links to the host's directory or file name nothing inside the container
    expect(failing(['cp', join(src, 'x'), 'cp-evil:/hostdir/x'])).toMatch(/could not be found on container cp-evil/);
    expect(failing(['cp', join(src, 'marker'), 'cp-evil:/hostdir/'])).toMatch(/could not be found on container cp-evil/);
    expect(failing(['cp', join(src, 'marker'), 'cp-evil:/hostfile'])).toMatch(/could not be found on container cp-evil/);
    // an archive never writes through a link in the destination, nor one of its own
    expect(raw(['cp', '-', 'cp-evil:/tmp/d'], await tarOf([{ name: 'sub/marker', content: 'overwritten\n' }])).code).toBe(125);
    const own = await tarOf([{ name: 'l', type: 'symlink', linkname: markerDir }, { name: 'l/marker', content: 'overwritten\n' }]);
    const r = raw(['cp', '--overwrite', '-', 'cp-evil:/tmp'], own);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/"\/tmp\/l" is a symlink/);
    hostUntouched();
    expect(statSync(marker).mtimeMs).toBe(before);
    const back = hostDir('evil-back');
    ok(['cp', 'cp-evil:/etc/x', join(back, 'x')]);
    ok(['cp', 'cp-evil:/etc/x2', join(back, 'x2')]);
    expect(readFileSync(join(back, 'x'), 'utf8')).toBe('written\n');
    expect(readFileSync(join(back, 'x2'), 'utf8')).toBe('written\n');
  });

  it("reads the container's own files, never the host's", () => {
    const d = hostDir('evil-read');
    ok(['cp', 'cp-evil:/root/rootlink/etc/marker', join(d, 'a')]);
    ok(['cp', 'cp-evil:/evil/marker', join(d, 'b')]);
    ok(['cp', 'cp-evil:/evil/../../../../etc/marker', join(d, 'c')]);
    for (const f of ['a', 'b', 'c']) expect(readFileSync(join(d, f), 'utf8')).toBe('container\n');
    ok(['cp', 'cp-evil:/root/rootlink/etc/passwd', join(d, 'passwd')]);
    expect(readFileSync(join(d, 'passwd'), 'utf8')).toContain('app:x:1000:1000:app:/home/app:/bin/sh');
    expect(readFileSync(join(d, 'passwd'), 'utf8')).not.toContain(process.env.USER ?? 'selkietest');
    // the host's directory and file, named by links, are not in the container
    expect(failing(['cp', 'cp-evil:/hostdir/marker', d])).toMatch(/could not be found on container cp-evil/);
    expect(failing(['cp', 'cp-evil:/hostdir/', d])).toMatch(/could not be found on container cp-evil/);
    expect(failing(['cp', '-L', 'cp-evil:/hostfile', d])).toMatch(/could not be found on container cp-evil/);
    // without -L a link is copied as the link it is, never read through
    ok(['cp', 'cp-evil:/hostfile', join(d, 'link')]);
    expect(readlinkSync(join(d, 'link'))).toBe(marker);
    const tar = raw(['cp', 'cp-evil:/tmp/d', '-']);
    expect(tarList(tar.stdout)).toEqual(['0/0 d/', `0/0 d/sub -> ${markerDir}`]);
    expect(tar.stdout.includes('HOST ONLY')).toBe(false);
    hostUntouched();
  });

  it('never follows a link on the host side that stands where the archive has a directory', () => {
    const d = hostDir('evil-host');
    symlinkSync(markerDir, join(d, 'sub'));
    expect(failing(['cp', 'cp-evil:/data/.', d])).toMatch(/error creating ".*\/sub": a non-directory is in the way of a directory/);
    hostUntouched();
    ok(['cp', '--overwrite', 'cp-evil:/data/.', d]);
    expect(readFileSync(join(d, 'sub', 'marker'), 'utf8')).toBe('c\n');
    hostUntouched();
  });
});
