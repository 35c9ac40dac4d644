// Tiny test images built from the host's static busybox: a rootfs tarball
// (for `import`), and docker-archive / oci-archive tarballs (for `load`).
// Shared by the integration tests and the benchmark.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

const BUSYBOX = '/bin/busybox';
const MTIME = new Date('2024-01-01T00:00:00Z');

function tarOf(entries) {
  return new Promise((resolve, reject) => {
    const p = pack();
    const chunks = [];
    p.on('data', (c) => chunks.push(c));
    p.on('end', () => resolve(Buffer.concat(chunks)));
    p.on('error', reject);
    for (const e of entries) {
      const { content, ...header } = e;
      p.entry({ mtime: MTIME, uid: 0, gid: 0, ...header }, content);
    }
    p.finalize();
  });
}

/** Entries of a minimal busybox system with files owned by several IDs (0, 33, 1000). */
export function busyboxEntries(extra = []) {
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  const dir = (name, mode = 0o755, uid = 0, gid = 0) => ({ name, type: 'directory', mode, uid, gid });
  const file = (name, content, mode = 0o644, uid = 0, gid = 0) => ({ name, type: 'file', mode, uid, gid, content: Buffer.from(content) });
  return [
    dir('bin/'),
    file('bin/busybox', readFileSync(BUSYBOX), 0o755),
    ...applets.map((a) => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mode: 0o777 })),
    dir('etc/'),
    file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'),
    file('etc/group', 'root:x:0:\ntty:x:5:\nwww-data:x:33:\nusers:x:100:app\napp:x:1000:\nnogroup:x:65534:\n'),
    dir('root/', 0o700),
    dir('tmp/', 0o1777),
    dir('var/'),
    dir('var/www/', 0o755, 33, 33),
    file('var/www/owned33', 'www\n', 0o644, 33, 33),
    dir('home/'),
    dir('home/app/', 0o755, 1000, 1000),
    file('home/app/owned1000', 'app\n', 0o600, 1000, 1000),
    dir('proc/'),
    dir('sys/'),
    dir('dev/'),
    dir('run/'),
    ...extra,
  ];
}

/** A plain rootfs tarball, as `selkie import` takes. */
export async function writeRootfsTar(path, extra = []) {
  writeFileSync(path, await tarOf(busyboxEntries(extra)));
}

function sha256(buf) {
  return createHash('sha256').update(buf).digest('hex');
}

function imageConfig(diffIDs, config = {}) {
  return Buffer.from(
    JSON.stringify({
      created: MTIME.toISOString(),
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], ...config },
      rootfs: { type: 'layers', diff_ids: diffIDs.map((d) => `sha256:${d}`) },
      history: diffIDs.map(() => ({ created: MTIME.toISOString(), created_by: 'selkie test fixture' })),
    }),
  );
}

/**
 * A `docker save`-style archive.  layers: arrays of tar entries, bottom first
 * (default: one busybox layer).
 */
export async function writeDockerArchive(path, { repoTag = 'localhost/busybox:latest', layers, config } = {}) {
  const layerTars = await Promise.all((layers ?? [busyboxEntries()]).map(tarOf));
  const diffIDs = layerTars.map(sha256);
  const cfg = imageConfig(diffIDs, config);
  const cfgName = `${sha256(cfg)}.json`;
  const entries = [{ name: cfgName, type: 'file', mode: 0o644, content: cfg }];
  layerTars.forEach((t, i) => entries.push({ name: `${diffIDs[i]}/layer.tar`, type: 'file', mode: 0o644, content: t }));
  const manifest = [{ Config: cfgName, RepoTags: repoTag ? [repoTag] : null, Layers: diffIDs.map((d) => `${d}/layer.tar`) }];
  entries.push({ name: 'manifest.json', type: 'file', mode: 0o644, content: Buffer.from(JSON.stringify(manifest)) });
  writeFileSync(path, await tarOf(entries));
  return { imageId: sha256(cfg), diffIDs };
}

/** An OCI image layout in a tarball (gzip layers), named by a ref.name annotation. */
export async function writeOciArchive(path, { refName = 'localhost/busybox-oci:latest', layers, config } = {}) {
  const layerTars = await Promise.all((layers ?? [busyboxEntries()]).map(tarOf));
  const diffIDs = layerTars.map(sha256);
  const blobs = layerTars.map((t) => gzipSync(t));
  const cfg = imageConfig(diffIDs, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(cfg)}`, size: cfg.length },
      layers: blobs.map((b) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha256(b)}`, size: b.length })),
    }),
  );
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: `sha256:${sha256(manifest)}`,
        size: manifest.length,
        annotations: { 'org.opencontainers.image.ref.name': refName },
      },
    ],
  };
  const entries = [
    { name: 'oci-layout', type: 'file', mode: 0o644, content: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', type: 'file', mode: 0o644, content: Buffer.from(JSON.stringify(index)) },
  ];
  for (const b of [cfg, manifest, ...blobs]) entries.push({ name: `blobs/sha256/${sha256(b)}`, type: 'file', mode: 0o644, content: b });
  writeFileSync(path, await tarOf(entries));
  return { imageId: sha256(cfg), diffIDs };
}

export { tarOf };
