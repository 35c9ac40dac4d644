// The image store: an image is its config blob (content-addressed: the image
// ID is the config's sha256) plus the ordered diffIDs of its layers and the
// names that point at it.  Records are written atomically under the storage
// lock; a name belongs to one image at a time, as in Docker and Podman.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../state/atomic';
import { readRecord, readRecords } from '../state/records';
import { withLock } from '../state/lock';
import type { BlobStore } from '../storage/blobs';
import type { LayerStore } from '../storage/layers';
import { choosePlatform, hostPlatformOf, type Platform } from './platform';
import { matchesStoredName } from './reference';
import type { ImageConfig } from './schema';
import { blobsOf, type ImageRecord } from './record';

export class ImageNotFoundError extends Error {
  constructor(readonly ref: string) {
    super(`${ref}: image not known`);
  }
}

export class ImageStore {
  readonly dir: string;

  constructor(graphRoot: string, private readonly layers: LayerStore, private readonly blobs: BlobStore) {
    this.dir = join(graphRoot, 'images');
  }

  private recordPath(id: string): string {
    return join(this.dir, id, 'image.json');
  }

  list(): ImageRecord[] {
    return readRecords<ImageRecord>(this.dir, 'image.json', (r) => r.added);
  }

  get(id: string): ImageRecord | undefined {
    return readRecord<ImageRecord>(this.dir, id, 'image.json');
  }

  /** By full or short ID (with or without "sha256:"), or by name as Podman matches short names. */
  lookup(ref: string): ImageRecord | undefined {
    const all = this.list();
    // name@sha256:...: the image whose manifest has that digest
    const at = ref.lastIndexOf('@sha256:');
    if (at > 0) {
      // The manifest's digest, else the index's (RepoDigests names both):
      // of the images chosen from one index, the host's platform's first.
      const d = ref.slice(at + 1);
      return all.find((i) => i.digest === d) ?? this.chosenFromIndex(d, hostPlatformOf(), all) ?? all.find((i) => i.listDigest === d);
    }
    const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
    if (/^[0-9a-f]{64}$/.test(hex)) {
      const byId = all.find((i) => i.id === hex);
      if (byId) return byId;
    }
    let byName: ImageRecord | undefined;
    try {
      byName = all.find((i) => i.names.some((n) => matchesStoredName(n, ref)));
    } catch {
      byName = undefined; // not a valid reference: can still be an ID prefix
    }
    if (byName) return byName;
    if (/^[0-9a-f]{3,63}$/.test(hex)) {
      const matches = all.filter((i) => i.id.startsWith(hex));
      if (matches.length > 1) throw new Error(`more than one image matches "${ref}": use a longer ID`);
      return matches[0];
    }
    return undefined;
  }

  /**
   * The image here that the kept index `listDigest` names for `want` (its
   * entry chosen as a pull chooses it), if an image came through that index.
   * The index was validated when it arrived and is stored by its digest.
   */
  chosenFromIndex(listDigest: string, want: Platform, all = this.list()): ImageRecord | undefined {
    if (!all.some((i) => i.listDigest === listDigest) || !this.blobs.has(listDigest)) return undefined;
    let digest: string;
    try {
      const index = JSON.parse(this.blobs.read(listDigest).toString('utf8')) as { manifests: { digest: string; platform?: Platform }[] };
      digest = choosePlatform(index.manifests, want).digest;
    } catch {
      return undefined; // no entry for that platform
    }
    return all.find((i) => i.digest === digest);
  }

  require(ref: string): ImageRecord {
    const rec = this.lookup(ref);
    if (!rec) throw new ImageNotFoundError(ref);
    return rec;
  }

  configBytes(id: string): Buffer {
    return readFileSync(join(this.dir, id, 'config.json'));
  }

  /** The stored config.  It was validated when the image entered the store (add), so it is not again: zod stays off the `run` path. */
  config(id: string): ImageConfig {
    return JSON.parse(this.configBytes(id).toString('utf8')) as ImageConfig;
  }

