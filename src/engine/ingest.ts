// Bringing an image into the store, whatever its transport: every layer blob
// is kept as received (verified against its digest), extracted once into the
// layer store (verified against the config's diffID), and the image recorded
// with its manifest.  Anything already present is skipped, so a pull or load
// killed halfway resumes where it stopped and never leaves a half image.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { digestOf, verifyingStream } from '../image/digest';
import type { ImageConfig } from '../image/schema';
import { blobsOf, type ImageRecord } from '../image/record';
import { MEDIA, type BlobDescriptor } from '../image/types';
import { IMAGE_ID_SPACE } from '../userns/mapping';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic';
import { withLock } from '../state/lock';
import { randomHex } from '../state/random';
import type { EngineContext } from './context';

/** Layers may use container IDs 0..65535: larger ones would collide with container ID blocks. */
export const LAYER_OPTS = { maxId: IMAGE_ID_SPACE - 1 };

export interface IncomingLayer {
  /** the digest (and size) the blob must have, when known; otherwise learnt while storing (import) */
  digest?: string;
  size?: number;
  mediaType?: string;
  open(): NodeJS.ReadableStream;
}

export interface IncomingImage {
  config: Buffer;
  parsedConfig: ImageConfig;
  layers: IncomingLayer[];
  /** the manifest as received; made up (OCI) when absent */
  manifest?: { bytes: Buffer; mediaType: string };
  /** the index the manifest was chosen from, as received */
  list?: { digest: string; bytes: Buffer };
  names: string[];
  source?: { registry: string; repository: string };
  /** called as each layer is done (progress) */
  onLayer?: (index: number, descriptor: BlobDescriptor) => void;
}

/** Gzip and zstd by their magic numbers; anything else is a plain tar. */
export function layerMediaType(head: Buffer): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return MEDIA.ociLayerGzip;
  if (head.readUInt32LE(0) === 0xfd2fb528) return MEDIA.ociLayerZstd;
  return MEDIA.ociLayer;
}

/** Stores one layer blob (if missing) and extracts it (if missing). */
export async function ingestLayer(ctx: EngineContext, layer: IncomingLayer, diffID: string): Promise<BlobDescriptor> {
  let digest = layer.digest;
  if (digest === undefined) {
    digest = (await ctx.blobs.putUnknown(layer.open())).digest;
  } else if (!ctx.blobs.has(digest)) {
    await ctx.blobs.putStream(digest, layer.open(), verifyingStream(digest, layer.size));
  }
  const desc: BlobDescriptor = {
    mediaType: layer.mediaType || layerMediaType(ctx.blobs.head(digest)),
    digest,
    size: ctx.blobs.size(digest),
  };
  if (!ctx.layers.has(diffID)) await ctx.layers.put(ctx.blobs.open(digest), diffID, LAYER_OPTS);
  return desc;
}

/** Clears what killed writers left (temporary files and directories of dead PIDs, and what their notes list). */
export function sweepLeftovers(ctx: EngineContext): void {
  ctx.blobs.sweep();
  withLock(ctx.layers.lockPath, () => {
    ctx.layers.sweep();
    sweepScratch(ctx);
  });
}

/** Scratch entries in tmpDir are named "<what>-<pid>-...": those of a dead PID are leftovers. */
const SCRATCH = /^[a-z]+-(\d+)-/;
const NOTE = /^pending-\d+-[0-9a-f]+\.json$/;

interface Pending {
  blobs: string[];
  layers: string[];
}

/**
 * Notes in tmpDir, before storing them, the blobs and layers an operation is
 * about to add.  A process killed before done() leaves its note behind, and
 * the next sweepLeftovers removes what the note lists that no image uses:
 * a killed commit leaves neither a half image nor unreferenced layers.
 */
export function notePending(ctx: EngineContext, what: Pending): { done(): void } {
  const file = join(ctx.tmpDirReady(), `pending-${process.pid}-${randomHex(6)}.json`);
  writeJsonAtomic(file, what, 0o600);
  return { done: () => rmSync(file, { force: true }) };
}

