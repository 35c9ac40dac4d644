// What the image store records of an image, and what follows from a record
// alone (no store needed): its repo digests, and the blobs it holds.  The
// store and the sweeps of what failed or killed writers left both use it.
export interface ImageRecord {
  id: string; // 64 hex, the config digest
  names: string[];
  /** digest of the manifest kept in the blob store (as received, or made for local images) */
  digest?: string;
  /**
   * digest of the image index (manifest list) the manifest was chosen from,
   * when pulled through one; the index is kept in the blob store, so that a
   * re-pull of an unchanged tag can choose from it again without fetching it
   */
  listDigest?: string;
  manifestMediaType?: string;
  /** the layer blobs as received (compressed or not), in manifest order */
  layerBlobs?: { mediaType: string; digest: string; size: number }[];
  /** where it was pulled from, for cross-repository blob mounts on push */
  source?: { registry: string; repository: string };
  layers: string[]; // diffIDs, bottom first
  size: number;
  created: string;
  /** when it entered this store */
  added: string;
}

/** name@digest for each name, by the manifest's digest, then the index's it came through (Podman's RepoDigests). */
export function repoDigestsOf(rec: ImageRecord): string[] {
  const digests = [rec.digest, rec.listDigest].filter((d): d is string => !!d);
  return [...new Set(rec.names.map((n) => n.replace(/:[^:/]+$/, '')))].flatMap((repo) => digests.map((d) => `${repo}@${d}`));
}

/** The blobs an image record holds: index, manifest, config, layers. */
export function blobsOf(rec: ImageRecord): string[] {
  return [rec.listDigest, rec.digest, `sha256:${rec.id}`, ...(rec.layerBlobs ?? []).map((b) => b.digest)].filter((d): d is string => !!d);
}
