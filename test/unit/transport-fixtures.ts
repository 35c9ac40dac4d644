// Small images built in memory for the transport tests.
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { hostPlatform } from '../../src/image/archive';
import { digestOf } from '../../src/image/digest';
import { MEDIA, type ImageParts } from '../../src/image/types';

export async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, data] of Object.entries(files)) {
    pack.entry({ name, mode: 0o644, mtime: new Date(1_700_000_000_000) }, data);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export interface TestLayer {
  uncompressed: Buffer;
  blob: Buffer;
  mediaType: string;
}

export async function gzipLayer(files: Record<string, string>): Promise<TestLayer> {
  const uncompressed = await tarOf(files);
  return { uncompressed, blob: gzipSync(uncompressed), mediaType: MEDIA.ociLayerGzip };
}

export interface TestImage {
  parts: ImageParts;
  layers: TestLayer[];
  /** how many times each layer was opened */
  opens: number[];
}

/** An OCI image of `layers` (host platform), with `extra` mixed into its config. */
export function makeImage(layers: TestLayer[], names: string[] = [], extra: Record<string, unknown> = {}): TestImage {
  const p = hostPlatform();
  const config = Buffer.from(
    JSON.stringify({
      architecture: p.architecture,
      os: p.os,
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => digestOf(l.uncompressed)) },
      history: layers.map(() => ({ created_by: 'test' })),
      ...extra,
    }),
  );
  const configDescriptor = { mediaType: MEDIA.ociConfig, digest: digestOf(config), size: config.length };
  const layerDescriptors = layers.map((l) => ({ mediaType: l.mediaType, digest: digestOf(l.blob), size: l.blob.length }));
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: configDescriptor, layers: layerDescriptors }),
  );
  const opens = layers.map(() => 0);
  return {
    layers,
    opens,
    parts: {
      manifest,
      manifestMediaType: MEDIA.ociManifest,
      config,
      configDescriptor,
      layers: layers.map((l, i) => ({
        descriptor: layerDescriptors[i],
        open: () => {
          opens[i]++;
          return Readable.from([l.blob.subarray(0, 7), l.blob.subarray(7)]);
        },
      })),
      names,
    },
  };
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}
