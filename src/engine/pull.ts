// `pull`: from a registry (short names resolved through registries.conf,
// mirrors tried in order) or any other transport, into the store.  Every
// document is validated, every blob verified while it streams; layers are
// fetched and extracted a few at a time, and what is already here is skipped,
// so a re-pull costs one HEAD of the manifest (see unchangedImage).
import { basename } from 'node:path';
import { loadRegistriesConfig, pullSources, recordAlias, resolveShortName, unpromptedCandidates, type RegistriesConfig } from '../config/registries';
import { verifyingStream } from '../image/digest';
import { choosePlatform, hostPlatformOf, type Platform } from '../image/platform';
import { formatReference, localName, parseReference, type ImageReference } from '../image/reference';
import { findCredentials, type Credentials } from '../image/registry/auth-file';
import { RegistryClient, RegistryError } from '../image/registry/client';
import type { ImageRecord } from '../image/record';
import { parseTransportRef } from '../image/transports/names';
import { MEDIA, type ImageParts } from '../image/types';
import { recordImageEvent } from '../state/events';
import type { EngineContext } from './context';
import { trace } from '../trace';
import { EngineError } from './errors';
import { ingestImage, ingestLayer, LAYER_OPTS, rollbackOnFailure, sweepLeftovers } from './ingest';

export interface PullOptions {
  platform?: Platform;
  tlsVerify?: boolean;
  authfile?: string;
  creds?: Credentials;
  /** on a TTY, asked which candidate a short name means (enforcing mode) */
  prompt?: (name: string, candidates: string[]) => Promise<string | undefined>;
  progress?: PullProgress;
}

export interface PullProgress {
  start(ref: string): void;
  layer(digest: string, size: number): { advance(bytes: number): void; done(skipped: boolean): void };
  finish(): void;
}

/** Podman's CLI credentials: "user:password" or just "user" (then an empty password). */
export function parseCreds(text: string): Credentials {
  const i = text.indexOf(':');
  const username = i < 0 ? text : text.slice(0, i);
  if (!username) throw new EngineError('invalid --creds: the user name must not be empty');
  return { username, password: i < 0 ? '' : text.slice(i + 1) };
}

/**
 * Bounded concurrency: runs fn over items, `limit` at a time.  After a
 * failure nothing new starts, and it waits for what is running before it
 * rethrows, so the caller's clean-up never races a transfer still writing.
 */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (err) {
        failure ??= { err };
      }
    }
  });
  await Promise.all(workers);
  if (failure) throw failure.err;
}

/** Turns an image from another transport into the store's form. */
async function ingestParts(ctx: EngineContext, parts: ImageParts, names: string[]): Promise<ImageRecord> {
  const { ImageConfigSchema, parseJson } = await import('../image/schema');
  return ingestImage(ctx, {
    config: parts.config,
    parsedConfig: parseJson(ImageConfigSchema, parts.config, 'image config'),
    layers: parts.layers.map((l) => ({ digest: l.descriptor.digest, size: l.descriptor.size, mediaType: l.descriptor.mediaType, open: () => l.open() })),
    manifest: { bytes: parts.manifest, mediaType: parts.manifestMediaType },
    names,
  });
}

export async function pullImage(ctx: EngineContext, text: string, opts: PullOptions = {}): Promise<ImageRecord> {
  const rec = await pullFrom(ctx, text, opts);
  recordImageEvent(ctx, 'pull', rec.id, text);
  return rec;
}

async function pullFrom(ctx: EngineContext, text: string, opts: PullOptions): Promise<ImageRecord> {
  const t = parseTransportRef(text);
  switch (t.transport) {
    case 'docker':
      return pullFromRegistries(ctx, t.reference, opts);
    case 'containers-storage': {
      const rec = ctx.images.lookup(t.reference);
      if (!rec) throw new EngineError(`${t.reference}: image not known`);
      return rec;
    }
    case 'oci': {
      const { readOciLayout } = await import('../image/transports/oci-layout');
      const parts = await readOciLayout(t.path, t.reference);
      const name = t.reference && /[/:]/.test(t.reference) ? localName(t.reference) : localName(`${basename(t.path).toLowerCase()}:${t.reference ?? 'latest'}`);
      return ingestParts(ctx, parts, [name]);
    }
    case 'dir': {
      const { readDir } = await import('../image/transports/dir');
      return ingestParts(ctx, await readDir(t.path), []);
    }
    case 'oci-archive':
    case 'docker-archive': {
      const { loadImages } = await import('./images');
      const names = await loadImages(ctx, t.path);
      const rec = ctx.images.lookup(t.reference ?? names[0]);
      if (!rec) throw new EngineError(`${text}: no image found in the archive`);
      return rec;
    }
  }
}

