// load / import / images / image exists / rmi, and hostile layers, as an
// unprivileged user against real storage.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxEntries, tarOf, writeOciArchive, type TarEntry } from '../../scripts/fixtures.mjs';
import { ensureBusybox, graphRoot, loadDockerArchive, ok, selkie, tempDir } from './helpers';

let IMG: string;
let scratch: string;

beforeAll(async () => {
  IMG = await ensureBusybox();
  scratch = tempDir();
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  selkie(['rmi', '-f', 'localhost/it-load:1', 'localhost/it-oci:2', 'localhost/it-import:3', 'localhost/it-tag:a', 'localhost/it-tag:b']);
});

describe('load and import', () => {
  it('loads a docker-archive, runs it, lists it, removes it', async () => {
    const r = await loadDockerArchive('localhost/it-load:1');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Loaded image: localhost/it-load:1\n');
    expect(ok(['image', 'exists', 'localhost/it-load:1'])).toBe('');
    expect(selkie(['image', 'exists', 'localhost/it-nope:1']).code).toBe(1);
    expect(ok(['run', '--rm', 'it-load:1', 'echo', 'loaded'])).toBe('loaded\n');
    const table = ok(['images']);
    expect(table.split('\n')[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(table).toMatch(/localhost\/it-load\s+1\s+[0-9a-f]{12}\s/);
    const rm = ok(['rmi', 'localhost/it-load:1']);
    expect(rm).toMatch(/^Untagged: localhost\/it-load:1\nDeleted: [0-9a-f]{64}\n$/);
    expect(selkie(['image', 'exists', 'localhost/it-load:1']).code).toBe(1);
  });

  it('loads an oci-archive with gzip layers', async () => {
    const tar = join(scratch, 'oci.tar');
    const { imageId } = await writeOciArchive(tar, { refName: 'localhost/it-oci:2' });
    expect(ok(['load', '-i', tar])).toBe('Loaded image: localhost/it-oci:2\n');
    const inspect = JSON.parse(ok(['image', 'inspect', 'localhost/it-oci:2']));
    expect(inspect[0].Id).toBe(imageId);
    expect(inspect[0].RepoTags).toEqual(['localhost/it-oci:2']);
    expect(ok(['inspect', '--format', '{{.Os}}/{{.Architecture}}', 'localhost/it-oci:2']).trim()).toMatch(/^linux\//);
    expect(ok(['run', '--rm', 'localhost/it-oci:2', 'stat', '-c', '%u', '/var/www/owned33']).trim()).toBe('33');
  });

  it('imports a plain rootfs tarball from a file and from stdin, with --change', async () => {
    const tar = join(scratch, 'rootfs.tar');
    writeFileSync(tar, await tarOf(busyboxEntries()));
    const id = ok(['import', '-c', 'CMD ["echo","from-cmd"]', '-c', 'ENV GREETING=hi', tar, 'it-import:3']).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(ok(['run', '--rm', 'localhost/it-import:3'])).toBe('from-cmd\n');
    expect(ok(['run', '--rm', 'it-import:3', 'sh', '-c', 'echo $GREETING'])).toBe('hi\n');
    const fromStdin = execFileSync(join(__dirname, '..', '..', 'bin', 'selkie'), ['import', '-'], { input: readFileSync(tar), encoding: 'utf8' }).trim();
    expect(fromStdin).toMatch(/^[0-9a-f]{64}$/);
    expect(ok(['images', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'])).toContain(`${fromStdin.slice(0, 12)} <none>:<none>`);
    ok(['rmi', fromStdin]);
  });

  it('tags, untags and refuses to remove an image a container uses', async () => {
    const dir = tempDir();
    const tar = join(dir, 'r.tar');
    writeFileSync(tar, await tarOf(busyboxEntries()));
    ok(['import', tar, 'localhost/it-tag:a']);
    ok(['tag', 'it-tag:a', 'it-tag:b']);
    expect(ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).toMatch(/localhost\/it-tag:a\n(.*\n)*localhost\/it-tag:b|localhost\/it-tag:b\n(.*\n)*localhost\/it-tag:a/);
    expect(ok(['rmi', 'it-tag:b'])).toBe('Untagged: localhost/it-tag:b\n');
    selkie(['rm', '-f', 'it-tag-user']);
    ok(['create', '--name', 'it-tag-user', 'it-tag:a', 'true']);
    const refused = selkie(['rmi', 'it-tag:a']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/image is in use by a container/);
    const forced = ok(['rmi', '-f', 'it-tag:a']);
    expect(forced).toMatch(/Deleted: /);
    expect(selkie(['container', 'exists', 'it-tag-user']).code).toBe(1);
    const missing = selkie(['rmi', 'localhost/never-was:1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('Error: localhost/never-was:1: image not known\n');
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a layer shared by two images once', async () => {
    const shared = busyboxEntries();
    const extra: TarEntry[] = [{ name: 'extra.txt', type: 'file', mode: 0o644, content: Buffer.from('x') }];
    const layerCount = () => readdirSync(join(graphRoot(), 'layers')).filter((f) => f.endsWith('.json')).length;
    const layersBefore = layerCount();
    await loadDockerArchive('localhost/it-shared:1', [shared]);
    await loadDockerArchive('localhost/it-shared:2', [shared, extra]);
    // the busybox layer is the same one IMG uses: only the extra layer is new
    expect(layerCount() - layersBefore).toBe(1);
    ok(['rmi', 'localhost/it-shared:2']);
    expect(ok(['run', '--rm', 'localhost/it-shared:1', 'echo', 'still-here'])).toBe('still-here\n');
    ok(['rmi', 'localhost/it-shared:1']);
    expect(ok(['run', '--rm', IMG, 'echo', 'base-intact'])).toBe('base-intact\n');
  });
});

describe('layers stacked', () => {
  it('applies whiteouts and opaque directories of upper layers, with either overlay driver', async () => {
    const f = (name: string, content = 'x'): TarEntry => ({ name, type: 'file', mode: 0o644, content: Buffer.from(content) });
    const d = (name: string): TarEntry => ({ name, type: 'directory', mode: 0o755 });
    const r = await loadDockerArchive('localhost/it-whiteout:1', [
      [...busyboxEntries(), f('etc/removed'), d('opq/'), f('opq/old'), d('keep/'), f('keep/a')],
      [f('etc/.wh.removed', ''), d('opq/'), f('opq/.wh..wh..opq', ''), f('opq/new'), f('keep/b')],
    ]);
    expect(r.code).toBe(0);
    for (const mode of ['private', 'host']) {
      const out = ok(['run', '--rm', `--userns=${mode}`, 'localhost/it-whiteout:1', 'sh', '-c', 'test -e /etc/removed && echo present; ls /opq /keep | tr "\\n" " "']);
      expect(out.trim()).toBe('/keep: a b  /opq: new');
    }
    ok(['rmi', 'localhost/it-whiteout:1']);
  });
});

describe('hostile layers', () => {
  const victim = () => join(scratch, 'victim');
  function snapshot(dir: string): string {
    return execFileSync('find', [dir, '-printf', '%p %s %T@ %m\\n'], { encoding: 'utf8' });
  }

  const cases: [string, TarEntry[], RegExp][] = [
    ['a ../ entry', [{ name: '../../../../../../../../tmp/selkie-pwned-dotdot', type: 'file', content: Buffer.from('x') }], /leaves the layer|\.\./],
    ['an absolute path', [{ name: '/tmp/selkie-pwned-abs', type: 'file', content: Buffer.from('x') }], /absolute|leaves the layer/],
    [
      'a symlink to / followed by a file through it',
      [
        { name: 'evil', type: 'symlink', linkname: '/' },
        { name: 'evil/tmp/selkie-pwned-symlink', type: 'file', content: Buffer.from('x') },
      ],
      /symlink/,
    ],
    ['a hard link to a file outside', [{ name: 'passwd-link', type: 'link', linkname: '/etc/passwd' }], /hard link|link/],
  ];

  for (const [what, entries, message] of cases) {
    it(`refuses ${what}, leaving everything outside storage unchanged`, async () => {
      mkdirSync(victim(), { recursive: true });
      writeFileSync(join(victim(), 'file'), 'untouched');
      const before = snapshot(victim());
      const layersBefore = readdirSync(join(graphRoot(), 'layers')).sort();
      const r = await loadDockerArchive('localhost/it-hostile:1', [busyboxEntries(), entries]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/^Error: /);
      expect(existsSync('/tmp/selkie-pwned-dotdot')).toBe(false);
      expect(existsSync('/tmp/selkie-pwned-abs')).toBe(false);
      expect(existsSync('/tmp/selkie-pwned-symlink')).toBe(false);
      expect(statSync('/etc/passwd').nlink).toBe(1);
      expect(snapshot(victim())).toBe(before);
      expect(selkie(['image', 'exists', 'localhost/it-hostile:1']).code).toBe(1);
      // nothing half-extracted is left behind in the layer store
      expect(readdirSync(join(graphRoot(), 'layers')).sort()).toEqual(layersBefore);
    });
  }
});
