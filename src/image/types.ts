// How an image travels between stores and transports: its manifest, its
// config and its layer blobs, all content-addressed.
export interface BlobDescriptor {
  mediaType: string;
  digest: string; // 'sha256:<hex>'
  size: number;
  annotations?: Record<string, string>;
}

/** One single-platform image as a transport reads or writes it. */
export interface ImageParts {
  /** the manifest's bytes exactly as stored or received (its digest is the image's digest) */
  manifest: Buffer;
  manifestMediaType: string;
  config: Buffer;
  configDescriptor: BlobDescriptor;
  /** layer blobs in manifest order (compressed as the manifest says) */
  layers: { descriptor: BlobDescriptor; open(): NodeJS.ReadableStream }[];
  /** full names (e.g. 'localhost/app:1') the image is known by */
  names: string[];
}

/** Largest JSON document we read; manifests and configs are a few KiB in practice. */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;
