import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostPlatform, readImageArchive, type ArchiveLayer } from '../../src/image/archive';
import { digestOf, sha256Hex } from '../../src/image/digest';
import { MediaTypes } from '../../src/image/schema';

interface Entry {
  name: string;
  data?: Buffer | string;
  type?: 'file' | 'symlink' | 'link' | 'directory' | 'fifo' | 'character-device';
  linkname?: string;
}

async function writeTar(file: string, entries: Entry[], gzip = false): Promise<void> {
  const pack = tar.pack();
  const done = gzip
    ? pipeline(pack, createGzip(), createWriteStream(file))
    : pipeline(pack, createWriteStream(file));
  for (const e of entries) {
    const type = e.type ?? 'file';
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry({ name: e.name, type, mode: 0o644 }, e.data ?? '', cb);
      else pack.entry({ name: e.name, type, linkname: e.linkname, mode: 0o755 }, cb);
    });
  }
  pack.finalize();
  await done;
}

async function tarBuffer(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, mode: 0o644 }, e.data ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function consume(layer: ArchiveLayer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of layer.open() as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function configFor(diffIds: string[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'], Env: null },
      rootfs: { type: 'layers', diff_ids: diffIds },
      ...extra,
    }),
  );
}

function blob(data: Buffer | string): Entry {
  return { name: `blobs/sha256/${sha256Hex(data)}`, data };
}

function descriptor(mediaType: string, data: Buffer | string, more: Record<string, unknown> = {}) {
  return { mediaType, digest: digestOf(data), size: Buffer.byteLength(data), ...more };
}

let root: string;
let scratch: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'selkie-archive-'));
  scratch = join(root, 'scratch');
  mkdirSync(scratch);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

let layerA: Buffer;
let layerB: Buffer;

beforeEach(async () => {
  layerA = await tarBuffer([{ name: 'hello.txt', data: 'hello\n' }]);
  layerB = await tarBuffer([{ name: 'etc/motd', data: 'welcome\n' }]);
});

/** A classic `docker save` layout: <id>/layer.tar, <config-hex>.json, manifest.json. */
function dockerArchive(opts: { repoTags?: string[] | null; layers?: Buffer[] } = {}): { entries: Entry[]; config: Buffer } {
  const layers = opts.layers ?? [layerA];
  const config = configFor(layers.map((l) => digestOf(l)));
  const configHex = sha256Hex(config);
  const entries: Entry[] = [];
  const layerPaths: string[] = [];
  layers.forEach((l, i) => {
    const id = sha256Hex(`layer-id-${i}`);
    entries.push({ name: `${id}/`, type: 'directory' });
    entries.push({ name: `${id}/VERSION`, data: '1.0' });
    entries.push({ name: `${id}/json`, data: '{}' });
    entries.push({ name: `${id}/layer.tar`, data: l });
    layerPaths.push(`${id}/layer.tar`);
  });
  entries.push({ name: `${configHex}.json`, data: config });
  entries.push({
    name: 'manifest.json',
    data: JSON.stringify([{ Config: `${configHex}.json`, RepoTags: opts.repoTags === undefined ? ['mini:1'] : opts.repoTags, Layers: layerPaths }]),
  });
  entries.push({ name: 'repositories', data: '{}' });
  return { entries, config };
}

/** An OCI layout with gzip layers: index.json -> manifest -> config + layers. */
function ociImage(opts: { layers?: Buffer[]; arch?: string; variant?: string } = {}) {
  const layers = opts.layers ?? [layerA, layerB];
  const gz = layers.map((l) => gzipSync(l));
  const config = configFor(layers.map((l) => digestOf(l)), { architecture: opts.arch ?? 'amd64', ...(opts.variant ? { variant: opts.variant } : {}) });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: descriptor(MediaTypes.ociConfig, config),
      layers: gz.map((g) => descriptor(MediaTypes.ociLayerGzip, g)),
    }),
  );
  return { config, manifest, gz, blobs: [blob(config), blob(manifest), ...gz.map((g) => blob(g))] };
}

