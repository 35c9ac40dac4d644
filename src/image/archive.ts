// Reading image archives for `selkie load`: docker-archive (`docker save`) and
// oci-archive (a tarred OCI image layout). The archive is streamed once into a
// scratch directory; entry names are attacker-controlled, so they are only ever
// keys of a map, never paths: content lands in files with generated names.
import { goArch } from './platform';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { mkdtemp, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import type * as z from 'zod/mini';
import { digestOf, verifyingStream } from './digest';
import { formatReference, localName, parseReference } from './reference';
import {
  DockerArchiveManifestSchema,
  ImageConfigSchema,
  MAX_DOCUMENT_BYTES,
  MediaTypes,
  OciIndexSchema,
  OciLayoutSchema,
  OciManifestSchema,
  parseJson,
  type Descriptor,
  type Platform,
} from './schema';

export interface ArchiveLayer {
  /** compressed or uncompressed blob as stored in the archive */
  open(): NodeJS.ReadableStream;
  /** digest the blob must have, when the format says (OCI blobs, docker-archive blobs/sha256/...) */
  digest?: string;
  mediaType?: string;
}

export interface ArchiveImage {
  /** raw JSON bytes, already validated */
  config: Buffer;
  /** sha256 of the config bytes = the image ID */
  configDigest: string;
  layers: ArchiveLayer[];
  /** full names (`docker.io/library/busybox:latest`, `localhost/mini:1`) */
  names: string[];
  /** the image manifest, when the archive has one (oci-archive) */
  manifest?: Buffer;
  manifestDigest?: string;
}

export interface ArchiveContents {
  format: 'docker-archive' | 'oci-archive';
  images: ArchiveImage[];
}

export interface WantedPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ReadArchiveOptions {
  /** which image of a multi-platform index to take; the host's by default */
  platform?: WantedPlatform;
}

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

/** More entries than any real image archive has; bounds the files made in scratch. */
const MAX_ENTRIES = 100_000;
const MAX_LINK_HOPS = 16;
const MAX_INDEX_DEPTH = 8;
const OCI_LAYOUT_VERSION = '1.0.0';
const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
const ANNOTATION_CONTAINERD_NAME = 'io.containerd.image.name';


/** The platform an image must have to run here, in OCI (Go) terms. */
export function hostPlatform(): WantedPlatform {
  const architecture = goArch();
  if (architecture === 'arm') {
    const armVersion = (process.config.variables as unknown as Record<string, unknown>).arm_version;
    return { os: 'linux', architecture, variant: armVersion ? `v${String(armVersion)}` : undefined };
  }
  return { os: 'linux', architecture };
}

export async function readImageArchive(
  file: string,
  scratch: string,
  options: ReadArchiveOptions = {},
): Promise<ArchiveContents> {
  const entries = await unpack(file, scratch);
  // A `docker save` from Docker 25+ is both formats at once; its manifest.json is the simpler view.
  if (entries.has('manifest.json')) return { format: 'docker-archive', images: readDockerArchive(entries) };
  if (entries.has('index.json')) {
    return { format: 'oci-archive', images: readOciArchive(entries, options.platform ?? hostPlatform()) };
  }
  throw new ArchiveError(
    `${file} is neither a docker-archive (it has no manifest.json) nor an oci-archive (it has no index.json)`,
  );
}

// ---- entry names ----------------------------------------------------------

/**
 * The lexical, archive-relative form of an entry name, resolved against `base`
 * (the components of a directory inside the archive). undefined when the name
 * is empty or climbs out of the archive's root.
 */
function cleanName(name: string, base: readonly string[] = []): string | undefined {
  if (name.includes('\0')) return undefined;
  const parts = [...base];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
      continue;
    }
    parts.push(c);
  }
  return parts.length > 0 ? parts.join('/') : undefined;
}

/** Where each entry's content went in scratch, by cleaned entry name; links are name-to-name. */
class EntryMap {
  private readonly files = new Map<string, string>();
  private readonly links = new Map<string, string>();