function deadScratch(name: string): boolean {
  const m = SCRATCH.exec(name);
  return m !== null && !existsSync(`/proc/${m[1]}`);
}

/** With the storage lock held. */
function sweepScratch(ctx: EngineContext): void {
  let names: string[];
  try {
    names = readdirSync(ctx.tmpDir);
  } catch {
    return;
  }
  const dead: Pending[] = [];
  const live: Pending[] = [];
  for (const n of names.filter((x) => NOTE.test(x))) {
    let note: Pending | undefined;
    try {
      note = readJsonIfExists<Pending>(join(ctx.tmpDir, n));
    } catch {
      note = undefined; // unreadable: nothing to act on
    }
    if (note && Array.isArray(note.blobs) && Array.isArray(note.layers)) (deadScratch(n) ? dead : live).push(note);
  }
  if (dead.length) {
    // What a live note lists may be another process's work in progress.
    const keep = new Set(live.flatMap((p) => [...p.blobs, ...p.layers]));
    removeUnused(
      ctx,
      dead.flatMap((p) => p.blobs).filter((d) => !keep.has(d)),
      dead.flatMap((p) => p.layers).filter((d) => !keep.has(d)),
    );
  }
  for (const n of names) if (deadScratch(n)) rmSync(join(ctx.tmpDir, n), { recursive: true, force: true });
}

/** Removes those of the given blobs and layers that no image references (storage lock held). */
function removeUnused(ctx: EngineContext, blobs: Iterable<string>, layers: Iterable<string>): void {
  const images = ctx.images.list();
  const usedLayers = new Set(images.flatMap((i) => i.layers));
  const usedBlobs = new Set(images.flatMap(blobsOf));
  for (const d of layers) if (!usedLayers.has(d) && /^sha256:[0-9a-f]{64}$/.test(d)) ctx.layers.remove(d);
  for (const d of blobs) if (!usedBlobs.has(d) && /^sha256:[0-9a-f]{64}$/.test(d)) ctx.blobs.remove(d);
}

/**
 * Runs fn, which may add blobs and layers; if it fails, removes those it
 * added that no image references, so a failed transfer stores nothing.
 */
export async function rollbackOnFailure<T>(ctx: EngineContext, fn: (added: { blobs: Set<string>; layers: Set<string> }) => Promise<T>): Promise<T> {
  const added = { blobs: new Set<string>(), layers: new Set<string>() };
  try {
    return await fn(added);
  } catch (err) {
    withLock(ctx.layers.lockPath, () => removeUnused(ctx, added.blobs, added.layers));
    throw err;
  }
}

export async function ingestImage(ctx: EngineContext, img: IncomingImage): Promise<ImageRecord> {
  ctx.ensureDirs();
  const diffIDs = img.parsedConfig.rootfs.diff_ids;
  if (diffIDs.length !== img.layers.length) {
    throw new Error(`the image config lists ${diffIDs.length} layers but the image has ${img.layers.length}`);
  }
  const configDigest = digestOf(img.config);
  const descriptors: BlobDescriptor[] = [];
  for (let i = 0; i < img.layers.length; i++) {
    const d = await ingestLayer(ctx, img.layers[i], diffIDs[i]);
    descriptors.push(d);
    img.onLayer?.(i, d);
  }
  ctx.blobs.putBytes(configDigest, img.config);
  const manifest = img.manifest ?? {
    mediaType: MEDIA.ociManifest,
    bytes: Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: img.config.length },
        layers: descriptors.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size })),
      }),
    ),
  };
  const manifestDigest = digestOf(manifest.bytes);
  ctx.blobs.putBytes(manifestDigest, manifest.bytes);
  if (img.list) ctx.blobs.putBytes(img.list.digest, img.list.bytes);
  return ctx.images.add(configDigest.slice(7), img.config, img.parsedConfig, img.names, {
    digest: manifestDigest,
    listDigest: img.list?.digest,
    manifestMediaType: manifest.mediaType,
    layerBlobs: descriptors.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size })),
    source: img.source,
  });
}
