// Writing `docker save` archives (the docker-archive: transport) that Docker
// and Podman load: manifest.json, repositories, <config-hex>.json, and each
// layer as an uncompressed tar named by its diff_id, plus the legacy
// per-layer directories older loaders look for. Layers are decompressed and
// checked against the config's rootfs.diff_ids before they enter the archive.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { digestOf, verifyingStream } from '../digest';
import { parseReference } from '../reference';
import { ImageConfigSchema, parseJson } from '../schema';
import type { ImageParts } from '../types';
import { TarFileWriter, checkParts } from './oci-layout';

export class ArchiveWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveWriteError';
  }
}

const HEX = (digest: string) => digest.slice('sha256:'.length);
/** Fields of the image config that `docker save` copies into the top legacy layer's json. */
const LEGACY_CONFIG_FIELDS = ['architecture', 'config', 'container', 'container_config', 'created', 'docker_version', 'os'];

export interface DockerArchiveOptions {
  /**
   * How RepoTags and `repositories` spell names: 'docker' as Docker shows them (docker.io/library/x:t -> x:t,
   * the default), 'full' as Podman's own `save` does. Docker loads both; Podman 4 loads a short name
   * (x:t) as localhost/x:t, so only 'full' round-trips docker.io names through Podman.
   */
  names?: 'docker' | 'full';
}

/** A name as Docker shows it: docker.io/library/x:t -> x:t, docker.io/u/x:t -> u/x:t, others in full. */
function dockerName(full: string, form: 'docker' | 'full'): { repo: string; tag: string } | undefined {
  let r;
  try {
    r = parseReference(full);
  } catch {
    return undefined;
  }
  // RepoTags hold name:tag only; a digest-only name cannot be written there.
  if (r.tag === undefined) return undefined;
  let repo = `${r.registry}/${r.repository}`;
  if (form === 'docker' && r.registry === 'docker.io') {
    repo = r.repository.startsWith('library/') && !r.repository.slice(8).includes('/') ? r.repository.slice(8) : r.repository;
  }
  return { repo, tag: r.tag };
}

/** Docker's chain IDs: the ID of a layer stack depends on every layer below it. */
function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : digestOf(`${out[out.length - 1]} ${d}`));
  return out;
}

class Hasher extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
}

/** Reads at least `n` bytes (or all there is) from an iterator. */
async function readHead(it: AsyncIterator<Buffer>, n: number): Promise<{ head: Buffer; ended: boolean }> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const r = await it.next();
    if (r.done) return { head: Buffer.concat(chunks), ended: true };
    chunks.push(r.value);
    length += r.value.length;
  }
  return { head: Buffer.concat(chunks), ended: false };
}

async function* rejoin(head: Buffer, it: AsyncIterator<Buffer>, ended: boolean): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  if (ended) return;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield r.value;
  }
}

/**
 * Decompresses one layer blob into `path` (the blob checked against its descriptor on the way),
 * and checks the result against the config's diff_id. Returns the uncompressed size.
 */
async function uncompressLayer(
  layer: ImageParts['layers'][number],
  diffId: string,
  path: string,
  what: string,
): Promise<number> {
  const { digest, size, mediaType } = layer.descriptor;
  if (/zstd/.test(mediaType)) {
    throw new ArchiveWriteError(`${what} (${digest}) is zstd-compressed: writing zstd layers to a docker-archive is not supported yet`);
  }
  const verifier = verifyingStream(digest, size);
  const source = layer.open();
  const stop = () => {
    verifier.destroy();
    (source as Partial<Readable>).destroy?.();
  };
  source.on('error', (err: Error) => verifier.destroy(err));
  source.pipe(verifier);
  const it = (verifier as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const hasher = new Hasher();
  try {
    const { head, ended } = await readHead(it, 4);
    const gzip = head[0] === 0x1f && head[1] === 0x8b;
    // Media types are not always honest about compression: the content decides.
    if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) {
      throw new ArchiveWriteError(`${what} (${digest}) is zstd-compressed: writing zstd layers to a docker-archive is not supported yet`);
    }
    const input = Readable.from(rejoin(head, it, ended));
    const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    if (gzip) await pipeline(input, createGunzip(), hasher, out);
    else await pipeline(input, hasher, out);
  } catch (err) {
    stop();
    if (err instanceof ArchiveWriteError) throw err;
    const why = (err as Error).message;
    const zlib = String((err as NodeJS.ErrnoException).code ?? '').startsWith('Z_');
    throw new ArchiveWriteError(`cannot read ${what} (${digest}): ${zlib ? `gzip: ${why}` : why}`);
  }
  const actual = `sha256:${hasher.hash.digest('hex')}`;
  if (actual !== diffId) {
    throw new ArchiveWriteError(
      `${what} (${digest}): its uncompressed content has digest ${actual}, but the image config's rootfs.diff_ids says ${diffId}`,
    );
  }
  return hasher.size;
}

