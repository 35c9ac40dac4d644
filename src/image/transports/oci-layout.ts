// The `oci:` and `oci-archive:` transports: OCI image layout directories
// (oci-layout, index.json, blobs/sha256/<hex>) and the same layout as a tar file.
// Everything read is checked against its digest; everything written goes to a
// temporary name first, so a reader never sees a partial blob or index.
import { constants, createWriteStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { hostPlatform, type WantedPlatform } from '../archive';
import { digestOf, verifyingStream } from '../digest';
import { localName } from '../reference';
import {
  ImageConfigSchema,
  MAX_DOCUMENT_BYTES,
  OciIndexSchema,
  OciLayoutSchema,
  OciManifestSchema,
  parseJson,
  type Descriptor,
  type OciIndex,
  type OciManifest,
  type Platform,
} from '../schema';
import { writeFileAtomic } from '../../state/atomic';
import { MEDIA, type BlobDescriptor, type ImageParts } from '../types';
import { sourceIndex } from './names';

export class LayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LayoutError';
  }
}

export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
const ANNOTATION_CONTAINERD_NAME = 'io.containerd.image.name';
const OCI_LAYOUT_VERSION = '1.0.0';
const MAX_INDEX_DEPTH = 8;

const MANIFEST_TYPES = new Set<string>([MEDIA.ociManifest, MEDIA.dockerManifest]);
const INDEX_TYPES = new Set<string>([MEDIA.ociIndex, MEDIA.dockerList]);
const CONFIG_TYPES = new Set<string>([MEDIA.ociConfig, MEDIA.dockerConfig]);

// ---- files ------------------------------------------------------------------

function blobPath(dir: string, digest: string): string {
  // Digests are schema-checked (sha256:<64 hex>), so this never leaves blobs/.
  return join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/**
 * Opens a file for reading, refusing anything that is not a regular file
 * (O_NONBLOCK so that a FIFO planted in the layout cannot block the open).
 */
async function openRegular(path: string, what: string) {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LayoutError(`${what} is missing (${path})`);
    throw new LayoutError(`cannot open ${what} ${path}: ${(err as Error).message}`);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new LayoutError(`${what} ${path} is not a regular file`);
  }
  return { fh, size: st.size };
}

