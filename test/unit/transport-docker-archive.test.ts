import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { createReadStream } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readImageArchive } from '../../src/image/archive';
import { digestOf } from '../../src/image/digest';
import { writeDockerArchive } from '../../src/image/transports/docker-archive-write';
import { readOciLayout } from '../../src/image/transports/oci-layout';
import { MEDIA } from '../../src/image/types';
import { gzipLayer, makeImage, readAll, tarOf } from './transport-fixtures';

const SKOPEO = '/usr/bin/skopeo';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'selkie-dockerarchive-'));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Every entry of a tar file: name -> content (symlinks as '-> target'). */
async function entries(file: string): Promise<Map<string, Buffer | string>> {
  const out = new Map<string, Buffer | string>();
  const extract = tar.extract();
  createReadStream(file).pipe(extract);
  for await (const e of extract) {
    const data = await readAll(e as unknown as NodeJS.ReadableStream);
    out.set(e.header.name, e.header.type === 'symlink' ? `-> ${e.header.linkname}` : data);
  }
  return out;
}

function scratch(): string {
  const dir = join(work, `scratch-${Math.random().toString(16).slice(2)}`);
  mkdirSync(dir);
  return dir;
}

describe('writeDockerArchive', () => {
  it('writes docker save layout that readImageArchive reads back', async () => {
    const shared = await gzipLayer({ 'etc/os': 'base' });
    const a = makeImage([shared, await gzipLayer({ 'app/a': 'A' })], ['docker.io/library/app:1', 'quay.io/me/app:2']);
    const b = makeImage([shared], ['localhost/b:latest'], { author: 'b' });
    const file = join(work, 'save.tar');
    await writeDockerArchive(file, [a.parts, b.parts]);
    expect(readdirSync(work)).toEqual(['save.tar']);
    expect(a.opens[0] + b.opens[0]).toBe(1); // identical layers are stored once

    const all = await entries(file);
    const manifest = JSON.parse(String(all.get('manifest.json')));
    const hex = (d: string) => d.slice(7);
    const diffA = [digestOf(shared.uncompressed), digestOf(a.layers[1].uncompressed)];
    expect(manifest).toEqual([
      {
        Config: `${hex(a.parts.configDescriptor.digest)}.json`,
        RepoTags: ['app:1', 'quay.io/me/app:2'],
        Layers: diffA.map((d) => `${hex(d)}.tar`),
      },
      {
        Config: `${hex(b.parts.configDescriptor.digest)}.json`,
        RepoTags: ['localhost/b:latest'],
        Layers: [`${hex(diffA[0])}.tar`],
      },
    ]);
    // Layers are stored uncompressed, exactly as their diff_ids say.
    expect((all.get(`${hex(diffA[1])}.tar`) as Buffer).equals(a.layers[1].uncompressed)).toBe(true);
    const repositories = JSON.parse(String(all.get('repositories')));
    expect(Object.keys(repositories).sort()).toEqual(['app', 'localhost/b', 'quay.io/me/app']);
    const topA = repositories.app['1'];
    expect(all.get(`${topA}/layer.tar`)).toBe(`-> ../${hex(diffA[1])}.tar`);
    expect(JSON.parse(String(all.get(`${topA}/json`)))).toMatchObject({ id: topA, parent: hex(diffA[0]), os: 'linux' });
    expect(repositories['localhost/b'].latest).toBe(hex(diffA[0]));

    const got = await readImageArchive(file, scratch());
    expect(got.format).toBe('docker-archive');
    expect(got.images.map((i) => i.configDigest)).toEqual([a.parts.configDescriptor.digest, b.parts.configDescriptor.digest]);
    expect(got.images[0].names).toEqual(['docker.io/library/app:1', 'quay.io/me/app:2']);
    expect(got.images[1].names).toEqual(['localhost/b:latest']);
    expect(got.images[0].config.equals(a.parts.config)).toBe(true);
    expect((await readAll(got.images[0].layers[0].open())).equals(shared.uncompressed)).toBe(true);
  });

  it('can spell names in full, as podman save does', async () => {
    const img = makeImage([await gzipLayer({ a: '1' })], ['docker.io/library/app:1', 'docker.io/me/x:2', 'localhost/y@sha256:' + 'a'.repeat(64)]);
    const file = join(work, 'full.tar');
    await writeDockerArchive(file, [img.parts], { names: 'full' });
    const all = await entries(file);
    expect(JSON.parse(String(all.get('manifest.json')))[0].RepoTags).toEqual(['docker.io/library/app:1', 'docker.io/me/x:2']);
    expect(Object.keys(JSON.parse(String(all.get('repositories'))))).toEqual(['docker.io/library/app', 'docker.io/me/x']);
    await writeDockerArchive(file, [img.parts]);
    expect(JSON.parse(String((await entries(file)).get('manifest.json')))[0].RepoTags).toEqual(['app:1', 'me/x:2']);
  });

  it('takes uncompressed layers as they are', async () => {
    const raw = await tarOf({ x: 'plain' });
    const img = makeImage([{ uncompressed: raw, blob: raw, mediaType: MEDIA.ociLayer }], ['localhost/plain:1']);
    const file = join(work, 'plain.tar');
    await writeDockerArchive(file, [img.parts]);
    const got = await readImageArchive(file, scratch());
    expect((await readAll(got.images[0].layers[0].open())).equals(raw)).toBe(true);
  });

  it('fails clearly when a layer does not match its diff_id, and leaves nothing behind', async () => {
    const layer = await gzipLayer({ a: '1' });
    const wrong = await tarOf({ a: '2' });
    const img = makeImage([{ ...layer, uncompressed: wrong }]);
    const file = join(work, 'bad.tar');
    await expect(writeDockerArchive(file, [img.parts])).rejects.toThrow(
      /uncompressed content has digest sha256:[0-9a-f]{64}, but the image config's rootfs.diff_ids says/,
    );
    expect(readdirSync(work)).toEqual([]);
  });

  it('fails when the compressed blob does not match its digest', async () => {
    const img = makeImage([await gzipLayer({ a: '1' })]);
    const other = await gzipLayer({ a: '2' });
    img.parts.layers[0].open = () => Readable.from([other.blob]);
    await expect(writeDockerArchive(join(work, 'x.tar'), [img.parts])).rejects.toThrow(/mismatch/);
    expect(readdirSync(work)).toEqual([]);
  });

  it('says zstd layers are not supported yet', async () => {
    const zstdish = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(20)]);
    const img = makeImage([{ uncompressed: zstdish, blob: zstdish, mediaType: MEDIA.ociLayer }]);
    await expect(writeDockerArchive(join(work, 'z.tar'), [img.parts])).rejects.toThrow(/zstd.*not supported yet/);
    const byType = makeImage([{ uncompressed: zstdish, blob: zstdish, mediaType: MEDIA.ociLayerZstd }]);
    await expect(writeDockerArchive(join(work, 'z.tar'), [byType.parts])).rejects.toThrow(/zstd.*not supported yet/);
    expect(readdirSync(work)).toEqual([]);
  });

  it.skipIf(!existsSync(SKOPEO))('skopeo copies the archive to an OCI layout', async () => {
    const img = makeImage([await gzipLayer({ 'a.txt': 'hello' }), await gzipLayer({ 'b.txt': 'bye' })], ['localhost/x:1']);
    const file = join(work, 'save.tar');
    await writeDockerArchive(file, [img.parts]);
    const dir = join(work, 'lay');
    const r = spawnSync(SKOPEO, ['copy', '--insecure-policy', `docker-archive:${file}`, `oci:${dir}:x`], {
      env: { ...process.env, TMPDIR: work },
    });
    expect(r.status, r.stderr.toString()).toBe(0);
    const copied = await readOciLayout(dir, 'x');
    expect(copied.config.equals(img.parts.config)).toBe(true);
  });
});