async function pullFromRegistries(ctx: EngineContext, name: string, opts: PullOptions): Promise<ImageRecord> {
  const cfg = loadRegistriesConfig();
  trace('pull: registries.conf read');
  const candidates = await candidatesFor(cfg, name, opts);
  const errors: string[] = [];
  for (const candidate of candidates) {
    const ref = parseReference(candidate);
    for (const source of pullSources(cfg, ref)) {
      try {
        return await pullOne(ctx, ref, source, opts);
      } catch (err) {
        if (candidates.length === 1 && pullSources(cfg, ref).length === 1) {
          if (err instanceof RegistryError) throw new EngineError(`initializing source docker://${source.reference}: ${err.message}`);
          throw err;
        }
        errors.push(`${source.reference}: ${(err as Error).message}`);
      }
    }
  }
  throw new EngineError(`initializing source docker://${name}: ${errors.join('; ')}`);
}

async function candidatesFor(cfg: RegistriesConfig, name: string, opts: PullOptions): Promise<string[]> {
  let res;
  try {
    res = resolveShortName(cfg, name);
  } catch (err) {
    throw new EngineError((err as Error).message);
  }
  if (!res.needsPrompt) return res.candidates;
  if (!opts.prompt) {
    // enforcing fails here; permissive tries every candidate in order
    try {
      return unpromptedCandidates(res);
    } catch (err) {
      throw new EngineError((err as Error).message);
    }
  }
  const chosen = await opts.prompt(name, res.candidates);
  if (!chosen) throw new EngineError(`short-name "${name}": no image chosen`);
  recordAlias(name, chosen.replace(/:[^:/]+$/, ''));
  return [chosen];
}

interface Source {
  reference: string;
  registry: string;
  repository: string;
  insecure: boolean;
}

async function pullOne(ctx: EngineContext, ref: ImageReference, source: Source, opts: PullOptions): Promise<ImageRecord> {
  const client = new RegistryClient({
    registry: source.registry,
    insecure: source.insecure,
    tlsVerify: opts.tlsVerify,
    credentials: opts.creds ?? findCredentials(source.registry, source.repository, opts.authfile),
  });
  try {
    return await pullWith(ctx, client, ref, source, opts);
  } finally {
    await client.close();
  }
}

/** rec, if every layer of it is here. */
function complete(ctx: EngineContext, rec: ImageRecord | undefined): ImageRecord | undefined {
  return rec && rec.layers.every((d) => ctx.layers.has(d)) ? rec : undefined;
}

/**
 * A re-pull of a tag this store holds first asks the registry for the tag's
 * digest alone (HEAD, no body; Docker Hub does not count it against the pull
 * limit).  When that digest is a manifest an image here has, or an index
 * kept here whose entry for the wanted platform is one, with every layer,
 * nothing is fetched, parsed or verified again: the bytes a digest names
 * were verified when they arrived.  Anything else, a failed HEAD included,
 * goes on to the full pull, which reports what is wrong.
 */
async function unchangedImage(ctx: EngineContext, client: RegistryClient, ref: ImageReference, repo: string, names: string[], want: Platform): Promise<ImageRecord | undefined> {
  if (ref.digest || !names.some((n) => ctx.images.lookup(n))) return undefined;
  let head;
  try {
    head = await client.headManifest(repo, ref.tag ?? 'latest');
  } catch {
    return undefined;
  }
  if (!head) return undefined;
  const images = ctx.images.list();
  return complete(ctx, images.find((i) => i.digest === head.digest) ?? ctx.images.chosenFromIndex(head.digest, want, images));
}

/** Everything is here: only the name may be new. */
function reuseImage(ctx: EngineContext, rec: ImageRecord, names: string[], source: Source, opts: PullOptions): ImageRecord {
  if (opts.progress) {
    opts.progress.start(source.reference);
    for (const b of rec.layerBlobs ?? []) opts.progress.layer(b.digest, b.size).done(true);
    opts.progress.finish();
  }
  for (const n of names) if (!rec.names.includes(n)) ctx.images.tag(rec.id, n);
  trace('pull: present');
  return names.every((n) => rec.names.includes(n)) ? rec : ctx.images.get(rec.id)!;
}

