// The `dir:` transport of containers/image: a directory holding manifest.json,
// a `version` file, and every blob (config included) in a file named by its hex
// digest. Not a standard, but what `skopeo copy ... dir:X` writes and reads.
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { hostPlatform } from '../archive';
import { OciIndexSchema, parseJson } from '../schema';
import { writeFileAtomic } from '../../state/atomic';
import { MEDIA, type ImageParts } from '../types';
import {
  LayoutError,
  checkParts,
  chooseFromIndex,
  fileExists,
  imageFromManifest,
  readBlobDocument,
  readSmallFile,
  writeBlobStream,
} from './oci-layout';

const VERSION_PREFIX = 'Directory Transport Version: ';
const VERSION = `${VERSION_PREFIX}1.1\n`;
const HEX = (digest: string) => digest.slice('sha256:'.length);
/** Files a dir: image consists of; only these are removed when one is overwritten. */
const OWN_FILE = /^(?:manifest\.json|version|signature-\d+|[a-f0-9]{64}(?:\.tar|\.manifest\.json|\.signature-\d+)?)$/;

async function readVersion(dir: string): Promise<string | undefined> {
  const path = join(dir, 'version');
  if (!(await fileExists(path))) return undefined;
  const text = (await readSmallFile(path, 'dir: version file', 4096)).toString('utf8');
  return text.startsWith(VERSION_PREFIX) ? text.slice(VERSION_PREFIX.length).trim() : text.trim();
}

export async function readDir(dir: string): Promise<ImageParts> {
  if (!(await fileExists(dir))) throw new LayoutError(`directory ${dir} does not exist`);
  const version = await readVersion(dir);
  if (version === undefined) throw new LayoutError(`${dir} is not a dir: transport image: it has no version file`);
  if (version !== '1.1' && version !== '1.0') {
    throw new LayoutError(`${dir}: unsupported dir: transport version ${JSON.stringify(version)}`);
  }
  // Version 1.0 named blobs <hex>.tar; 1.1 names them <hex>.
  const suffix = version === '1.0' ? '.tar' : '';
  const pathOf = (digest: string) => join(dir, HEX(digest) + suffix);
  const where = `dir: image ${dir}`;

  let manifest = await readSmallFile(join(dir, 'manifest.json'), 'manifest.json');
  let mediaType = mediaTypeOf(manifest, `manifest.json of ${dir}`);
  // `skopeo copy --all` stores the list in manifest.json and each instance as <hex>.manifest.json.
  if (mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList) {
    const index = parseJson(OciIndexSchema, manifest, `manifest list in ${dir}`);
    const desc = chooseFromIndex(index.manifests, hostPlatform(), `manifest list in ${dir}`);
    manifest = await readBlobDocument(join(dir, `${HEX(desc.digest)}.manifest.json`), desc, 'image manifest');
    mediaType = mediaTypeOf(manifest, `image manifest ${desc.digest}`) ?? desc.mediaType;
  }
  if (mediaType === MEDIA.dockerSchema1 || mediaType === MEDIA.dockerSchema1Signed) {
    throw new LayoutError(`${where} has a Docker schema 1 manifest, which is not supported`);
  }
  return imageFromManifest(manifest, mediaType, pathOf, where);
}

function mediaTypeOf(bytes: Buffer, what: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new LayoutError(`invalid ${what}: malformed JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null) throw new LayoutError(`invalid ${what}: not a JSON object`);
  const v = value as Record<string, unknown>;
  if (typeof v.mediaType === 'string') return v.mediaType;
  if (v.schemaVersion === 1) return MEDIA.dockerSchema1;
  return Array.isArray(v.manifests) ? MEDIA.ociIndex : undefined;
}

/**
 * Writes an image as a dir: transport directory. An existing dir: image there is replaced;
 * any other non-empty directory is refused, so that nothing unrelated is overwritten.
 */
export async function writeDir(dir: string, parts: ImageParts): Promise<void> {
  checkParts(parts);
  await mkdir(dir, { recursive: true });
  const present = await readdir(dir);
  if (present.length > 0) {
    if ((await readVersion(dir)) === undefined) {
      throw new LayoutError(`directory ${dir} is not empty and does not hold a dir: image; refusing to write into it`);
    }
    // The version file goes first, so an interrupted rewrite is never taken for a complete image.
    if (present.includes('version')) await unlink(join(dir, 'version'));
    for (const name of present) {
      if (name !== 'version' && OWN_FILE.test(name)) await unlink(join(dir, name)).catch(() => undefined);
    }
  }
  writeFileAtomic(join(dir, HEX(parts.configDescriptor.digest)), parts.config);
  const written = new Set<string>([parts.configDescriptor.digest]);
  for (const layer of parts.layers) {
    const { digest, size } = layer.descriptor;
    if (written.has(digest)) continue;
    written.add(digest);
    await writeBlobStream(join(dir, HEX(digest)), layer.open(), digest, size);
  }
  writeFileAtomic(join(dir, 'manifest.json'), parts.manifest);
  writeFileAtomic(join(dir, 'version'), VERSION);
}
