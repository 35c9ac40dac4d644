// `commit`: a new image made of the container's image and, on top, one layer
// holding the container's writable layer, with a config that runs what the
// container ran (its environment, command, user, working directory, labels),
// then --change applied.
//
// The container is not paused (that needs a cgroup freezer, which a rootless
// session without cgroup delegation lacks; Podman does not pause by default
// either): committing a running container reads its files as they are.
//
// Order, so that a process killed at any point leaves nothing half-recorded:
// the tar goes to a scratch file in tmpDir (swept when its PID is dead); a
// note of the layer and blob about to appear is written; the layer is
// extracted into the layer store, the tar moved in as its blob, and only then
// is the image recorded (config, manifest, record last).  A killed commit's
// note lets the next sweep remove its layer and blob when no image uses them.
import { createReadStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import { digestOf } from '../image/digest';
import { localName } from '../image/reference';
import { ImageConfigSchema, parseJson, type ImageConfig } from '../image/schema';
import type { ImageRecord } from '../image/record';
import { MEDIA, type BlobDescriptor } from '../image/types';
import type { ContainerConfig, ContainerRecord } from '../state/containers';
import { randomHex } from '../state/random';
import { writeUpperTar } from '../storage/upper-tar';
import { IMAGE_ID_SPACE, upperIdToContainer } from '../userns/mapping';
import { applyChanges } from './changes';
import { recordContainerEvent } from '../state/events';
import { containerDriver, containerPaths, mappingOf } from './container-mount';
import type { EngineContext } from './context';
import { EngineError, NotFoundError } from './errors';
import { ingestImage, LAYER_OPTS, notePending, rollbackOnFailure, sweepLeftovers } from './ingest';
import { requireContainer } from './remove';

export type CommitFormat = 'oci' | 'docker';

export interface CommitOptions {
  /** the new image's name; none: the image is dangling, as Podman's */
  name?: string;
  author?: string;
  message?: string;
  changes?: string[];
  format?: CommitFormat;
  /** progress lines (Podman's wording) */
  log?: (line: string) => void;
}

/** Mount points the runtime creates when the image lacks them: empty files, not the container's work. */
const RUNTIME_PLACEHOLDERS = new Set(['etc/hostname', 'etc/hosts', 'etc/resolv.conf']);

const LAYER_MEDIA: Record<CommitFormat, Record<string, string>> = {
  oci: {
    [MEDIA.dockerLayer]: MEDIA.ociLayer,
    [MEDIA.dockerLayerGzip]: MEDIA.ociLayerGzip,
    [MEDIA.ociLayer]: MEDIA.ociLayer,
    [MEDIA.ociLayerGzip]: MEDIA.ociLayerGzip,
    [MEDIA.ociLayerZstd]: MEDIA.ociLayerZstd,
  },
  docker: {
    [MEDIA.ociLayer]: MEDIA.dockerLayer,
    [MEDIA.ociLayerGzip]: MEDIA.dockerLayerGzip,
    [MEDIA.dockerLayer]: MEDIA.dockerLayer,
    [MEDIA.dockerLayerGzip]: MEDIA.dockerLayerGzip,
  },
};

/** A parent layer's media type in the new manifest's format (the blob is the same). */
export function layerMediaTypeFor(format: CommitFormat, mediaType: string): string {
  const t = LAYER_MEDIA[format][mediaType];
  if (!t) throw new EngineError(`cannot write a ${format} image with a layer of type ${mediaType}: use --format ${format === 'oci' ? 'docker' : 'oci'}`);
  return t;
}

export function parseCommitFormat(text: string | undefined): CommitFormat {
  if (text === undefined || text === 'oci') return 'oci';
  if (text === 'docker') return 'docker';
  throw new EngineError(`unrecognized image type "${text}": use oci or docker`);
}

/**
 * The new image's config: the parent's, its `config` updated with how the
 * container runs (as Podman does), then the --change instructions; one more
 * layer and one more history entry.
 */
export function commitConfig(
  parent: ImageConfig,
  container: Pick<ContainerConfig, 'env' | 'cmd' | 'entrypoint' | 'workingDir' | 'user' | 'labels' | 'stopSignal' | 'args'>,
  opts: { author?: string; message?: string; changes?: string[]; format: CommitFormat; diffID: string; now: string; warn?: (msg: string) => void },
): Record<string, unknown> {
  const run: Record<string, unknown> = { ...(parent.config ?? {}), Env: container.env };
  const set = (key: string, value: unknown, present: boolean) => {
    if (present) run[key] = value;
    else delete run[key];
  };
  set('Cmd', container.cmd, container.cmd.length > 0);
  set('Entrypoint', container.entrypoint, container.entrypoint.length > 0);
  set('WorkingDir', container.workingDir, !!container.workingDir);
  set('User', container.user, !!container.user);
  set('Labels', container.labels, Object.keys(container.labels).length > 0);
  if (container.stopSignal) run.StopSignal = container.stopSignal;
  const config = applyChanges(run, opts.changes);
  if (opts.format === 'oci' && config.OnBuild !== undefined) {
    // The OCI config has no ONBUILD (Podman warns the same way).
    if (Array.isArray(config.OnBuild) && config.OnBuild.length) {
      opts.warn?.('ONBUILD is not supported for OCI image format, ONBUILD will be ignored. Must use `docker` format');
    }
    delete config.OnBuild;
  }
  // The parent's build container is not this image's: drop Docker's record of it.
  const { container: _c, container_config: _cc, ...rest } = parent as ImageConfig & { container?: unknown; container_config?: unknown };
  const author = opts.author ?? parent.author ?? undefined;
  return {
    ...rest,
    created: opts.now,
    ...(author ? { author } : {}),
    config,
    rootfs: { type: 'layers', diff_ids: [...parent.rootfs.diff_ids, opts.diffID] },
    history: [
      ...(parent.history ?? []),
      {
        created: opts.now,
        created_by: container.args.join(' '),
        ...(opts.author ? { author: opts.author } : {}),
        ...(opts.message ? { comment: opts.message } : {}),
      },
    ],
  };
}

/** The owner translation for the container's upper layer, refusing IDs no image layer may hold. */
function ownerMapper(rec: ContainerRecord) {
  const m = mappingOf(rec);
  const driver = containerDriver(rec);
  return (uid: number, gid: number, path: string) => {
    const u = upperIdToContainer(m.uid, uid, driver);
    const g = upperIdToContainer(m.gid, gid, driver);
    if (u === undefined || g === undefined || u >= IMAGE_ID_SPACE || g >= IMAGE_ID_SPACE) {
      throw new EngineError(
        `cannot commit /${path}: it is owned by ${u ?? `unmapped ${uid}`}:${g ?? `unmapped ${gid}`} in the container, ` +
          `and image layers hold IDs 0 to ${IMAGE_ID_SPACE - 1} only: chown it inside the container first`,
      );
    }
    return { uid: u, gid: g };
  };
}

export async function commitContainer(ctx: EngineContext, ref: string, opts: CommitOptions = {}): Promise<ImageRecord> {
  let rec: ContainerRecord;
  try {
    rec = requireContainer(ctx, ref);
  } catch (err) {
    // Podman's commit exits 125 for an unknown container (rm uses 1).
    if (err instanceof NotFoundError) throw new EngineError(err.message);
    throw err;
  }
  const format = opts.format ?? 'oci';
  const parent = ctx.images.get(rec.image.id);
  if (!parent) throw new EngineError(`the image of container ${rec.id.slice(0, 12)} (${rec.image.name}) is no longer in storage`);
  if (!parent.layerBlobs || parent.layerBlobs.length !== parent.layers.length) {
    throw new EngineError(`image ${parent.id.slice(0, 12)} has no stored layer blobs: pull or load it again before committing containers of it`);
  }
  const parentConfig = ctx.images.config(parent.id);
  const parentBlobs = parent.layerBlobs.map((b) => ({ ...b, mediaType: layerMediaTypeFor(format, b.mediaType) }));
  const names = opts.name ? [localName(opts.name)] : [];
  const now = new Date().toISOString();
  // Before anything is written, so that a bad --change fails at once.
  commitConfig(parentConfig, rec.config, { ...opts, format, diffID: `sha256:${'0'.repeat(64)}`, now });

  ctx.ensureDirs();
  sweepLeftovers(ctx);
  opts.log?.('Getting image source signatures');
  const tarFile = join(ctx.tmpDirReady(), `commit-${process.pid}-${randomHex(6)}.tar`);
  try {
    const tar = writeUpperTar(containerPaths(ctx, rec.id).upper, tarFile, { owner: ownerMapper(rec), skipEmptyFiles: RUNTIME_PLACEHOLDERS });
    // Stored uncompressed (as `import` stores its tarball): the blob's digest is the diffID.
    const layerBlob: BlobDescriptor = { mediaType: format === 'oci' ? MEDIA.ociLayer : MEDIA.dockerLayer, digest: tar.diffID, size: tar.size };
    const config = Buffer.from(JSON.stringify(commitConfig(parentConfig, rec.config, { ...opts, format, diffID: tar.diffID, now, warn: ctx.warn })));
    const configDigest = digestOf(config);
    const layers = [...parentBlobs, layerBlob];
    const manifestType = format === 'oci' ? MEDIA.ociManifest : MEDIA.dockerManifest;
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: manifestType,
        config: { mediaType: format === 'oci' ? MEDIA.ociConfig : MEDIA.dockerConfig, digest: configDigest, size: config.length },
        layers: layers.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size })),
      }),
    );
    const newBlobs = [tar.diffID, configDigest, digestOf(manifest)];
    const note = notePending(ctx, { blobs: newBlobs, layers: [tar.diffID] });
    try {
      return await rollbackOnFailure(ctx, async (added) => {
        for (const d of newBlobs) if (!ctx.blobs.has(d)) added.blobs.add(d);
        opts.log?.(`Copying blob ${tar.diffID.slice(7, 19)}`);
        if (!ctx.layers.has(tar.diffID)) {
          added.layers.add(tar.diffID);
          await ctx.layers.put(createReadStream(tarFile), tar.diffID, LAYER_OPTS);
        }
        ctx.blobs.adopt(tar.diffID, tarFile);
        opts.log?.(`Copying config ${configDigest.slice(7, 19)}`);
        opts.log?.('Writing manifest to image destination');
        const image = await ingestImage(ctx, {
          config,
          parsedConfig: parseJson(ImageConfigSchema, config, 'image config'),
          layers: layers.map((d) => ({ digest: d.digest, size: d.size, mediaType: d.mediaType, open: () => ctx.blobs.open(d.digest) })),
          manifest: { bytes: manifest, mediaType: manifestType },
          names,
        });
        recordContainerEvent(ctx, 'commit', rec);
        return image;
      });
    } finally {
      note.done();
    }
  } finally {
    rmSync(tarFile, { force: true });
  }
}