  addFile(name: string, path: string): void {
    this.links.delete(name);
    this.files.set(name, path);
  }

  /** A symlink's target is relative to the link's directory; it only ever names another entry. */
  addSymlink(name: string, target: string): void {
    const dir = name.split('/').slice(0, -1);
    const resolved = cleanName(target, target.startsWith('/') ? [] : dir);
    if (resolved === undefined) return;
    this.files.delete(name);
    this.links.set(name, resolved);
  }

  /** A hard link's target is archive-relative. */
  addHardlink(name: string, target: string): void {
    const resolved = cleanName(target);
    if (resolved === undefined) return;
    this.files.delete(name);
    this.links.set(name, resolved);
  }

  has(name: string): boolean {
    return this.files.has(name) || this.links.has(name);
  }

  /** The scratch file holding `name`'s content, following links within the archive only. */
  path(name: string): string | undefined {
    let current = name;
    for (let hops = 0; hops <= MAX_LINK_HOPS; hops++) {
      const file = this.files.get(current);
      if (file !== undefined) return file;
      const next = this.links.get(current);
      if (next === undefined) return undefined;
      current = next;
    }
    throw new ArchiveError(`too many levels of links at "${name}" in the archive`);
  }
}

// ---- unpacking --------------------------------------------------------------

async function readHead(file: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new ArchiveError(`cannot open archive ${file}: ${(err as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function compressionOf(head: Buffer): 'gzip' | 'bzip2' | 'xz' | 'zstd' | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  return undefined;
}

async function drain(entry: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of entry) {
    /* discard */
  }
}

/** Writes one entry's content to a new scratch file (never an existing one). */
async function store(entry: AsyncIterable<unknown>, path: string): Promise<void> {
  let out;
  try {
    out = await open(path, 'wx', 0o600);
  } catch (err) {
    throw new ArchiveError(`cannot write to the scratch directory: ${(err as Error).message}`);
  }
  try {
    for await (const chunk of entry) {
      try {
        await out.write(chunk as Buffer);
      } catch (err) {
        throw new ArchiveError(`cannot write to the scratch directory: ${(err as Error).message}`);
      }
    }
  } finally {
    await out.close();
  }
}

async function unpack(file: string, scratch: string): Promise<EntryMap> {
  const compression = compressionOf(await readHead(file));
  if (compression !== undefined && compression !== 'gzip') {
    throw new ArchiveError(`${file} is compressed with ${compression}; decompress it first`);
  }
  // A directory of our own inside scratch, so a reused scratch never collides.
  const dir = await mkdtemp(join(scratch, 'archive-'));
  const entries = new EntryMap();
  const source = createReadStream(file);
  const extract = tar.extract();
  const fail = (err: Error) => extract.destroy(err);
  source.on('error', fail);
  let input: Readable = source;
  if (compression === 'gzip') {
    const gunzip = createGunzip();
    gunzip.on('error', fail);
    input = source.pipe(gunzip);
  }
  input.pipe(extract as unknown as NodeJS.WritableStream);

  let count = 0;
  try {
    for await (const entry of extract) {
      count++;
      if (count > MAX_ENTRIES) throw new ArchiveError(`${file} has more than ${MAX_ENTRIES} entries; refusing it`);
      const { header } = entry;
      const name = cleanName(header.name);
      if (name !== undefined && (header.type === 'file' || header.type === 'contiguous-file')) {
        // The name is generated; the entry's own name is only a map key.
        const path = join(dir, `entry-${count}`);
        await store(entry, path);
        entries.addFile(name, path);
        continue;
      }
      if (name !== undefined && header.linkname) {
        if (header.type === 'symlink') entries.addSymlink(name, header.linkname);
        else if (header.type === 'link') entries.addHardlink(name, header.linkname);
      }
      // Directories, devices, FIFOs and the rest carry nothing an image needs.
      await drain(entry);
    }
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    const why = (err as Error).message;
    if (count === 0) throw new ArchiveError(`${file} is not a tar archive (${why})`);
    throw new ArchiveError(`${file}: corrupt tar archive after ${count} entries: ${why}`);
  } finally {
    source.destroy();
    if (input !== source) input.destroy();
  }
  if (count === 0) throw new ArchiveError(`${file} is not an image archive: it is empty`);
  return entries;
}

// ---- reading entries ----------------------------------------------------------

function requirePath(entries: EntryMap, name: string, what: string): string {
  const path = entries.path(name);
  if (path === undefined) throw new ArchiveError(`${what} "${name}" is missing from the archive`);
  return path;
}

/** A JSON entry's bytes, refusing oversized ones before reading them. */
function readDocument(entries: EntryMap, name: string, what: string): Buffer {
  const path = requirePath(entries, name, what);
  const size = statSync(path).size;
  if (size > MAX_DOCUMENT_BYTES) {
    throw new ArchiveError(
      `invalid ${what} "${name}": ${size} bytes is over the ${MAX_DOCUMENT_BYTES / 1024 / 1024} MiB limit for a JSON document`,
    );
  }
  return readFileSync(path);
}

function parseDocument<T>(schema: z.ZodMiniType<T>, bytes: Buffer, what: string, name: string): T {
  try {
    return parseJson(schema, bytes, `${what} "${name}"`);
  } catch (err) {
    throw new ArchiveError((err as Error).message);
  }
}

/** A blob's stream; checked against `digest` (and `size`) while it is read when the format gives one. */
function openBlob(path: string, digest?: string, size?: number): NodeJS.ReadableStream {
  const file = createReadStream(path);
  if (digest === undefined) return file;
  const verifier = verifyingStream(digest, size);
  file.on('error', (err) => verifier.destroy(err));
  return file.pipe(verifier);
}

function checkLayerCount(layers: number, config: Buffer, configName: string): void {
  const parsed = parseDocument(ImageConfigSchema, config, 'image config', configName);
  const diffIds = parsed.rootfs.diff_ids.length;
  if (layers !== diffIds) {
    throw new ArchiveError(
      `image config "${configName}" lists ${diffIds} layer diff_ids but the image has ${layers} layers`,
    );
  }
}

function uniq(names: string[]): string[] {
  return [...new Set(names)];
}

// ---- docker-archive ---------------------------------------------------------

const CONFIG_FILE_NAME = /(?:^|\/)([a-f0-9]{64})\.json$/;
const BLOB_NAME = /^blobs\/sha256\/([a-f0-9]{64})$/;

/** The digest an entry must have because of its name, when its name says. */
function digestFromName(name: string, pattern: RegExp): string | undefined {
  const m = pattern.exec(name);
  return m ? `sha256:${m[1]}` : undefined;
}

function archiveName(raw: string, what: string): string {
  const name = cleanName(raw);
  if (name === undefined) throw new ArchiveError(`manifest.json names an invalid ${what} path ${JSON.stringify(raw)}`);
  return name;
}

function readDockerArchive(entries: EntryMap): ArchiveImage[] {
  const manifest = parseDocument(
    DockerArchiveManifestSchema,
    readDocument(entries, 'manifest.json', 'manifest.json'),
    'manifest.json',
    'manifest.json',
  );
  if (manifest.length === 0) throw new ArchiveError('manifest.json of the docker-archive lists no images');
  return manifest.map((item) => {
    const configName = archiveName(item.Config, 'config');
    const config = readDocument(entries, configName, 'image config');
    const configDigest = digestOf(config);
    const named = digestFromName(configName, BLOB_NAME) ?? digestFromName(configName, CONFIG_FILE_NAME);
    if (named !== undefined && named !== configDigest) {
      throw new ArchiveError(`digest mismatch for ${named}: got ${configDigest} (image config "${configName}")`);
    }
    const layers = item.Layers.map((raw): ArchiveLayer => {
      const name = archiveName(raw, 'layer');
      const path = requirePath(entries, name, 'layer');
      const digest = digestFromName(name, BLOB_NAME);
      return digest === undefined ? { open: () => openBlob(path) } : { open: () => openBlob(path, digest), digest };
    });
    checkLayerCount(layers.length, config, configName);
    const names = (item.RepoTags ?? []).map((tag) => {
      try {
        // docker save writes Docker's names: a short name means docker.io.
        return formatReference(parseReference(tag));
      } catch (err) {
        throw new ArchiveError(`manifest.json has an invalid RepoTags entry ${JSON.stringify(tag)}: ${(err as Error).message}`);
      }
    });
    return { config, configDigest, layers, names: uniq(names) };
  });
}

// ---- oci-archive ----------------------------------------------------------------

const MANIFEST_TYPES = new Set<string>([MediaTypes.ociManifest, MediaTypes.dockerManifest]);
const INDEX_TYPES = new Set<string>([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);
const CONFIG_TYPES = new Set<string>([MediaTypes.ociConfig, MediaTypes.dockerConfig]);

function blobName(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

/** A JSON blob named by a descriptor, checked against the descriptor's size and digest. */
function readBlobDocument(entries: EntryMap, desc: Descriptor, what: string): Buffer {
  if (desc.size > MAX_DOCUMENT_BYTES) {
    throw new ArchiveError(
      `invalid ${what} ${desc.digest}: ${desc.size} bytes is over the ${MAX_DOCUMENT_BYTES / 1024 / 1024} MiB limit for a JSON document`,
    );
  }
  const bytes = readDocument(entries, blobName(desc.digest), `${what} blob`);
  const actual = digestOf(bytes);
  if (actual !== desc.digest) throw new ArchiveError(`digest mismatch for ${desc.digest}: got ${actual} (${what})`);
  if (bytes.length !== desc.size) {
    throw new ArchiveError(`size mismatch for ${desc.digest}: expected ${desc.size} bytes, got ${bytes.length} (${what})`);
  }
  return bytes;
}

function platformText(p: Platform | WantedPlatform | undefined): string {
  if (!p) return 'unknown platform';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function isUsable(desc: Descriptor): boolean {
  if (!MANIFEST_TYPES.has(desc.mediaType) && !INDEX_TYPES.has(desc.mediaType)) return false;
  // Build attestations ride along in indexes as pseudo-images for platform unknown/unknown.
  return desc.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest';
}

/** The entry for `want` among platform variants: exact variant first, then any variant. */
function pickPlatform(candidates: Descriptor[], want: WantedPlatform, where: string): Descriptor {
  const sameArch = candidates.filter(
    (d) => d.platform?.os === want.os && d.platform?.architecture === want.architecture,
  );
  const exact = sameArch.find((d) => want.variant === undefined || d.platform?.variant === want.variant);
  const chosen = exact ?? sameArch.find((d) => d.platform?.variant === undefined) ?? sameArch[0];
  if (chosen) return chosen;
  const has = candidates.map((d) => platformText(d.platform)).join(', ');
  throw new ArchiveError(`${where} has no image for ${platformText(want)} (it has: ${has})`);
}

/** The image name an index entry's annotations give, as Podman reads them; undefined when none or unusable. */
function nameFromAnnotations(annotations: Record<string, string> | undefined): string | undefined {
  // containerd/buildkit put the full name here and only the tag in ref.name.
  const raw = annotations?.[ANNOTATION_CONTAINERD_NAME] || annotations?.[ANNOTATION_REF_NAME];
  if (!raw) return undefined;
  try {
    return localName(raw);
  } catch {
    // ref.name's grammar is wider than an image name's; such an image loads unnamed.
    return undefined;
  }
}

function readOciArchive(entries: EntryMap, want: WantedPlatform): ArchiveImage[] {
  if (!entries.has('oci-layout')) throw new ArchiveError('not an OCI image layout: the oci-layout file is missing');
  const layout = parseDocument(OciLayoutSchema, readDocument(entries, 'oci-layout', 'oci-layout'), 'oci-layout', 'oci-layout');
  if (layout.imageLayoutVersion !== OCI_LAYOUT_VERSION) {
    throw new ArchiveError(`unsupported OCI image layout version ${JSON.stringify(layout.imageLayoutVersion)}`);
  }
  const index = parseDocument(OciIndexSchema, readDocument(entries, 'index.json', 'index.json'), 'image index', 'index.json');
  const tops = index.manifests.filter(isUsable);
  if (tops.length === 0) throw new ArchiveError('index.json of the oci-archive lists no images');

  // Entries with a platform are variants of one image (grouped by name); the others are images of their own.
  const groups = new Map<string, Descriptor[]>();
  const chosen: Descriptor[] = [];
  for (const d of tops) {
    if (!d.platform) {
      chosen.push(d);
      continue;
    }
    const key = nameFromAnnotations(d.annotations) ?? '';
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  for (const group of groups.values()) {
    chosen.push(group.length === 1 ? group[0] : pickPlatform(group, want, 'index.json'));
  }

  // The same image listed under several names is one image with several names.
  const byId = new Map<string, ArchiveImage>();
  for (const d of chosen) {
    const image = resolveOci(entries, d, want, 0, []);
    const seen = byId.get(image.configDigest);
    if (seen) seen.names = uniq([...seen.names, ...image.names]);
    else byId.set(image.configDigest, image);
  }
  return [...byId.values()];
}

function resolveOci(
  entries: EntryMap,
  desc: Descriptor,
  want: WantedPlatform,
  depth: number,
  names: string[],
): ArchiveImage {
  const name = nameFromAnnotations(desc.annotations);
  const allNames = name === undefined ? names : [...names, name];
  if (MANIFEST_TYPES.has(desc.mediaType)) return readOciImage(entries, desc, allNames);
  if (depth >= MAX_INDEX_DEPTH) throw new ArchiveError(`image indexes nest more than ${MAX_INDEX_DEPTH} deep`);
  const where = `image index ${desc.digest}`;
  const index = parseDocument(OciIndexSchema, readBlobDocument(entries, desc, 'image index'), 'image index', desc.digest);
  const candidates = index.manifests.filter(isUsable);
  let next: Descriptor;
  if (candidates.length === 1) next = candidates[0];
  else if (candidates.length === 0) throw new ArchiveError(`${where} lists no images`);
  else if (candidates.some((d) => d.platform)) next = pickPlatform(candidates, want, where);
  else throw new ArchiveError(`${where} lists ${candidates.length} images without platforms; cannot choose one`);
  return resolveOci(entries, next, want, depth + 1, allNames);
}

function readOciImage(entries: EntryMap, desc: Descriptor, names: string[]): ArchiveImage {
  const manifest = readBlobDocument(entries, desc, 'image manifest');
  const parsed = parseDocument(OciManifestSchema, manifest, 'image manifest', desc.digest);
  if (!CONFIG_TYPES.has(parsed.config.mediaType)) {
    throw new ArchiveError(
      `image manifest ${desc.digest} is not a container image (its config has media type ${parsed.config.mediaType})`,
    );
  }
  const config = readBlobDocument(entries, parsed.config, 'image config');
  const layers = parsed.layers.map((layer): ArchiveLayer => {
    const path = requirePath(entries, blobName(layer.digest), 'layer blob');
    return {
      open: () => openBlob(path, layer.digest, layer.size),
      digest: layer.digest,
      mediaType: layer.mediaType,
    };
  });
  checkLayerCount(layers.length, config, parsed.config.digest);
  return {
    config,
    configDigest: parsed.config.digest,
    layers,
    names: uniq(names),
    manifest,
    manifestDigest: desc.digest,
  };
}