/**
 * Writes images as a `docker save` archive that Docker and Podman load. Identical layers of
 * several images are stored once. The archive is written to a temporary file, then renamed.
 */
export async function writeDockerArchive(
  file: string,
  images: ImageParts[],
  options: DockerArchiveOptions = {},
): Promise<void> {
  const plans = images.map((parts) => {
    checkParts(parts);
    const config = parseJson(ImageConfigSchema, parts.config, `image config ${parts.configDescriptor.digest}`);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== parts.layers.length) {
      throw new ArchiveWriteError(
        `image ${parts.configDescriptor.digest} has ${parts.layers.length} layers but its config lists ${diffIds.length} diff_ids`,
      );
    }
    return { parts, diffIds, config: JSON.parse(parts.config.toString('utf8')) as Record<string, unknown> };
  });

  const scratch = await mkdtemp(join(dirname(file), `.${basename(file)}.layers-`));
  const out = new TarFileWriter(file);
  try {
    const written = new Set<string>();
    const manifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    let scratchCount = 0;

    for (const { parts, diffIds, config } of plans) {
      const id = parts.configDescriptor.digest;
      const configName = `${HEX(id)}.json`;
      if (!written.has(configName)) {
        written.add(configName);
        await out.file(configName, parts.config);
      }

      const layerNames: string[] = [];
      for (let i = 0; i < parts.layers.length; i++) {
        const name = `${HEX(diffIds[i])}.tar`;
        layerNames.push(name);
        if (written.has(name)) continue;
        const tmp = join(scratch, `layer-${++scratchCount}`);
        const size = await uncompressLayer(parts.layers[i], diffIds[i], tmp, `layer ${i + 1} of image ${id}`);
        await out.stream(name, size, createReadStream(tmp));
        await rm(tmp, { force: true });
        written.add(name);
      }

      // The legacy layout: one directory per layer stack, linking to the shared layer tar.
      const chain = chainIds(diffIds);
      let parent: string | undefined;
      for (let i = 0; i < chain.length; i++) {
        const layerId = HEX(chain[i]);
        if (!written.has(`${layerId}/`)) {
          written.add(`${layerId}/`);
          const json: Record<string, unknown> = { id: layerId };
          if (parent !== undefined) json.parent = parent;
          if (i === chain.length - 1) {
            for (const f of LEGACY_CONFIG_FIELDS) if (config[f] !== undefined) json[f] = config[f];
          }
          await out.directory(`${layerId}/`);
          await out.file(`${layerId}/VERSION`, Buffer.from('1.0'));
          await out.file(`${layerId}/json`, Buffer.from(JSON.stringify(json)));
          await out.symlink(`${layerId}/layer.tar`, `../${layerNames[i]}`);
        }
        parent = layerId;
      }

      const tags: string[] = [];
      for (const full of parts.names) {
        const n = dockerName(full, options.names ?? 'docker');
        if (!n) continue;
        const tag = `${n.repo}:${n.tag}`;
        if (!tags.includes(tag)) tags.push(tag);
        if (parent !== undefined) (repositories[n.repo] ??= {})[n.tag] = parent;
      }
      manifest.push({ Config: configName, RepoTags: tags, Layers: layerNames });
    }

    // Loaders look for these two by name; they go last, after everything they point to.
    await out.file('manifest.json', Buffer.from(JSON.stringify(manifest)));
    await out.file('repositories', Buffer.from(JSON.stringify(repositories)));
    await out.commit();
  } catch (err) {
    await out.discard();
    throw err;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
