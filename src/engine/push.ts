// `push`: an image of the store to a registry or another transport, blobs
// first (skipped when present, mounted from the repository it came from when
// on the same registry), the manifest last.
import { isInsecure, loadRegistriesConfig, pullSources } from '../config/registries';
import { formatReference, localName, parseReference } from '../image/reference';
import { findCredentials, type Credentials } from '../image/registry/auth-file';
import { RegistryClient } from '../image/registry/client';
import type { ImageRecord } from '../image/record';
import { parseTransportRef } from '../image/transports/names';
import { recordImageEvent } from '../state/events';
import type { EngineContext } from './context';
import { EngineError } from './errors';
import { imageParts } from './image-parts';
import { requireImage } from './images';

export interface PushOptions {
  tlsVerify?: boolean;
  authfile?: string;
  creds?: Credentials;
  /** upload layers in chunks of this many bytes instead of one request each */
  chunkSize?: number;
  log?: (line: string) => void;
}

/** Returns the manifest digest at the destination. */
export async function pushImage(ctx: EngineContext, src: string, dest: string | undefined, opts: PushOptions = {}): Promise<string> {
  const rec = requireImage(ctx, src);
  const digest = await pushTo(ctx, rec, src, dest, opts);
  recordImageEvent(ctx, 'push', rec.id, dest ?? src);
  return digest;
}

async function pushTo(ctx: EngineContext, rec: ImageRecord, src: string, dest: string | undefined, opts: PushOptions): Promise<string> {
  const parts = imageParts(ctx, rec);
  const target = parseTransportRef(dest ?? rec.names.find((n) => n === localName(src)) ?? src);
  switch (target.transport) {
    case 'docker': {
      const ref = parseReference(target.reference);
      const cfg = loadRegistriesConfig();
      pullSources(cfg, ref); // refuses a blocked registry
      const repo = ref.repository;
      const client = new RegistryClient({
        registry: ref.registry,
        insecure: isInsecure(cfg, ref.registry),
        tlsVerify: opts.tlsVerify,
        credentials: opts.creds ?? findCredentials(ref.registry, repo, opts.authfile),
      });
      try {
        const blobs = [...parts.layers.map((l) => ({ ...l.descriptor, open: l.open })), { ...parts.configDescriptor, open: () => ctx.blobs.open(parts.configDescriptor.digest) }];
        for (const b of blobs) {
          if (await client.blobExists(repo, b.digest)) {
            opts.log?.(`Copying blob ${b.digest.slice(7, 19)} skipped: already exists`);
            continue;
          }
          const from = rec.source?.registry === ref.registry && rec.source.repository !== repo ? rec.source.repository : undefined;
          if (from && (await client.mountBlob(repo, b.digest, from))) {
            opts.log?.(`Copying blob ${b.digest.slice(7, 19)} mounted from ${from}`);
            continue;
          }
          opts.log?.(`Copying blob ${b.digest.slice(7, 19)}`);
          await client.uploadBlob(repo, b.digest, b.size, b.open, { chunkSize: opts.chunkSize });
        }
        opts.log?.('Writing manifest to image destination');
        return await client.putManifest(repo, ref.digest ?? ref.tag ?? 'latest', parts.manifest, parts.manifestMediaType);
      } finally {
        await client.close();
      }
    }
    case 'oci': {
      const { writeOciLayout } = await import('../image/transports/oci-layout');
      await writeOciLayout(target.path, [{ parts, refName: target.reference }]);
      break;
    }
    case 'oci-archive': {
      const { writeOciArchive } = await import('../image/transports/oci-layout');
      await writeOciArchive(target.path, [{ parts, refName: target.reference }]);
      break;
    }
    case 'docker-archive': {
      const { writeDockerArchive } = await import('../image/transports/docker-archive-write');
      const names = target.reference && !target.reference.startsWith('@') ? [formatReference(parseReference(target.reference))] : parts.names;
      await writeDockerArchive(target.path, [{ ...parts, names }], { names: 'full' });
      break;
    }
    case 'dir': {
      const { writeDir } = await import('../image/transports/dir');
      await writeDir(target.path, parts);
      break;
    }
    case 'containers-storage':
      ctx.images.tag(rec.id, localName(target.reference));
      break;
  }
  return rec.digest!;
}

export type SaveFormat = 'docker-archive' | 'oci-archive' | 'oci-dir' | 'docker-dir';

/** `save`: one or more images (several only with multiImage) to a file or directory. */
export async function saveImages(ctx: EngineContext, refs: string[], output: string, format: SaveFormat, multiImage: boolean): Promise<void> {
  if (refs.length > 1 && !multiImage && format !== 'docker-archive') {
    throw new EngineError(`--multi-image-archive (-m) is required to save several images in ${format} format`);
  }
  const images = refs.map((r) => {
    const rec = requireImage(ctx, r);
    const parts = imageParts(ctx, rec);
    // The name the user gave, if it is one of the image's; otherwise all of them.
    const name = rec.names.find((n) => n === localName(r));
    return { id: rec.id, parts: { ...parts, names: name ? [name] : parts.names }, refName: name ?? parts.names[0] };
  });
  switch (format) {
    case 'docker-archive': {
      const { writeDockerArchive } = await import('../image/transports/docker-archive-write');
      await writeDockerArchive(output, images.map((i) => i.parts), { names: 'full' });
      break;
    }
    case 'oci-archive': {
      const { writeOciArchive } = await import('../image/transports/oci-layout');
      await writeOciArchive(output, images);
      break;
    }
    case 'oci-dir': {
      const { writeOciLayout } = await import('../image/transports/oci-layout');
      await writeOciLayout(output, images);
      break;
    }
    case 'docker-dir': {
      if (images.length > 1) throw new EngineError('docker-dir holds one image: save them one at a time');
      const { writeDir } = await import('../image/transports/dir');
      await writeDir(output, images[0].parts);
      break;
    }
  }
  for (const i of images) recordImageEvent(ctx, 'save', i.id, output);
}