function ociLayoutEntries(index: unknown, blobs: Entry[]): Entry[] {
  return [
    { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
    ...blobs,
    { name: 'index.json', data: JSON.stringify(index) },
  ];
}

describe('readImageArchive: docker-archive', () => {
  it('reads a docker save archive with uncompressed layers and a RepoTag', async () => {
    const { entries, config } = dockerArchive();
    const file = join(root, 'a.tar');
    await writeTar(file, entries);
    const result = await readImageArchive(file, scratch);
    expect(result.format).toBe('docker-archive');
    expect(result.images).toHaveLength(1);
    const [image] = result.images;
    expect(image.config.equals(config)).toBe(true);
    expect(image.configDigest).toBe(digestOf(config));
    expect(image.names).toEqual(['docker.io/library/mini:1']);
    expect(image.layers).toHaveLength(1);
    expect(image.layers[0].digest).toBeUndefined();
    expect((await consume(image.layers[0])).equals(layerA)).toBe(true);
    // open() can be called again: each call is a fresh stream.
    expect((await consume(image.layers[0])).equals(layerA)).toBe(true);
  });

  it('keeps qualified RepoTags and accepts null RepoTags', async () => {
    const file = join(root, 'a.tar');
    await writeTar(file, dockerArchive({ repoTags: ['localhost/mini:1', 'quay.io/a/b:2'] }).entries);
    expect((await readImageArchive(file, scratch)).images[0].names).toEqual(['localhost/mini:1', 'quay.io/a/b:2']);

    const file2 = join(root, 'b.tar');
    const scratch2 = join(root, 'scratch2');
    mkdirSync(scratch2);
    await writeTar(file2, dockerArchive({ repoTags: null }).entries);
    expect((await readImageArchive(file2, scratch2)).images[0].names).toEqual([]);
  });

  it('reads a gzip-compressed archive', async () => {
    const file = join(root, 'a.tar.gz');
    await writeTar(file, dockerArchive().entries, true);
    const { images } = await readImageArchive(file, scratch);
    expect((await consume(images[0].layers[0])).equals(layerA)).toBe(true);
  });

  it('follows symlinked and hard-linked repeated layers within the archive', async () => {
    const config = configFor([digestOf(layerA), digestOf(layerA), digestOf(layerA)]);
    const hex = sha256Hex(config);
    const file = join(root, 'a.tar');
    await writeTar(file, [
      { name: 'id1/layer.tar', data: layerA },
      { name: 'id2/layer.tar', type: 'symlink', linkname: '../id1/layer.tar' },
      { name: 'id3/layer.tar', type: 'link', linkname: 'id1/layer.tar' },
      { name: `${hex}.json`, data: config },
      {
        name: 'manifest.json',
        data: JSON.stringify([{ Config: `${hex}.json`, RepoTags: ['x:1'], Layers: ['id1/layer.tar', 'id2/layer.tar', './id3//layer.tar'] }]),
      },
    ]);
    const { images } = await readImageArchive(file, scratch);
    expect(images[0].layers).toHaveLength(3);
    expect((await consume(images[0].layers[1])).equals(layerA)).toBe(true);
    expect((await consume(images[0].layers[2])).equals(layerA)).toBe(true);
  });

  it('reads a Docker 25+ save (manifest.json over an OCI layout) as a docker-archive with digests', async () => {
    const config = configFor([digestOf(layerA)]);
    const file = join(root, 'a.tar');
    await writeTar(file, [
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      blob(config),
      blob(layerA),
      { name: 'index.json', data: JSON.stringify({ schemaVersion: 2, manifests: [] }) },
      {
        name: 'manifest.json',
        data: JSON.stringify([{ Config: `blobs/sha256/${sha256Hex(config)}`, RepoTags: ['busybox:latest'], Layers: [`blobs/sha256/${sha256Hex(layerA)}`] }]),
      },
    ]);
    const result = await readImageArchive(file, scratch);
    expect(result.format).toBe('docker-archive');
    const [image] = result.images;
    expect(image.names).toEqual(['docker.io/library/busybox:latest']);
    expect(image.layers[0].digest).toBe(digestOf(layerA));
    expect((await consume(image.layers[0])).equals(layerA)).toBe(true);
  });

  it('reads several images', async () => {
    const one = dockerArchive();
    const config2 = configFor([digestOf(layerB)]);
    const hex2 = sha256Hex(config2);
    const manifest = JSON.parse(String(one.entries.find((e) => e.name === 'manifest.json')!.data));
    manifest.push({ Config: `${hex2}.json`, RepoTags: ['other:2'], Layers: ['b/layer.tar'] });
    const entries = one.entries.filter((e) => e.name !== 'manifest.json');
    entries.push({ name: 'b/layer.tar', data: layerB }, { name: `${hex2}.json`, data: config2 }, { name: 'manifest.json', data: JSON.stringify(manifest) });
    const file = join(root, 'a.tar');
    await writeTar(file, entries);
    const { images } = await readImageArchive(file, scratch);
    expect(images.map((i) => i.names)).toEqual([['docker.io/library/mini:1'], ['docker.io/library/other:2']]);
  });
});

describe('readImageArchive: oci-archive', () => {
  it('reads an OCI archive with gzip layers and a ref.name annotation', async () => {
    const img = ociImage();
    const index = {
      schemaVersion: 2,
      manifests: [descriptor(MediaTypes.ociManifest, img.manifest, { annotations: { 'org.opencontainers.image.ref.name': 'localhost/mini:1' } })],
    };
    const file = join(root, 'a.tar');
    await writeTar(file, ociLayoutEntries(index, img.blobs));
    const result = await readImageArchive(file, scratch);
    expect(result.format).toBe('oci-archive');
    const [image] = result.images;
    expect(image.names).toEqual(['localhost/mini:1']);
    expect(image.config.equals(img.config)).toBe(true);
    expect(image.configDigest).toBe(digestOf(img.config));
    expect(image.manifestDigest).toBe(digestOf(img.manifest));
    expect(image.layers.map((l) => l.mediaType)).toEqual([MediaTypes.ociLayerGzip, MediaTypes.ociLayerGzip]);
    expect(image.layers.map((l) => l.digest)).toEqual(img.gz.map((g) => digestOf(g)));
    expect((await consume(image.layers[1])).equals(img.gz[1])).toBe(true);
  });

  it('names images from ref.name as Podman does, preferring io.containerd.image.name', async () => {
    const img = ociImage();
    const cases: Array<[Record<string, string> | undefined, string[]]> = [
      [{ 'org.opencontainers.image.ref.name': 'mini:2' }, ['localhost/mini:2']],
      [{ 'org.opencontainers.image.ref.name': 'quay.io/a/b:3' }, ['quay.io/a/b:3']],
      [{ 'org.opencontainers.image.ref.name': 'latest', 'io.containerd.image.name': 'docker.io/library/busybox:latest' }, ['docker.io/library/busybox:latest']],
      [{ 'org.opencontainers.image.ref.name': 'v1+build' }, []],
      [undefined, []],
    ];
    for (const [i, [annotations, names]] of cases.entries()) {
      const dir = join(root, `s${i}`);
      mkdirSync(dir);
      const file = join(root, `c${i}.tar`);
      const index = { schemaVersion: 2, manifests: [descriptor(MediaTypes.ociManifest, img.manifest, annotations ? { annotations } : {})] };
      await writeTar(file, ociLayoutEntries(index, img.blobs));
      expect((await readImageArchive(file, dir)).images[0].names, JSON.stringify(annotations)).toEqual(names);
    }
  });

  it('merges one image listed under two names', async () => {
    const img = ociImage();
    const index = {
      schemaVersion: 2,
      manifests: ['a:1', 'b:2'].map((n) => descriptor(MediaTypes.ociManifest, img.manifest, { annotations: { 'org.opencontainers.image.ref.name': n } })),
    };
    const file = join(root, 'a.tar');
    await writeTar(file, ociLayoutEntries(index, img.blobs));
    const { images } = await readImageArchive(file, scratch);
    expect(images).toHaveLength(1);
    expect(images[0].names).toEqual(['localhost/a:1', 'localhost/b:2']);
  });

  describe('multi-platform', () => {
    const amd = () => ociImage({ arch: 'amd64', layers: [layerA] });
    const arm = () => ociImage({ arch: 'arm64', variant: 'v8', layers: [layerB] });

    function nested() {
      const a = amd();
      const b = arm();
      const attestation = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: descriptor('application/vnd.in-toto+json', '{}'), layers: [] }));
      const inner = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaTypes.ociIndex,
          manifests: [
            descriptor(MediaTypes.ociManifest, a.manifest, { platform: { os: 'linux', architecture: 'amd64' } }),
            descriptor(MediaTypes.ociManifest, b.manifest, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
            descriptor(MediaTypes.ociManifest, attestation, {
              platform: { os: 'unknown', architecture: 'unknown' },
              annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
            }),
          ],
        }),
      );
      const index = {
        schemaVersion: 2,
        manifests: [descriptor(MediaTypes.ociIndex, inner, { annotations: { 'org.opencontainers.image.ref.name': 'quay.io/multi/app:1' } })],
      };
      return { a, b, entries: ociLayoutEntries(index, [...a.blobs, ...b.blobs, blob(inner), blob(attestation)]) };
    }

    it('follows a nested index and picks the requested platform', async () => {
      const { a, b, entries } = nested();
      const file = join(root, 'a.tar');
      await writeTar(file, entries);
      const arm64 = await readImageArchive(file, scratch, { platform: { os: 'linux', architecture: 'arm64' } });
      expect(arm64.images).toHaveLength(1);
      expect(arm64.images[0].configDigest).toBe(digestOf(b.config));
      expect(arm64.images[0].names).toEqual(['quay.io/multi/app:1']);

      const scratch2 = join(root, 'scratch2');
      mkdirSync(scratch2);
      const amd64 = await readImageArchive(file, scratch2, { platform: { os: 'linux', architecture: 'amd64' } });
      expect(amd64.images[0].configDigest).toBe(digestOf(a.config));
    });

    it('picks the host platform by default', async () => {
      const { a, b, entries } = nested();
      const file = join(root, 'a.tar');
      await writeTar(file, entries);
      const host = hostPlatform();
      expect(host.os).toBe('linux');
      if (host.architecture !== 'amd64' && host.architecture !== 'arm64') {
        await expect(readImageArchive(file, scratch)).rejects.toThrow(/has no image for linux\//);
        return;
      }
      const { images } = await readImageArchive(file, scratch);
      expect(images[0].configDigest).toBe(digestOf(host.architecture === 'amd64' ? a.config : b.config));
    });

    it('picks among platform entries listed directly in index.json', async () => {
      const a = amd();
      const b = arm();
      const index = {
        schemaVersion: 2,
        manifests: [
          descriptor(MediaTypes.ociManifest, a.manifest, { platform: { os: 'linux', architecture: 'amd64' } }),
          descriptor(MediaTypes.ociManifest, b.manifest, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
        ],
      };
      const file = join(root, 'a.tar');
      await writeTar(file, ociLayoutEntries(index, [...a.blobs, ...b.blobs]));
      const { images } = await readImageArchive(file, scratch, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
      expect(images.map((i) => i.configDigest)).toEqual([digestOf(b.config)]);
    });

    it('says which platforms exist when none fits', async () => {
      const { entries } = nested();
      const file = join(root, 'a.tar');
      await writeTar(file, entries);
      await expect(readImageArchive(file, scratch, { platform: { os: 'linux', architecture: 's390x' } })).rejects.toThrow(
        /has no image for linux\/s390x \(it has: linux\/amd64, linux\/arm64\/v8\)/,
      );
    });
  });
});

