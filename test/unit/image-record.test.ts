// What an image record holds (its blobs, its repo digests), and that the
// cleanup after a failed write keeps every blob an image still holds.
import { describe, expect, it } from 'vitest';
import { rollbackOnFailure } from '../../src/engine/ingest';
import { digestOf } from '../../src/image/digest';
import { blobsOf, repoDigestsOf, type ImageRecord } from '../../src/image/record';
import { useTempEngine } from './temp-engine';

const hex = (c: string) => c.repeat(64);

const record: ImageRecord = {
  id: hex('c'),
  names: ['localhost/app:1', 'localhost/app:2', 'example.com/x/app:1'],
  digest: `sha256:${hex('a')}`,
  listDigest: `sha256:${hex('b')}`,
  layerBlobs: [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${hex('1')}`, size: 1 },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${hex('2')}`, size: 1 },
  ],
  layers: [],
  size: 0,
  created: '1970-01-01T00:00:00Z',
  added: '1970-01-01T00:00:00Z',
};

describe('image record', () => {
  it('holds its index, manifest, config and layer blobs', () => {
    expect(blobsOf(record)).toEqual([`sha256:${hex('b')}`, `sha256:${hex('a')}`, `sha256:${hex('c')}`, `sha256:${hex('1')}`, `sha256:${hex('2')}`]);
    expect(blobsOf({ ...record, listDigest: undefined, digest: undefined, layerBlobs: undefined })).toEqual([`sha256:${hex('c')}`]);
  });

  it('gives each repository the manifest digest, then the index digest', () => {
    expect(repoDigestsOf(record)).toEqual([
      `localhost/app@sha256:${hex('a')}`,
      `localhost/app@sha256:${hex('b')}`,
      `example.com/x/app@sha256:${hex('a')}`,
      `example.com/x/app@sha256:${hex('b')}`,
    ]);
  });
});

describe('rollback of a failed write', () => {
  const engine = useTempEngine('selkie-record-');

  it('removes the blobs it added that no image holds, and keeps those an image holds (its index too)', async () => {
    const ctx = engine();
    const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' as const, diff_ids: [] as string[] } };
    const configBytes = Buffer.from(JSON.stringify(config));
    const id = digestOf(configBytes).slice(7);
    const manifest = Buffer.from('{"manifest":1}');
    const index = Buffer.from('{"index":1}');
    const stray = Buffer.from('{"stray":1}');
    for (const b of [configBytes, manifest, index, stray]) ctx.blobs.putBytes(digestOf(b), b);
    ctx.images.add(id, configBytes, config, ['localhost/app:1'], { digest: digestOf(manifest), listDigest: digestOf(index) });

    await expect(
      rollbackOnFailure(ctx, async (added) => {
        for (const b of [configBytes, manifest, index, stray]) added.blobs.add(digestOf(b));
        throw new Error('the transfer failed');
      }),
    ).rejects.toThrow('the transfer failed');

    expect(ctx.blobs.has(digestOf(stray))).toBe(false);
    for (const b of [configBytes, manifest, index]) expect(ctx.blobs.has(digestOf(b))).toBe(true);
  });
});