/** A whole small file, refusing oversized ones before reading them. */
export async function readSmallFile(path: string, what: string, max = MAX_DOCUMENT_BYTES): Promise<Buffer> {
  const { fh, size } = await openRegular(path, what);
  try {
    if (size > max) throw new LayoutError(`${what} ${path} is ${size} bytes, over the ${max}-byte limit`);
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await fh.read(buf, got, size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** A JSON blob named by a descriptor, checked against its size and digest. */
export async function readBlobDocument(path: string, desc: { digest: string; size: number }, what: string): Promise<Buffer> {
  if (desc.size > MAX_DOCUMENT_BYTES) {
    throw new LayoutError(`${what} ${desc.digest} is ${desc.size} bytes, over the ${MAX_DOCUMENT_BYTES}-byte limit`);
  }
  const bytes = await readSmallFile(path, `${what} blob ${desc.digest}`);
  const actual = digestOf(bytes);
  if (actual !== desc.digest) throw new LayoutError(`digest mismatch for ${what} ${desc.digest}: got ${actual}`);
  if (bytes.length !== desc.size) {
    throw new LayoutError(`size mismatch for ${what} ${desc.digest}: expected ${desc.size} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** A lazily opened blob stream that fails unless the content has `digest` and `size`. */
export function openVerifiedBlob(path: string, digest: string, size?: number): NodeJS.ReadableStream {
  const verifier = verifyingStream(digest, size);
  openRegular(path, `blob ${digest}`).then(
    ({ fh }) => {
      const file = fh.createReadStream();
      file.on('error', (err) => verifier.destroy(err));
      // A consumer that gives up early must not leave the file open.
      verifier.on('close', () => file.destroy());
      file.pipe(verifier);
    },
    (err: Error) => verifier.destroy(err),
  );
  return verifier;
}

/** Fails clearly when a blob the image needs is not there (or is not a file). */
export async function requireBlob(path: string, digest: string, where: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new LayoutError(`blob ${digest} is missing from ${where}`);
    throw err;
  }
  if (!st.isFile()) throw new LayoutError(`blob ${digest} in ${where} is not a regular file`);
}

let tmpCounter = 0;
export function tempNameBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${++tmpCounter}.tmp`);
}

/** Writes a blob from a stream to `path` (temp + rename), verified against its digest and size on the way. */
export async function writeBlobStream(
  path: string,
  source: NodeJS.ReadableStream,
  digest: string,
  size: number,
): Promise<void> {
  const tmp = tempNameBeside(path);
  try {
    await pipeline(source, verifyingStream(digest, size), createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Whether a blob is already there with the expected size (content-addressed, so reused). */
async function haveBlob(path: string, size: number): Promise<boolean> {
  try {
    const st = await stat(path);
    return st.isFile() && st.size === size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

// ---- choosing an image --------------------------------------------------------

function platformText(p: Platform | WantedPlatform | undefined): string {
  if (!p) return 'unknown platform';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The entry for `want` among platform variants: the exact variant first, then any variant. */
export function pickPlatform<T extends { platform?: Platform }>(candidates: T[], want: WantedPlatform, where: string): T {
  const sameArch = candidates.filter((d) => d.platform?.os === want.os && d.platform?.architecture === want.architecture);
  const chosen =
    sameArch.find((d) => want.variant === undefined || d.platform?.variant === want.variant) ??
    sameArch.find((d) => d.platform?.variant === undefined) ??
    sameArch[0];
  if (chosen) return chosen;
  const has = candidates.map((d) => platformText(d.platform)).join(', ');
  throw new LayoutError(`${where} has no image for ${platformText(want)} (it has: ${has})`);
}

function isUsable(desc: Descriptor): boolean {
  if (!MANIFEST_TYPES.has(desc.mediaType) && !INDEX_TYPES.has(desc.mediaType)) return false;
  // Build attestations ride along in indexes as pseudo-images for platform unknown/unknown.
  return desc.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest';
}

/** One of an index's entries: the only one, or the host's among platform variants. */
export function chooseFromIndex(manifests: Descriptor[], want: WantedPlatform, where: string): Descriptor {
  const candidates = manifests.filter(isUsable);
  if (candidates.length === 1) return candidates[0];
  if (candidates.length === 0) throw new LayoutError(`${where} lists no images`);
  if (candidates.some((d) => d.platform)) return pickPlatform(candidates, want, where);
  throw new LayoutError(`${where} lists ${candidates.length} images without platforms; cannot choose one`);
}

function refNames(desc: Descriptor): string[] {
  const a = desc.annotations ?? {};
  return [a[ANNOTATION_REF_NAME], a[ANNOTATION_CONTAINERD_NAME]].filter((n): n is string => !!n);
}

/** The full name an index entry's annotations give, as Podman reads them; undefined when none or unusable. */
function nameOf(desc: Descriptor): string | undefined {
  // containerd/buildkit put the full name in their own annotation and only the tag in ref.name.
  const raw = desc.annotations?.[ANNOTATION_CONTAINERD_NAME] || desc.annotations?.[ANNOTATION_REF_NAME];
  if (!raw) return undefined;
  try {
    return localName(raw);
  } catch {
    // ref.name's grammar is wider than an image name's; such an image is read unnamed.
    return undefined;
  }
}

function selectTop(index: OciIndex, reference: string | undefined, want: WantedPlatform, dir: string): Descriptor {
  const where = `OCI layout ${dir}`;
  const n = sourceIndex(reference);
  if (n !== undefined) {
    const d = index.manifests[n];
    if (!d) throw new LayoutError(`${where} has no image @${n} (it lists ${index.manifests.length})`);
    return d;
  }
  if (reference !== undefined) {
    const named = index.manifests.filter((d) => refNames(d).includes(reference));
    if (named.length === 0) {
      const names = [...new Set(index.manifests.flatMap(refNames))];
      const has = names.length > 0 ? ` (it has: ${names.join(', ')})` : ' (it has no named images)';
      throw new LayoutError(`${where} has no image named "${reference}"${has}`);
    }
    if (named.every((d) => d.digest === named[0].digest)) return named[0];
    if (named.some((d) => d.platform)) return pickPlatform(named, want, `${where} (image "${reference}")`);
    throw new LayoutError(`${where} has ${named.length} different images named "${reference}"`);
  }
  const usable = index.manifests.filter(isUsable);
  if (usable.length === 1) return usable[0];
  if (usable.length === 0) throw new LayoutError(`${where} holds no images`);
  // Several entries that are platform variants of one image still make one image.
  if (usable.every((d) => d.platform)) return pickPlatform(usable, want, where);
  throw new LayoutError(`${where} holds ${usable.length} images; name one (oci:${dir}:NAME or oci:${dir}:@INDEX)`);
}

// ---- reading ----------------------------------------------------------------------

async function readLayoutIndex(dir: string): Promise<OciIndex> {
  const layoutFile = join(dir, 'oci-layout');
  if (!(await fileExists(layoutFile))) {
    if (!(await fileExists(dir))) throw new LayoutError(`OCI layout ${dir} does not exist`);
    throw new LayoutError(`${dir} is not an OCI image layout: it has no oci-layout file`);
  }
  const layout = parseJson(OciLayoutSchema, await readSmallFile(layoutFile, 'oci-layout file'), `oci-layout file of ${dir}`);
  if (layout.imageLayoutVersion !== OCI_LAYOUT_VERSION) {
    throw new LayoutError(`unsupported OCI image layout version ${JSON.stringify(layout.imageLayoutVersion)} in ${dir}`);
  }
  return parseJson(OciIndexSchema, await readSmallFile(join(dir, 'index.json'), 'index.json'), `index.json of ${dir}`);
}

/**
 * Reads one image from an OCI layout directory: by ref.name annotation (a tag like "1" or a full name),
 * by `@N` index, or the only image; nested indexes followed, host platform chosen.
 * Blobs are verified as they stream (open() returns a verifying stream).
 */
export async function readOciLayout(dir: string, reference?: string): Promise<ImageParts> {
  const want = hostPlatform();
  const index = await readLayoutIndex(dir);
  const top = selectTop(index, reference, want, dir);
  const name = nameOf(top);
  let desc = top;
  for (let depth = 0; INDEX_TYPES.has(desc.mediaType); depth++) {
    if (depth >= MAX_INDEX_DEPTH) throw new LayoutError(`image indexes in ${dir} nest more than ${MAX_INDEX_DEPTH} deep`);
    const bytes = await readBlobDocument(blobPath(dir, desc.digest), desc, 'image index');
    const nested = parseJson(OciIndexSchema, bytes, `image index ${desc.digest}`);
    desc = chooseFromIndex(nested.manifests, want, `image index ${desc.digest}`);
  }
  if (!MANIFEST_TYPES.has(desc.mediaType)) {
    throw new LayoutError(`${desc.digest} in ${dir} is not an image manifest (media type ${desc.mediaType})`);
  }
  const parts = await readImage(
    desc,
    (digest) => blobPath(dir, digest),
    `OCI layout ${dir}`,
  );
  parts.names = name === undefined ? [] : [name];
  return parts;
}

/** An image whose manifest `desc` names, from blobs found by `pathOf`. */
export async function readImage(
  desc: { digest: string; size: number; mediaType?: string },
  pathOf: (digest: string) => string,
  where: string,
): Promise<ImageParts> {
  const manifest = await readBlobDocument(pathOf(desc.digest), desc, 'image manifest');
  return imageFromManifest(manifest, desc.mediaType, pathOf, where);
}

export async function imageFromManifest(
  manifest: Buffer,
  descMediaType: string | undefined,
  pathOf: (digest: string) => string,
  where: string,
): Promise<ImageParts> {
  const digest = digestOf(manifest);
  const parsed = parseJson(OciManifestSchema, manifest, `image manifest ${digest}`);
  const manifestMediaType = parsed.mediaType ?? descMediaType ?? MEDIA.ociManifest;
  if (!MANIFEST_TYPES.has(manifestMediaType)) {
    throw new LayoutError(`image manifest ${digest} in ${where} has unsupported media type ${manifestMediaType}`);
  }
  if (!CONFIG_TYPES.has(parsed.config.mediaType)) {
    throw new LayoutError(
      `image manifest ${digest} in ${where} is not a container image (its config has media type ${parsed.config.mediaType})`,
    );
  }
  const config = await readBlobDocument(pathOf(parsed.config.digest), parsed.config, 'image config');
  const diffIds = parseJson(ImageConfigSchema, config, `image config ${parsed.config.digest}`).rootfs.diff_ids;
  if (diffIds.length !== parsed.layers.length) {
    throw new LayoutError(
      `image config ${parsed.config.digest} lists ${diffIds.length} layer diff_ids but manifest ${digest} has ${parsed.layers.length} layers`,
    );
  }
  const layers = [];
  for (const layer of parsed.layers) {
    const path = pathOf(layer.digest);
    await requireBlob(path, layer.digest, where);
    layers.push({ descriptor: descriptorOf(layer), open: () => openVerifiedBlob(path, layer.digest, layer.size) });
  }
  return {
    manifest,
    manifestMediaType,
    config,
    configDescriptor: descriptorOf(parsed.config),
    layers,
    names: [],
  };
}

function descriptorOf(d: Descriptor): BlobDescriptor {
  const out: BlobDescriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.annotations) out.annotations = d.annotations;
  return out;
}

// ---- writing --------------------------------------------------------------------

/** Checks that the parts agree with their own manifest before anything is written. */
export function checkParts(parts: ImageParts): OciManifest {
  const digest = digestOf(parts.manifest);
  const m = parseJson(OciManifestSchema, parts.manifest, `image manifest ${digest}`);
  if (digestOf(parts.config) !== parts.configDescriptor.digest || m.config.digest !== parts.configDescriptor.digest) {
    throw new LayoutError(`image ${digest}: its config does not have the digest its manifest names (${m.config.digest})`);
  }
  if (
    m.layers.length !== parts.layers.length ||
    m.layers.some((l, i) => l.digest !== parts.layers[i].descriptor.digest || l.size !== parts.layers[i].descriptor.size)
  ) {
    throw new LayoutError(`image ${digest}: its layers do not match the layers its manifest lists`);
  }
  return m;
}

function indexEntry(parts: ImageParts, refName: string | undefined): Descriptor {
  const d: Descriptor = {
    mediaType: parts.manifestMediaType,
    digest: digestOf(parts.manifest),
    size: parts.manifest.length,
  };
  if (refName !== undefined) d.annotations = { [ANNOTATION_REF_NAME]: refName };
  return d;
}

/** Adds `entry` to an index's list: an entry with the same ref.name is replaced; an unnamed duplicate is not repeated. */
function addEntry(manifests: Descriptor[], entry: Descriptor): Descriptor[] {
  const ref = entry.annotations?.[ANNOTATION_REF_NAME];
  if (ref === undefined) {
    const dup = manifests.some((d) => d.digest === entry.digest && d.annotations?.[ANNOTATION_REF_NAME] === undefined);
    return dup ? manifests : [...manifests, entry];
  }
  return [...manifests.filter((d) => d.annotations?.[ANNOTATION_REF_NAME] !== ref), entry];
}

function newIndex(): OciIndex {
  return { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [] };
}

const LAYOUT_FILE = Buffer.from(JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }));

/**
 * Writes (or adds to) an OCI layout: oci-layout file, blobs/sha256/*, index.json with one manifest
 * descriptor per image, annotated with org.opencontainers.image.ref.name when a refName is given
 * (an existing entry with the same ref.name is replaced). Blobs are written atomically, index.json last.
 */
export async function writeOciLayout(dir: string, images: { parts: ImageParts; refName?: string }[]): Promise<void> {
  for (const { parts } of images) checkParts(parts);
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const layoutFile = join(dir, 'oci-layout');
  let index: OciIndex;
  if (await fileExists(layoutFile)) {
    index = (await fileExists(join(dir, 'index.json'))) ? await readLayoutIndex(dir) : newIndex();
  } else {
    if (await fileExists(join(dir, 'index.json'))) {
      throw new LayoutError(`${dir} has an index.json but no oci-layout file; refusing to write an OCI layout there`);
    }
    writeFileAtomic(layoutFile, LAYOUT_FILE);
    index = newIndex();
  }

  let manifests = index.manifests;
  for (const { parts, refName } of images) {
    await putBlob(dir, parts.configDescriptor.digest, parts.config);
    for (const layer of parts.layers) {
      const { digest, size } = layer.descriptor;
      const path = blobPath(dir, digest);
      if (await haveBlob(path, size)) continue;
      await writeBlobStream(path, layer.open(), digest, size);
    }
    await putBlob(dir, digestOf(parts.manifest), parts.manifest);
    manifests = addEntry(manifests, indexEntry(parts, refName));
  }
  // The index goes last: until it is replaced, readers see the old, complete layout.
  writeFileAtomic(join(dir, 'index.json'), JSON.stringify({ ...index, manifests }));
}

async function putBlob(dir: string, digest: string, bytes: Buffer): Promise<void> {
  const path = blobPath(dir, digest);
  if (digestOf(bytes) !== digest) throw new LayoutError(`blob ${digest}: its content has digest ${digestOf(bytes)}`);
  if (await haveBlob(path, bytes.length)) return;
  writeFileAtomic(path, bytes);
}

// ---- tar output -------------------------------------------------------------------

const TAR_TIME = new Date(0);

/** A tar stream being written to a temporary file beside `file`; commit() renames it into place. */
export class TarFileWriter {
  private readonly pack = tar.pack();
  private readonly tmp: string;
  private readonly done: Promise<void>;
  private failed: Error | undefined;

  constructor(readonly target: string) {
    this.tmp = tempNameBeside(target);
    this.done = pipeline(this.pack, createWriteStream(this.tmp, { flags: 'wx', mode: 0o644 }));
    this.done.catch((err: Error) => {
      this.failed = err;
    });
  }

  directory(name: string): Promise<void> {
    return this.entry({ name, type: 'directory', mode: 0o755 });
  }

  symlink(name: string, target: string): Promise<void> {
    return this.entry({ name, type: 'symlink', linkname: target, mode: 0o777 });
  }

  file(name: string, data: Buffer): Promise<void> {
    return this.entry({ name, type: 'file', mode: 0o644, size: data.length }, data);
  }

  /** An entry of `size` bytes taken from `source`; the size is checked by the tar writer. */
  async stream(name: string, size: number, source: NodeJS.ReadableStream): Promise<void> {
    this.check();
    let sink!: NodeJS.WritableStream;
    const entryDone = new Promise<void>((ok, fail) => {
      sink = this.pack.entry(
        { name, type: 'file', mode: 0o644, size, mtime: TAR_TIME, uid: 0, gid: 0 },
        (err?: Error | null) => (err ? fail(err) : ok()),
      ) as unknown as NodeJS.WritableStream;
    });
    entryDone.catch(() => undefined);
    // Its errors also reach the entry callback; an unlistened 'error' event would crash the process.
    (sink as unknown as NodeJS.EventEmitter).on('error', () => undefined);
    // A failed output file must not leave us waiting for a 'drain' that never comes.
    const outputFailed = this.done.then(() => new Promise<never>(() => undefined));
    outputFailed.catch(() => undefined);
    try {
      await pipeline(source, async (chunks: AsyncIterable<Buffer | string>) => {
        for await (const chunk of chunks) {
          if (!sink.write(chunk)) await Promise.race([once(sink as unknown as NodeJS.EventEmitter, 'drain'), outputFailed]);
        }
      });
      sink.end();
      await Promise.race([entryDone, outputFailed]);
    } catch (err) {
      // A half-written entry is never valid: the whole archive fails.
      this.abort(err as Error);
      throw err;
    }
  }

  private async entry(header: Partial<tar.Header> & { name: string }, data?: Buffer): Promise<void> {
    this.check();
    await new Promise<void>((ok, fail) => {
      const full = { ...header, mtime: TAR_TIME, uid: 0, gid: 0 };
      const cb = (err?: Error | null) => (err ? fail(err) : ok());
      if (data !== undefined) this.pack.entry(full, data, cb);
      else this.pack.entry(full, cb);
    });
  }

  private check(): void {
    if (this.failed) throw this.failed;
  }

  abort(err: Error): void {
    this.failed ??= err;
    this.pack.destroy(err);
  }

  async commit(): Promise<void> {
    this.check();
    this.pack.finalize();
    await this.done;
    const fh = await open(this.tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.tmp, this.target);
  }

  /** Removes the temporary file after a failure. */
  async discard(): Promise<void> {
    if (!this.pack.destroyed) this.pack.destroy();
    await this.done.catch(() => undefined);
    await unlink(this.tmp).catch(() => undefined);
  }
}

/** oci-archive: the same layout inside a tar file, streamed (no temporary layout directory). */
export async function writeOciArchive(file: string, images: { parts: ImageParts; refName?: string }[]): Promise<void> {
  for (const { parts } of images) checkParts(parts);
  const out = new TarFileWriter(file);
  try {
    await out.file('oci-layout', LAYOUT_FILE);
    await out.directory('blobs/');
    await out.directory('blobs/sha256/');
    const written = new Set<string>();
    const blob = async (digest: string, write: (name: string) => Promise<void>) => {
      if (written.has(digest)) return;
      written.add(digest);
      await write(`blobs/sha256/${digest.slice('sha256:'.length)}`);
    };
    let manifests: Descriptor[] = [];
    for (const { parts, refName } of images) {
      await blob(parts.configDescriptor.digest, (name) => out.file(name, parts.config));
      for (const layer of parts.layers) {
        const { digest, size } = layer.descriptor;
        await blob(digest, (name) => {
          const verifier = verifyingStream(digest, size);
          const source = layer.open();
          source.on('error', (err: Error) => verifier.destroy(err));
          return out.stream(name, size, source.pipe(verifier));
        });
      }
      await blob(digestOf(parts.manifest), (name) => out.file(name, parts.manifest));
      manifests = addEntry(manifests, indexEntry(parts, refName));
    }
    await out.file('index.json', Buffer.from(JSON.stringify({ ...newIndex(), manifests })));
    await out.commit();
  } catch (err) {
    await out.discard();
    throw err;
  }
}
