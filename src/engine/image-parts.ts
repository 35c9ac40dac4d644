// An image of the store in the form transports write: its manifest, config
// and layer blobs exactly as kept, so pushes and saves keep their digests.
import type { ImageRecord } from '../image/record';
import type { ImageParts } from '../image/types';
import type { EngineContext } from './context';
import { EngineError } from './errors';

export function imageParts(ctx: EngineContext, rec: ImageRecord): ImageParts {
  if (!rec.digest || !rec.layerBlobs || !ctx.blobs.has(rec.digest)) {
    throw new EngineError(`image ${rec.id.slice(0, 12)} has no stored manifest and layer blobs: remove it and load or pull it again`);
  }
  const manifest = ctx.blobs.read(rec.digest);
  const parsed = JSON.parse(manifest.toString('utf8')) as { config: { mediaType: string; digest: string; size: number } };
  for (const b of rec.layerBlobs) {
    if (!ctx.blobs.has(b.digest)) throw new EngineError(`layer blob ${b.digest} of image ${rec.id.slice(0, 12)} is missing from storage`);
  }
  return {
    manifest,
    manifestMediaType: rec.manifestMediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    config: ctx.images.configBytes(rec.id),
    configDescriptor: parsed.config,
    layers: rec.layerBlobs.map((descriptor) => ({ descriptor, open: () => ctx.blobs.open(descriptor.digest) })),
    names: rec.names,
  };
}
