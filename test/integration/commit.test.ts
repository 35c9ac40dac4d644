// `commit` as an unprivileged user with real containers: the layer it makes
// (files, owners, whiteouts, opaque directories, hard links) under each
// userns mode, the image config, chains of commits, errors, and a commit
// killed halfway.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TarEntry } from '../../scripts/fixtures.mjs';
import { ensureBusybox, graphRoot, ok, SELKIE, selkie } from './helpers';

const BASE = 'localhost/it-commit-base:1';
const f = (name: string, content: string): TarEntry => ({ name, type: 'file', mode: 0o644, content: Buffer.from(content) });

// What the container does: a new file, one chowned to 33:33, an image file
// deleted (whiteout), a directory of the image replaced (opaque), a hard link.
const WRITE =
  'echo hello > /hello && echo w > /w33 && chown 33:33 /w33 && rm /del-me && rm -rf /data && mkdir /data && ' +
  'echo new > /data/new && ln /hello /hello-link && chown 1000:1000 /home/app';
const CHECK =
  'stat -c "%u:%g %n" /w33 /hello /var/www/owned33 /home/app; test -e /del-me && echo del-me-still-there; ' +
  'ls /data | tr "\\n" " "; echo; stat -c %h /hello; cat /hello-link';
const CHECKED = '33:33 /w33\n0:0 /hello\n33:33 /var/www/owned33\n1000:1000 /home/app\nnew \n2\nhello\n';

const images: string[] = [];
const containers: string[] = [];

beforeAll(async () => {
  await ensureBusybox(BASE, [{ name: 'data/', type: 'directory', mode: 0o755 }, f('data/a', 'a'), f('data/b', 'b'), f('del-me', 'x')]);
});

afterAll(() => {
  for (const c of containers) selkie(['rm', '-f', c]);
  for (const i of images) selkie(['rmi', '-f', i]);
});

function run(name: string, args: string[]): void {
  containers.push(name);
  ok(['run', '--name', name, ...args]);
}

/** Every image record's layers and blobs exist: nothing half-recorded. */
function storeConsistent(): void {
  const root = graphRoot();
  for (const id of readdirSync(join(root, 'images'))) {
    const file = join(root, 'images', id, 'image.json');
    if (!existsSync(file)) continue;
    const rec = JSON.parse(readFileSync(file, 'utf8')) as { layers: string[]; digest?: string; layerBlobs?: { digest: string }[] };
    for (const l of rec.layers) expect(existsSync(join(root, 'layers', `${l.slice(7)}.json`)), `layer ${l} of image ${id}`).toBe(true);
    for (const b of [rec.digest, `sha256:${id}`, ...(rec.layerBlobs ?? []).map((x) => x.digest)]) {
      if (b) expect(existsSync(join(root, 'blobs', 'sha256', b.slice(7))), `blob ${b} of image ${id}`).toBe(true);
    }
  }
}

/** Nothing a killed writer left: scratch files, extraction directories, unreferenced layers. */
function noLeftovers(): void {
  const root = graphRoot();
  expect(existsSync(join(root, 'tmp')) ? readdirSync(join(root, 'tmp')) : []).toEqual([]);
  const layerNames = readdirSync(join(root, 'layers'));
  expect(layerNames.filter((n) => !/^[0-9a-f]{64}(\.json)?$/.test(n))).toEqual([]);
  expect(readdirSync(join(root, 'blobs', 'sha256')).filter((n) => !/^[0-9a-f]{64}$/.test(n))).toEqual([]);
  const used = new Set(
    readdirSync(join(root, 'images'))
      .filter((id) => existsSync(join(root, 'images', id, 'image.json')))
      .flatMap((id) => (JSON.parse(readFileSync(join(root, 'images', id, 'image.json'), 'utf8')) as { layers: string[] }).layers),
  );
  const stored = layerNames.filter((n) => n.endsWith('.json')).map((n) => `sha256:${n.slice(0, 64)}`);
  expect(stored.filter((l) => !used.has(l))).toEqual([]);
}

