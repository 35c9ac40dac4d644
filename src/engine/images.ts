// Image operations: load (docker-archive / oci-archive), import (a plain
// rootfs tarball), list, tag, remove.
import { createReadStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { localName, matchesStoredName } from '../image/reference';
import type { ImageRecord } from '../image/record';
import { recordImageEvent } from '../state/events';
import { randomHex } from '../state/random';
import type { EngineContext } from './context';
import { EngineError, InUseError, NotFoundError } from './errors';

import { MEDIA } from '../image/types';
import { goArch } from '../image/platform';


async function withScratch<T>(ctx: EngineContext, fn: (dir: string) => Promise<T>): Promise<T> {
  mkdirSync(ctx.tmpDir, { recursive: true, mode: 0o700 });
  const dir = join(ctx.tmpDir, `load-${process.pid}-${randomHex(6)}`);
  mkdirSync(dir, { mode: 0o700 });
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `load -i FILE`: returns the names (or IDs) of the images loaded. */
export async function loadImages(ctx: EngineContext, file: string): Promise<string[]> {
  ctx.ensureDirs();
  // Loaded here, not at start-up: the archive reader and zod are large and `run` needs neither.
  const { readImageArchive } = await import('../image/archive');
  const { ImageConfigSchema, parseJson } = await import('../image/schema');
  const { ingestImage, rollbackOnFailure, sweepLeftovers } = await import('./ingest');
  sweepLeftovers(ctx);
  return withScratch(ctx, async (scratch) => {
    const { images } = await readImageArchive(file, scratch);
    const loaded: string[] = [];
    for (const img of images) {
      const rec = await rollbackOnFailure(ctx, () => ingestImage(ctx, {
        config: img.config,
        parsedConfig: parseJson(ImageConfigSchema, img.config, 'image config'),
        layers: img.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, open: () => l.open() })),
        manifest: img.manifest ? { bytes: img.manifest, mediaType: MEDIA.ociManifest } : undefined,
        names: img.names,
      }));
      loaded.push(...(img.names.length ? img.names : [`sha256:${rec.id}`]));
    }
    recordImageEvent(ctx, 'loadfromarchive', undefined, file);
    return loaded;
  });
}

/** `import FILE [NAME]`: a plain rootfs tarball becomes a one-layer image. */
export async function importImage(
  ctx: EngineContext,
  source: NodeJS.ReadableStream | string,
  name: string | undefined,
  opts: { message?: string; changes?: Record<string, unknown> } = {},
): Promise<ImageRecord> {
  ctx.ensureDirs();
  const { ImageConfigSchema, parseJson } = await import('../image/schema');
  const { ingestLayer, ingestImage, LAYER_OPTS } = await import('./ingest');
  const stream = typeof source === 'string' ? createReadStream(source) : source;
  // The blob first (its digest is learnt as it is stored), then its diffID from extraction.
  const stored = await ctx.blobs.putUnknown(stream);
  const diffID = (await ctx.layers.put(ctx.blobs.open(stored.digest), undefined, LAYER_OPTS)).diffID;
  await ingestLayer(ctx, { digest: stored.digest, open: () => ctx.blobs.open(stored.digest) }, diffID);
  const now = new Date().toISOString();
  const config = {
    created: now,
    architecture: goArch(),
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...(opts.changes ?? {}) },
    rootfs: { type: 'layers', diff_ids: [diffID] },
    history: [{ created: now, created_by: 'selkie import', ...(opts.message ? { comment: opts.message } : {}) }],
  };
  const bytes = Buffer.from(JSON.stringify(config));
  const rec = await ingestImage(ctx, {
    config: bytes,
    parsedConfig: parseJson(ImageConfigSchema, bytes, 'image config'),
    layers: [{ digest: stored.digest, open: () => ctx.blobs.open(stored.digest) }],
    names: name ? [localName(name)] : [],
  });
  recordImageEvent(ctx, 'import', rec.id, name ?? (typeof source === 'string' ? source : undefined));
  return rec;
}

export function requireImage(ctx: EngineContext, ref: string): ImageRecord {
  const rec = ctx.images.lookup(ref);
  if (!rec) throw new NotFoundError(`${ref}: image not known`);
  return rec;
}

function safeMatch(stored: string, query: string): boolean {
  try {
    return matchesStoredName(stored, query);
  } catch {
    return false; // an ID, not a reference
  }
}

export interface RemoveImageResult { untagged: string[]; deleted: string[] }

/**
 * `rmi`: a name that is one of several only untags; otherwise the image goes,
 * refused while containers use it unless force (which removes them first).
 */
export async function removeImage(
  ctx: EngineContext,
  ref: string,
  force: boolean,
  removeContainer: (id: string) => Promise<void>,
): Promise<RemoveImageResult> {
  const rec = requireImage(ctx, ref);
  const result: RemoveImageResult = { untagged: [], deleted: [] };
  // A name of an image that has others only loses that name, forced or not (as Docker).
  const named = rec.names.find((n) => n === ref) ?? rec.names.find((n) => safeMatch(n, ref));
  if (named !== undefined && rec.names.length > 1) {
    ctx.images.untag(rec.id, named);
    recordImageEvent(ctx, 'untag', rec.id, named);
    result.untagged.push(named);
    return result;
  }
  const users = ctx.containers.list().filter((c) => c.image.id === rec.id);
  if (users.length && !force) {
    throw new InUseError(
      `image used by ${users[0].id}: image is in use by a container: consider listing external containers and force-removing image`,
    );
  }
  for (const c of users) await removeContainer(c.id);
  result.untagged.push(...rec.names);
  ctx.images.remove(rec.id);
  for (const n of rec.names) recordImageEvent(ctx, 'untag', rec.id, n);
  recordImageEvent(ctx, 'remove', rec.id, ref);
  result.deleted.push(rec.id);
  return result;
}

export function imageExists(ctx: EngineContext, ref: string): boolean {
  try {
    return ctx.images.lookup(ref) !== undefined;
  } catch {
    return false;
  }
}

export function tagImage(ctx: EngineContext, ref: string, names: string[]): void {
  const rec = requireImage(ctx, ref);
  for (const n of names) {
    if (!n) throw new EngineError('tag name must not be empty');
    ctx.images.tag(rec.id, localName(n));
    recordImageEvent(ctx, 'tag', rec.id, localName(n));
  }
}
