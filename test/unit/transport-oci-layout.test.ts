import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostPlatform, readImageArchive } from '../../src/image/archive';
import { digestOf, sha256Hex } from '../../src/image/digest';
import { readOciLayout, writeOciArchive, writeOciLayout } from '../../src/image/transports/oci-layout';
import { MEDIA, type ImageParts } from '../../src/image/types';
import { gzipLayer, makeImage, readAll } from './transport-fixtures';

const SKOPEO = '/usr/bin/skopeo';
const haveSkopeo = existsSync(SKOPEO);

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'selkie-oci-'));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

async function expectSameImage(got: ImageParts, want: ImageParts): Promise<void> {
  expect(got.manifest.equals(want.manifest)).toBe(true);
  expect(got.manifestMediaType).toBe(want.manifestMediaType);
  expect(got.config.equals(want.config)).toBe(true);
  expect(got.configDescriptor).toEqual(want.configDescriptor);
  expect(got.layers.map((l) => l.descriptor)).toEqual(want.layers.map((l) => l.descriptor));
  for (let i = 0; i < want.layers.length; i++) {
    expect((await readAll(got.layers[i].open())).equals(await readAll(want.layers[i].open()))).toBe(true);
  }
}

function index(dir: string) {
  return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
}

describe('OCI layout', () => {
  it('round-trips an image: same manifest, config and layer bytes', async () => {
    const img = makeImage([await gzipLayer({ 'a.txt': 'hello' }), await gzipLayer({ 'b.txt': 'bye' })]);
    const dir = join(work, 'lay');
    await writeOciLayout(dir, [{ parts: img.parts, refName: '1' }]);

    expect(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const idx = index(dir);
    expect(idx.manifests).toEqual([
      {
        mediaType: MEDIA.ociManifest,
        digest: digestOf(img.parts.manifest),
        size: img.parts.manifest.length,
        annotations: { 'org.opencontainers.image.ref.name': '1' },
      },
    ]);
    // No temporary files are left among the blobs.
    expect(readdirSync(join(dir, 'blobs', 'sha256')).sort()).toEqual(
      [digestOf(img.parts.manifest), img.parts.configDescriptor.digest, ...img.parts.layers.map((l) => l.descriptor.digest)]
        .map((d) => d.slice(7))
        .sort(),
    );

    const byTag = await readOciLayout(dir, '1');
    await expectSameImage(byTag, img.parts);
    expect(byTag.names).toEqual(['localhost/1:latest']);
    await expectSameImage(await readOciLayout(dir), img.parts);
    await expectSameImage(await readOciLayout(dir, '@0'), img.parts);
  });

  it('adds a second image, keeps the first, and replaces an entry with the same ref.name', async () => {
    const a = makeImage([await gzipLayer({ a: '1' })]);
    const b = makeImage([await gzipLayer({ b: '2' })]);
    const c = makeImage([await gzipLayer({ c: '3' })], [], { author: 'c' });
    const dir = join(work, 'lay');
    await writeOciLayout(dir, [{ parts: a.parts, refName: 'a' }]);
    await writeOciLayout(dir, [{ parts: b.parts, refName: 'quay.io/x/b:2' }]);
    await expectSameImage(await readOciLayout(dir, 'a'), a.parts);
    const gotB = await readOciLayout(dir, 'quay.io/x/b:2');
    await expectSameImage(gotB, b.parts);
    expect(gotB.names).toEqual(['quay.io/x/b:2']);
    await expect(readOciLayout(dir)).rejects.toThrow(/holds 2 images; name one/);
    await expect(readOciLayout(dir, 'nope')).rejects.toThrow(/no image named "nope" \(it has: a, quay.io\/x\/b:2\)/);

    await writeOciLayout(dir, [{ parts: c.parts, refName: 'a' }]);
    expect(index(dir).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'])).toEqual([
      'quay.io/x/b:2',
      'a',
    ]);
    await expectSameImage(await readOciLayout(dir, 'a'), c.parts);

    // The same image under a second name is a second entry; blobs already there are not re-read.
    const before = c.opens[0];
    await writeOciLayout(dir, [{ parts: c.parts, refName: 'again' }]);
    expect(c.opens[0]).toBe(before);
    expect(index(dir).manifests).toHaveLength(3);
  });

  it('fails when a tampered blob is read, and names a missing blob', async () => {
    const img = makeImage([await gzipLayer({ a: 'hello world' })]);
    const dir = join(work, 'lay');
    await writeOciLayout(dir, [{ parts: img.parts }]);
    const layerPath = join(dir, 'blobs', 'sha256', img.parts.layers[0].descriptor.digest.slice(7));
    const bytes = readFileSync(layerPath);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(layerPath, bytes);
    const parts = await readOciLayout(dir);
    await expect(readAll(parts.layers[0].open())).rejects.toThrow(/digest mismatch/);

    unlinkSync(layerPath);
    await expect(readOciLayout(dir)).rejects.toThrow(
      new RegExp(`blob ${img.parts.layers[0].descriptor.digest} is missing from OCI layout`),
    );

    const configPath = join(dir, 'blobs', 'sha256', img.parts.configDescriptor.digest.slice(7));
    writeFileSync(configPath, readFileSync(configPath, 'utf8').replace('sh', 'zz'));
    await expect(readOciLayout(dir)).rejects.toThrow(/digest mismatch for image config/);
  });

  it('refuses what is not a layout', async () => {
    await expect(readOciLayout(join(work, 'none'))).rejects.toThrow(/does not exist/);
    await expect(readOciLayout(work)).rejects.toThrow(/no oci-layout file/);
    writeFileSync(join(work, 'index.json'), '{}');
    const img = makeImage([await gzipLayer({ a: '1' })]);
    await expect(writeOciLayout(work, [{ parts: img.parts }])).rejects.toThrow(/no oci-layout file/);
  });

  it('refuses to write parts whose layer content does not match its digest', async () => {
    const img = makeImage([await gzipLayer({ a: '1' })]);
    const other = await gzipLayer({ a: '2' });
    img.parts.layers[0].open = () => Readable.from([other.blob]);
    const dir = join(work, 'lay');
    await expect(writeOciLayout(dir, [{ parts: img.parts, refName: 'x' }])).rejects.toThrow(/mismatch/);
    expect(existsSync(join(dir, 'index.json'))).toBe(false);
    expect(readdirSync(join(dir, 'blobs', 'sha256')).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('follows nested indexes to the host platform', async () => {
    const img = makeImage([await gzipLayer({ a: '1' })]);
    const dir = join(work, 'lay');
    await writeOciLayout(dir, [{ parts: img.parts }]);
    // Rewrite index.json to point at a nested index listing a foreign platform and ours.
    const host = hostPlatform();
    const manifestDesc = { mediaType: MEDIA.ociManifest, digest: digestOf(img.parts.manifest), size: img.parts.manifest.length };
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        manifests: [
          { ...manifestDesc, digest: 'sha256:' + 'b'.repeat(64), platform: { os: 'linux', architecture: 'weird' } },
          { ...manifestDesc, platform: { os: host.os, architecture: host.architecture } },
        ],
      }),
    );
    writeFileSync(join(dir, 'blobs', 'sha256', sha256Hex(nested)), nested);
    writeFileSync(
      join(dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: MEDIA.ociIndex,
            digest: digestOf(nested),
            size: nested.length,
            annotations: { 'org.opencontainers.image.ref.name': 'multi' },
          },
        ],
      }),
    );
    await expectSameImage(await readOciLayout(dir, 'multi'), img.parts);
  });
});