describe('commit', () => {
  it.each(['private', 'host', 'auto', 'keep-id'])('keeps files, owners, whiteouts and opaque directories (--userns=%s)', (mode) => {
    const name = `it-commit-${mode}`;
    run(name, [`--userns=${mode}`, '--user', '0', BASE, 'sh', '-c', WRITE]);
    const image = `localhost/it-commit-img:${mode}`;
    images.push(image);
    const r = selkie(['commit', '-c', 'CMD ["cat","/hello"]', '-a', 'Tester <t@example.com>', '-m', 'first commit', name, image]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(ok(['image', 'inspect', '--format', '{{.Id}}', image])).toBe(r.stdout);

    expect(ok(['run', '--rm', image])).toBe('hello\n');
    for (const runMode of ['private', 'host']) {
      expect(ok(['run', '--rm', `--userns=${runMode}`, image, 'sh', '-c', CHECK])).toBe(CHECKED);
    }
    const inspect = JSON.parse(ok(['image', 'inspect', image]))[0];
    expect(inspect.Author).toBe('Tester <t@example.com>');
    expect(inspect.Comment).toBe('first commit');
    expect(inspect.Config.Cmd).toEqual(['cat', '/hello']);
    expect(inspect.Config.User).toBe('0');
    expect(inspect.RootFS.Layers).toHaveLength(2);
    const history = ok(['image', 'history', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Comment}}', '--no-trunc', image]).trim().split('\n');
    expect(history).toHaveLength(2);
    expect(history[0]).toBe(`${r.stdout.trim()}|sh -c ${WRITE}|first commit`);
    expect(history[1]).toMatch(/^<missing>\|selkie import\|$/);
  });

  it('leaves the image unnamed without IMAGE, and takes the container\'s settings', () => {
    run('it-commit-dangling', ['-e', 'FROM_RUN=yes', '-w', '/tmp', '--label', 'run=label', BASE, 'sh', '-c', 'echo x > /x']);
    const id = ok(['container', 'commit', '-q', 'it-commit-dangling']).trim();
    images.push(id);
    expect(ok(['images', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'])).toContain(`${id.slice(0, 12)} <none>:<none>`);
    const cfg = JSON.parse(ok(['image', 'inspect', id]))[0].Config;
    expect(cfg.Env).toContain('FROM_RUN=yes');
    expect(cfg.WorkingDir).toBe('/tmp');
    expect(cfg.Labels).toEqual({ run: 'label' });
    expect(cfg.Cmd).toEqual(['sh', '-c', 'echo x > /x']);
    expect(ok(['run', '--rm', id, 'sh', '-c', 'pwd; echo $FROM_RUN; cat /x'])).toBe('/tmp\nyes\nx\n');
  });

  it('commits a container that was created but never started (an empty layer)', () => {
    const id = ok(['create', '--name', 'it-commit-created', BASE, 'cat', '/data/a']).trim();
    containers.push(id);
    const image = 'localhost/it-commit-created:1';
    images.push(image);
    ok(['commit', '-q', 'it-commit-created', image]);
    expect(JSON.parse(ok(['image', 'inspect', image]))[0].RootFS.Layers).toHaveLength(2);
    expect(ok(['run', '--rm', image])).toBe('a');
  });

  it('chains layers: a committed image\'s container commits on top, and a container commits twice', () => {
    run('it-commit-one', [BASE, 'sh', '-c', 'echo one > /one']);
    const one = 'localhost/it-commit-chain:1';
    images.push(one);
    ok(['commit', '-q', '-m', 'one', 'it-commit-one', one]);
    run('it-commit-two', [one, 'sh', '-c', 'rm /one && echo two > /two']);
    const two = 'localhost/it-commit-chain:2';
    images.push(two);
    ok(['commit', '-q', '-m', 'two', 'it-commit-two', two]);

    const layers = (img: string) => JSON.parse(ok(['image', 'inspect', img]))[0].RootFS.Layers as string[];
    expect(layers(two)).toHaveLength(3);
    expect(layers(two).slice(0, 2)).toEqual(layers(one));
    expect(ok(['run', '--rm', two, 'sh', '-c', 'test -e /one && echo one-still-there; cat /two /var/www/owned33'])).toBe('two\nwww\n');
    const comments = ok(['image', 'history', '--format', '{{.Comment}}|', two]).trim().split('\n');
    expect(comments).toEqual(['two|', 'one|', '|']);

    // Again: a new image, the same (shared) layer content.
    const again = 'localhost/it-commit-chain:again';
    images.push(again);
    ok(['commit', '-q', 'it-commit-one', again]);
    expect(layers(again)).toEqual(layers(one));
    expect(ok(['image', 'inspect', '--format', '{{.Id}}', again])).not.toBe(ok(['image', 'inspect', '--format', '{{.Id}}', one]));
    // Layers stay while any image uses them.
    ok(['rm', 'it-commit-two']);
    ok(['rmi', one]);
    expect(ok(['run', '--rm', again, 'cat', '/one'])).toBe('one\n');
    expect(ok(['run', '--rm', two, 'cat', '/two'])).toBe('two\n');
    storeConsistent();
  });

  it('writes the docker format when asked', () => {
    run('it-commit-docker', [BASE, 'sh', '-c', 'echo d > /d']);
    const image = 'localhost/it-commit-docker:1';
    images.push(image);
    ok(['commit', '-q', '--format', 'docker', '-c', 'ONBUILD RUN echo hi', 'it-commit-docker', image]);
    const inspect = JSON.parse(ok(['image', 'inspect', image]))[0];
    expect(inspect.ManifestType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(inspect.Config.OnBuild).toEqual(['RUN echo hi']);
    expect(ok(['run', '--rm', image, 'cat', '/d'])).toBe('d\n');
  });

  it('fails clearly on an unknown container, a bad --change and a bad --format, storing nothing', () => {
    const before = ok(['images', '-q']);
    const r = selkie(['commit', 'it-commit-nosuch', 'localhost/it-commit-never:1']);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe('Error: no container with name or ID "it-commit-nosuch" found: no such container\n');

    run('it-commit-bad', [BASE, 'true']);
    const bad = selkie(['commit', '-c', 'FROM scratch', 'it-commit-bad', 'localhost/it-commit-never:1']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^Error: invalid change "FROM scratch": FROM is not one of CMD, ENTRYPOINT, ENV/);
    const empty = selkie(['commit', '-c', 'USER', 'it-commit-bad']);
    expect(empty.code).toBe(125);
    expect(empty.stderr).toMatch(/USER needs an argument/);
    const format = selkie(['commit', '--format', 'v2s1', 'it-commit-bad']);
    expect(format.code).toBe(125);
    expect(format.stderr).toMatch(/unrecognized image type "v2s1"/);
    // --userns=host can chown beyond the IDs a layer may hold (they belong to container blocks).
    run('it-commit-highid', ['--userns=host', BASE, 'sh', '-c', 'touch /high && chown 100000:100000 /high']);
    const high = selkie(['commit', 'it-commit-highid', 'localhost/it-commit-never:1']);
    expect(high.code).toBe(125);
    expect(high.stderr).toMatch(/cannot commit \/high: it is owned by 100000:100000 in the container, and image layers hold IDs 0 to 65535 only/);
    expect(ok(['images', '-q'])).toBe(before);
    storeConsistent();
    noLeftovers();
  });

  it('leaves nothing half-recorded when killed halfway, and everything works afterwards', async () => {
    run('it-commit-big', [BASE, 'sh', '-c', 'dd if=/dev/urandom of=/big bs=1M count=200 2>/dev/null']);
    images.push('localhost/it-commit-killed:1', 'localhost/it-commit-killed:2');
    for (const after of [300, 1200]) {
      const child = spawn(SELKIE, ['commit', 'it-commit-big', 'localhost/it-commit-killed:1'], { stdio: 'ignore' });
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      await new Promise((res) => setTimeout(res, after));
      child.kill('SIGKILL');
      const code = await exited;
      storeConsistent();
      // Unless it was done already, no image came of it.
      if (code !== 0) expect(selkie(['image', 'exists', 'localhost/it-commit-killed:1']).code).toBe(1);
      expect(ok(['images'])).toContain('it-commit-base');
      expect(ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).toMatch(/it-commit-big Exited \(0\)/);
    }
    // A second commit sweeps what the killed ones left, and works.
    ok(['commit', '-q', 'it-commit-big', 'localhost/it-commit-killed:2']);
    storeConsistent();
    noLeftovers();
    expect(ok(['run', '--rm', 'localhost/it-commit-killed:2', 'stat', '-c', '%s', '/big'])).toBe(`${200 * 1024 * 1024}\n`);
    expect(ok(['rm', '-f', 'it-commit-big']).trim()).toMatch(/^[0-9a-f]{64}$|it-commit-big/);
    expect(ok(['run', '--rm', BASE, 'echo', 'fresh'])).toBe('fresh\n');
  });
});