async function pullWith(ctx: EngineContext, client: RegistryClient, ref: ImageReference, source: Source, opts: PullOptions): Promise<ImageRecord> {
  const repo = source.repository;
  const names = ref.tag || !ref.digest ? [formatReference({ ...ref, digest: undefined, tag: ref.tag ?? 'latest' })] : [];
  const want = opts.platform ?? hostPlatformOf();
  trace('pull: client ready');
  const unchanged = await unchangedImage(ctx, client, ref, repo, names, want);
  if (unchanged) return reuseImage(ctx, unchanged, names, source, opts);

  // Validation (zod) is loaded only for documents not seen before.
  const { DockerManifestListSchema, DockerManifestSchema, ImageConfigSchema, OciIndexSchema, OciManifestSchema, parseJson } = await import('../image/schema');
  let m = await client.getManifest(repo, ref.digest ?? ref.tag ?? 'latest');
  trace('pull: manifest fetched');
  if (m.mediaType === MEDIA.dockerSchema1 || m.mediaType === MEDIA.dockerSchema1Signed) {
    throw new EngineError(
      `${formatReference(ref)} uses a Docker schema 1 manifest, which selkie does not support (it is deprecated and unsafe); ask its publisher to push it again with a current tool`,
    );
  }
  let list: { digest: string; bytes: Buffer } | undefined;
  if (m.mediaType === MEDIA.ociIndex || m.mediaType === MEDIA.dockerList) {
    const index =
      m.mediaType === MEDIA.ociIndex
        ? parseJson(OciIndexSchema, m.bytes, 'image index')
        : parseJson(DockerManifestListSchema, m.bytes, 'manifest list');
    const entry = choosePlatform(index.manifests as { digest: string; platform?: Platform }[], want);
    list = { digest: m.digest, bytes: m.bytes };
    m = await client.getManifest(repo, entry.digest);
  }
  if (m.mediaType !== MEDIA.ociManifest && m.mediaType !== MEDIA.dockerManifest) {
    throw new EngineError(`${formatReference(ref)}: unsupported manifest type "${m.mediaType}"`);
  }
  // Already verified against its digest, which an image here has: the bytes were validated when they came.
  const existing = complete(ctx, ctx.images.list().find((i) => i.digest === m.digest));
  if (existing) {
    if (list && existing.listDigest !== list.digest) ctx.images.setList(existing.id, list);
    return reuseImage(ctx, existing, names, source, opts);
  }
  const manifest =
    m.mediaType === MEDIA.ociManifest ? parseJson(OciManifestSchema, m.bytes, 'image manifest') : parseJson(DockerManifestSchema, m.bytes, 'image manifest');

  opts.progress?.start(source.reference);
  sweepLeftovers(ctx);
  const rec = await rollbackOnFailure(ctx, async (added) => {
    const cfgDesc = manifest.config;
    if (!ctx.blobs.has(cfgDesc.digest)) {
      const { stream } = await client.getBlob(repo, cfgDesc.digest);
      await ctx.blobs.putStream(cfgDesc.digest, stream, verifyingStream(cfgDesc.digest, cfgDesc.size));
      added.blobs.add(cfgDesc.digest);
    }
    const configBytes = ctx.blobs.read(cfgDesc.digest);
    const config = parseJson(ImageConfigSchema, configBytes, 'image config');
    const diffIDs = config.rootfs.diff_ids;
    if (diffIDs.length !== manifest.layers.length) {
      throw new EngineError(`invalid image: the manifest has ${manifest.layers.length} layers, the config ${diffIDs.length}`);
    }

    // Fetch and extract, up to six layers at a time, each in one pass: the
    // blob is verified against its digest and its content against the diffID.
    await eachLimited(manifest.layers, 6, async (desc, i) => {
      const bar = opts.progress?.layer(desc.digest, desc.size);
      const have = ctx.blobs.has(desc.digest) && ctx.layers.has(diffIDs[i]);
      if (!have) {
        if (!ctx.layers.has(diffIDs[i])) added.layers.add(diffIDs[i]);
        if (!ctx.blobs.has(desc.digest)) {
          const { stream } = await client.getBlob(repo, desc.digest);
          if (bar) stream.on('data', (c: Buffer) => bar.advance(c.length));
          added.blobs.add(desc.digest);
          // Kept and extracted in one pass; both verified (digest, then diffID).
          await ctx.blobs.putStreamAndConsume(desc.digest, stream, verifyingStream(desc.digest, desc.size), async (layerStream) => {
            if (ctx.layers.has(diffIDs[i])) {
              for await (const _ of layerStream as AsyncIterable<unknown>) { /* already extracted: just store the blob */ }
            } else {
              await ctx.layers.put(layerStream, diffIDs[i], LAYER_OPTS);
            }
          });
        } else {
          await ingestLayer(ctx, { digest: desc.digest, size: desc.size, mediaType: desc.mediaType, open: () => ctx.blobs.open(desc.digest) }, diffIDs[i]);
        }
      }
      bar?.done(have);
    });

    return ingestImage(ctx, {
      config: configBytes,
      parsedConfig: config,
      layers: manifest.layers.map((d) => ({ digest: d.digest, size: d.size, mediaType: d.mediaType, open: () => ctx.blobs.open(d.digest) })),
      manifest: { bytes: m.bytes, mediaType: m.mediaType },
      list,
      names,
      source: { registry: source.registry, repository: repo },
    });
  });
  opts.progress?.finish();
  return rec;
}