  /**
   * Records an image whose layers are already in the layer store.  `id` is
   * the sha256 of configBytes (hashed by the caller, which streams it anyway);
   * `config`
   * is configBytes validated by the caller (parseJson with ImageConfigSchema).
   * The names move to it from any image that held them.
   */
  add(
    id: string,
    configBytes: Buffer,
    config: ImageConfig,
    names: string[],
    extra: Pick<ImageRecord, 'digest' | 'listDigest' | 'manifestMediaType' | 'layerBlobs' | 'source'> = {},
  ): ImageRecord {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`invalid image ID "${id}"`);
    const diffIDs = config.rootfs.diff_ids;
    return withLock(this.layers.lockPath, () => {
      for (const d of diffIDs) {
        if (!this.layers.has(d)) throw new Error(`layer ${d} of image ${id.slice(0, 12)} is missing from the layer store`);
      }
      const existing = this.get(id);
      const rec: ImageRecord = existing ?? {
        id,
        names: [],
        layers: diffIDs,
        size: diffIDs.reduce((sum, d) => sum + (this.layers.get(d)?.size ?? 0), 0),
        created: config.created ?? new Date(0).toISOString(),
        added: new Date().toISOString(),
      };
      Object.assign(rec, Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)));
      mkdirSync(join(this.dir, id), { recursive: true, mode: 0o700 });
      if (!existing) writeFileAtomic(join(this.dir, id, 'config.json'), configBytes);
      this.moveNames(rec, names);
      writeJsonAtomic(this.recordPath(id), rec);
      return rec;
    });
  }

  /** Adds `names` to rec and removes them from every other image (caller holds the lock). */
  private moveNames(rec: ImageRecord, names: string[]): void {
    for (const name of names) {
      for (const other of this.list()) {
        if (other.id !== rec.id && other.names.includes(name)) {
          other.names = other.names.filter((n) => n !== name);
          writeJsonAtomic(this.recordPath(other.id), other);
        }
      }
      if (!rec.names.includes(name)) rec.names.push(name);
    }
  }

  tag(id: string, name: string): void {
    withLock(this.layers.lockPath, () => {
      const rec = this.get(id);
      if (!rec) throw new ImageNotFoundError(id);
      this.moveNames(rec, [name]);
      writeJsonAtomic(this.recordPath(id), rec);
    });
  }

  /** Records (and keeps) the index an image's manifest was last chosen from (see ImageRecord.listDigest). */
  setList(id: string, list: { digest: string; bytes: Buffer }): void {
    withLock(this.layers.lockPath, () => {
      const rec = this.get(id);
      if (!rec) throw new ImageNotFoundError(id);
      const old = rec.listDigest;
      this.blobs.putBytes(list.digest, list.bytes);
      rec.listDigest = list.digest;
      writeJsonAtomic(this.recordPath(id), rec);
      if (old && old !== list.digest && !this.list().some((i) => blobsOf(i).includes(old))) this.blobs.remove(old);
    });
  }

  /** Removes one name; returns the record as it is afterwards. */
  untag(id: string, name: string): ImageRecord {
    return withLock(this.layers.lockPath, () => {
      const rec = this.get(id);
      if (!rec) throw new ImageNotFoundError(id);
      rec.names = rec.names.filter((n) => n !== name);
      writeJsonAtomic(this.recordPath(id), rec);
      return rec;
    });
  }

  /** Deletes an image and every layer and blob no other image uses. */
  remove(id: string): void {
    withLock(this.layers.lockPath, () => {
      const rec = this.get(id);
      if (!rec) return;
      rmSync(this.recordPath(id), { force: true });
      rmSync(join(this.dir, id), { recursive: true, force: true });
      const others = this.list();
      const inUse = new Set(others.flatMap((i) => i.layers));
      for (const d of rec.layers) if (!inUse.has(d)) this.layers.remove(d);
      const blobsInUse = new Set(others.flatMap((i) => blobsOf(i)));
      for (const b of blobsOf(rec)) if (!blobsInUse.has(b)) this.blobs.remove(b);
    });
  }
}