describe('oci-archive', () => {
  it('is read back by readImageArchive', async () => {
    const shared = await gzipLayer({ base: 'shared' });
    const a = makeImage([shared, await gzipLayer({ a: '1' })]);
    const b = makeImage([shared], [], { author: 'b' });
    const file = join(work, 'out.tar');
    await writeOciArchive(file, [
      { parts: a.parts, refName: 'localhost/a:1' },
      { parts: b.parts, refName: 'b:2' },
    ]);
    expect(readdirSync(work)).toEqual(['out.tar']);
    expect(a.opens[0] + b.opens[0]).toBe(1); // the shared layer is stored once

    const scratch = join(work, 'scratch');
    mkdirSync(scratch);
    const got = await readImageArchive(file, scratch);
    expect(got.format).toBe('oci-archive');
    expect(got.images).toHaveLength(2);
    const [ga, gb] = got.images;
    expect(ga.configDigest).toBe(a.parts.configDescriptor.digest);
    expect(ga.manifest?.equals(a.parts.manifest)).toBe(true);
    expect(ga.names).toEqual(['localhost/a:1']);
    expect(gb.names).toEqual(['localhost/b:2']);
    expect(gb.config.equals(b.parts.config)).toBe(true);
    for (let i = 0; i < 2; i++) {
      expect((await readAll(ga.layers[i].open())).equals(a.layers[i].blob)).toBe(true);
    }
  });

  it('leaves nothing behind when a layer fails', async () => {
    const img = makeImage([await gzipLayer({ a: '1' })]);
    img.parts.layers[0].open = () => Readable.from([img.layers[0].blob.subarray(0, 5)]);
    const file = join(work, 'out.tar');
    await expect(writeOciArchive(file, [{ parts: img.parts }])).rejects.toThrow(/size mismatch/);
    expect(readdirSync(work)).toEqual([]);
  });
});

describe.skipIf(!haveSkopeo)('skopeo interop (OCI layout)', () => {
  it('skopeo inspect --raw returns our manifest bytes', async () => {
    const img = makeImage([await gzipLayer({ a: 'hello' })]);
    const dir = join(work, 'lay');
    await writeOciLayout(dir, [{ parts: img.parts, refName: 'v1' }]);
    const r = spawnSync(SKOPEO, ['inspect', '--raw', `oci:${dir}:v1`], { env: { ...process.env, TMPDIR: work } });
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.equals(img.parts.manifest)).toBe(true);
  });

  it('we read what skopeo adds to our layout', async () => {
    const a = makeImage([await gzipLayer({ a: 'hello' })]);
    const dir = join(work, 'lay');
    await writeOciLayout(dir, [{ parts: a.parts, refName: 'v1' }]);
    const r = spawnSync(SKOPEO, ['copy', '--insecure-policy', `oci:${dir}:v1`, `oci:${dir}:v2`], {
      env: { ...process.env, TMPDIR: work },
    });
    expect(r.status, r.stderr.toString()).toBe(0);
    await expectSameImage(await readOciLayout(dir, 'v1'), a.parts);
    const v2 = await readOciLayout(dir, 'v2');
    expect(v2.config.equals(a.parts.config)).toBe(true);
  });
});