describe('readImageArchive: hostile and broken archives', () => {
  it('never writes outside scratch, whatever the entry names', async () => {
    const marker = `selkie-abs-${process.pid}-${Date.now()}`;
    const { entries } = dockerArchive();
    const file = join(root, 'a.tar');
    await writeTar(file, [
      { name: '../escape1.txt', data: 'x' },
      { name: '../../escape2.txt', data: 'x' },
      { name: 'a/../../escape3.txt', data: 'x' },
      { name: `/tmp/${marker}`, data: 'x' },
      { name: `${root}/escape4.txt`, data: 'x' },
      { name: 'link', type: 'symlink', linkname: '/etc' },
      { name: 'link/passwd-copy', data: 'x' },
      { name: 'fifo', type: 'fifo' },
      ...entries,
    ]);
    const { images } = await readImageArchive(file, scratch);
    expect(images).toHaveLength(1);
    expect(readdirSync(root).sort()).toEqual(['a.tar', 'scratch']);
    expect(existsSync(join(dirname(root), 'escape1.txt'))).toBe(false);
    expect(existsSync(join(dirname(dirname(root)), 'escape2.txt'))).toBe(false);
    expect(existsSync(join(dirname(root), 'escape3.txt'))).toBe(false);
    expect(existsSync(join('/tmp', marker))).toBe(false);
    expect(existsSync(join(root, 'escape4.txt'))).toBe(false);
    const [own, ...others] = readdirSync(scratch);
    expect(others).toEqual([]);
    expect(own).toMatch(/^archive-/);
    for (const name of readdirSync(join(scratch, own))) expect(name).toMatch(/^entry-\d+$/);
  });

  it('resolves symlinks only inside the archive', async () => {
    const config = configFor([digestOf(layerA)]);
    const hex = sha256Hex(config);
    const file = join(root, 'a.tar');
    await writeTar(file, [
      { name: 'evil/layer.tar', type: 'symlink', linkname: '/etc/passwd' },
      { name: `${hex}.json`, data: config },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${hex}.json`, RepoTags: [], Layers: ['evil/layer.tar'] }]) },
    ]);
    await expect(readImageArchive(file, scratch)).rejects.toThrow(/layer "evil\/layer.tar" is missing from the archive/);
  });

  it('bounds symlink loops', async () => {
    const config = configFor([digestOf(layerA)]);
    const hex = sha256Hex(config);
    const file = join(root, 'a.tar');
    await writeTar(file, [
      { name: 'a/layer.tar', type: 'symlink', linkname: '../b/layer.tar' },
      { name: 'b/layer.tar', type: 'symlink', linkname: '../a/layer.tar' },
      { name: `${hex}.json`, data: config },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${hex}.json`, RepoTags: [], Layers: ['a/layer.tar'] }]) },
    ]);
    await expect(readImageArchive(file, scratch)).rejects.toThrow(/too many levels of links/);
  });

  it('refuses a manifest.json path that climbs out of the archive', async () => {
    const config = configFor([]);
    const file = join(root, 'a.tar');
    await writeTar(file, [
      { name: 'manifest.json', data: JSON.stringify([{ Config: '../../../etc/passwd', RepoTags: [], Layers: [] }]) },
      { name: 'x.json', data: config },
    ]);
    await expect(readImageArchive(file, scratch)).rejects.toThrow(/manifest.json names an invalid config path/);
  });

  it('reports malformed manifest.json', async () => {
    const file = join(root, 'a.tar');
    await writeTar(file, [{ name: 'manifest.json', data: '[{"Config": ' }]);
    await expect(readImageArchive(file, scratch)).rejects.toThrow(/^invalid manifest.json "manifest.json": malformed JSON/);

    const file2 = join(root, 'b.tar');
    await writeTar(file2, [{ name: 'manifest.json', data: '[{"Config": 5, "Layers": []}]' }]);
    await expect(readImageArchive(file2, join(root, 'scratch'))).rejects.toThrow(/invalid manifest.json "manifest.json": \[0\]\.Config/);
  });

  it('refuses JSON documents over the 4 MiB cap', async () => {
    const file = join(root, 'a.tar');
    await writeTar(file, [{ name: 'manifest.json', data: Buffer.alloc(5 * 1024 * 1024, 0x20) }]);
    await expect(readImageArchive(file, scratch)).rejects.toThrow(/manifest.json.*over the 4 MiB limit/);
  });

  it('refuses a missing config', async () => {
    const { entries } = dockerArchive();
    const file = join(root, 'a.tar');
    await writeTar(file, entries.filter((e) => !/^[a-f0-9]{64}\.json$/.test(e.name)));
    await expect(readImageArchive(file, scratch)).rejects.toThrow(/image config "[a-f0-9]{64}\.json" is missing from the archive/);
  });

  it('refuses a docker-archive config that does not hash to its name', async () => {
    const config = configFor([digestOf(layerA)]);
    const claimed = sha256Hex('something else');
    const file = join(root, 'a.tar');
    await writeTar(file, [
      { name: 'l/layer.tar', data: layerA },
      { name: `${claimed}.json`, data: config },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${claimed}.json`, RepoTags: [], Layers: ['l/layer.tar'] }]) },
    ]);
    await expect(readImageArchive(file, scratch)).rejects.toThrow(`digest mismatch for sha256:${claimed}: got ${digestOf(config)}`);
  });

  it('refuses a layer count that differs from diff_ids', async () => {
    const config = configFor([digestOf(layerA), digestOf(layerB)]);
    const hex = sha256Hex(config);
    const file = join(root, 'a.tar');
    await writeTar(file, [
      { name: 'l/layer.tar', data: layerA },
      { name: `${hex}.json`, data: config },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${hex}.json`, RepoTags: [], Layers: ['l/layer.tar'] }]) },
    ]);
    await expect(readImageArchive(file, scratch)).rejects.toThrow(/lists 2 layer diff_ids but the image has 1 layers/);
  });

  it('refuses an invalid RepoTag', async () => {
    const file = join(root, 'a.tar');
    await writeTar(file, dockerArchive({ repoTags: ['Upper:1'] }).entries);
    await expect(readImageArchive(file, scratch)).rejects.toThrow(/invalid RepoTags entry "Upper:1": invalid reference format/);
  });

  it('fails while streaming an OCI layer whose content does not match its name', async () => {
    const img = ociImage({ layers: [layerA] });
    const index = { schemaVersion: 2, manifests: [descriptor(MediaTypes.ociManifest, img.manifest)] };
    const tampered = Buffer.from(img.gz[0]);
    tampered[tampered.length - 1] ^= 0xff;
    const blobs = img.blobs.map((b) => (b.data === img.gz[0] ? { name: b.name, data: tampered } : b));
    const file = join(root, 'a.tar');
    await writeTar(file, ociLayoutEntries(index, blobs));
    const { images } = await readImageArchive(file, scratch);
    await expect(consume(images[0].layers[0])).rejects.toThrow(`digest mismatch for ${digestOf(img.gz[0])}: got ${digestOf(tampered)}`);
  });

  it('fails while streaming a docker-archive blobs/sha256 layer that does not match its name', async () => {
    const config = configFor([digestOf(layerA)]);
    const claimed = sha256Hex(layerB);
    const file = join(root, 'a.tar');
    await writeTar(file, [
      { name: `blobs/sha256/${claimed}`, data: layerA },
      blob(config),
      { name: 'manifest.json', data: JSON.stringify([{ Config: `blobs/sha256/${sha256Hex(config)}`, RepoTags: [], Layers: [`blobs/sha256/${claimed}`] }]) },
    ]);
    const { images } = await readImageArchive(file, scratch);
    await expect(consume(images[0].layers[0])).rejects.toThrow(/digest mismatch for sha256:/);
  });

  it('fails while streaming a layer longer than its descriptor says', async () => {
    const img = ociImage({ layers: [layerA] });
    const manifest = JSON.parse(img.manifest.toString());
    manifest.layers[0].size -= 1;
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const index = { schemaVersion: 2, manifests: [descriptor(MediaTypes.ociManifest, manifestBytes)] };
    const file = join(root, 'a.tar');
    await writeTar(file, ociLayoutEntries(index, [...img.blobs, blob(manifestBytes)]));
    const { images } = await readImageArchive(file, scratch);
    await expect(consume(images[0].layers[0])).rejects.toThrow(/size mismatch for sha256:[a-f0-9]{64}: expected \d+ bytes, got more/);
  });

  it('refuses an OCI config or manifest blob that does not match its descriptor', async () => {
    const img = ociImage();
    const index = { schemaVersion: 2, manifests: [descriptor(MediaTypes.ociManifest, img.manifest)] };
    const badConfig = Buffer.from(img.config.toString().replace('amd64', 'arm64'));
    const blobs = img.blobs.map((b) => (b.data === img.config ? { name: b.name, data: badConfig } : b));
    const file = join(root, 'a.tar');
    await writeTar(file, ociLayoutEntries(index, blobs));
    await expect(readImageArchive(file, scratch)).rejects.toThrow(`digest mismatch for ${digestOf(img.config)}: got ${digestOf(badConfig)} (image config)`);
  });

  it('refuses an OCI archive with a missing layer blob', async () => {
    const img = ociImage();
    const index = { schemaVersion: 2, manifests: [descriptor(MediaTypes.ociManifest, img.manifest)] };
    const file = join(root, 'a.tar');
    await writeTar(file, ociLayoutEntries(index, img.blobs.filter((b) => b.data !== img.gz[1])));
    await expect(readImageArchive(file, scratch)).rejects.toThrow(
      `layer blob "blobs/sha256/${sha256Hex(img.gz[1])}" is missing from the archive`,
    );
  });

  it('refuses an OCI archive without oci-layout, or with a malformed index.json', async () => {
    const file = join(root, 'a.tar');
    await writeTar(file, [{ name: 'index.json', data: '{"schemaVersion":2,"manifests":[]}' }]);
    await expect(readImageArchive(file, scratch)).rejects.toThrow(/oci-layout file is missing/);

    const file2 = join(root, 'b.tar');
    await writeTar(file2, [{ name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', data: '{"schemaVersion":2,"manifests":{}}' }]);
    await expect(readImageArchive(file2, scratch)).rejects.toThrow(/^invalid image index "index.json": manifests: /);
  });

  it('refuses a non-image OCI artifact', async () => {
    const cfg = '{}';
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: descriptor('application/vnd.cncf.helm.config.v1+json', cfg), layers: [] }));
    const index = { schemaVersion: 2, manifests: [descriptor(MediaTypes.ociManifest, manifest)] };
    const file = join(root, 'a.tar');
    await writeTar(file, ociLayoutEntries(index, [blob(cfg), blob(manifest)]));
    await expect(readImageArchive(file, scratch)).rejects.toThrow(/is not a container image/);
  });

  it('bounds nested indexes', async () => {
    // An index whose only entry is itself cannot be built (its digest would change), so chain many.
    const img = ociImage();
    let inner: Buffer = img.manifest;
    let mediaType: string = MediaTypes.ociManifest;
    const blobs = [...img.blobs];
    for (let i = 0; i < 10; i++) {
      const next = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [descriptor(mediaType, inner)] }));
      blobs.push(blob(next));
      inner = next;
      mediaType = MediaTypes.ociIndex;
    }
    const file = join(root, 'a.tar');
    await writeTar(file, ociLayoutEntries({ schemaVersion: 2, manifests: [descriptor(mediaType, inner)] }, blobs));
    await expect(readImageArchive(file, scratch)).rejects.toThrow(/nest more than 8 deep/);
  });

  it('says when the file is not a tar archive', async () => {
    const file = join(root, 'junk');
    writeFileSync(file, Buffer.alloc(4096, 0x41));
    await expect(readImageArchive(file, scratch)).rejects.toThrow(`${file} is not a tar archive`);
    const short = join(root, 'short');
    writeFileSync(short, 'hello');
    await expect(readImageArchive(short, scratch)).rejects.toThrow(`${short} is not a tar archive`);
    const empty = join(root, 'empty');
    writeFileSync(empty, '');
    await expect(readImageArchive(empty, scratch)).rejects.toThrow(/is not an image archive: it is empty/);
    const xz = join(root, 'x.tar.xz');
    writeFileSync(xz, Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]));
    await expect(readImageArchive(xz, scratch)).rejects.toThrow(/compressed with xz; decompress it first/);
    await expect(readImageArchive(join(root, 'nope.tar'), scratch)).rejects.toThrow(/cannot open archive .*nope.tar/);
  });

  it('says when a tar is neither format', async () => {
    const file = join(root, 'a.tar');
    await writeTar(file, [{ name: 'hello.txt', data: 'hi' }]);
    await expect(readImageArchive(file, scratch)).rejects.toThrow(
      `${file} is neither a docker-archive (it has no manifest.json) nor an oci-archive (it has no index.json)`,
    );
  });

  it('reports a truncated archive', async () => {
    const full = join(root, 'full.tar');
    const { entries } = dockerArchive();
    await writeTar(full, entries);
    const { readFileSync } = await import('node:fs');
    const bytes = readFileSync(full);
    const file = join(root, 'cut.tar');
    writeFileSync(file, bytes.subarray(0, 2048 + 100));
    await expect(readImageArchive(file, scratch)).rejects.toThrow(new RegExp(`${basename(file)}: corrupt tar archive after \\d+ entries`));
  });
});
