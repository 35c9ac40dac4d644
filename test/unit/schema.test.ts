import { describe, expect, it } from 'vitest';
import {
  DigestSchema,
  DockerArchiveManifestSchema,
  DockerManifestListSchema,
  DockerManifestSchema,
  DocumentError,
  ImageConfigSchema,
  MAX_DOCUMENT_BYTES,
  MediaTypes,
  OciIndexSchema,
  OciLayoutSchema,
  OciManifestSchema,
  parseJson,
} from '../../src/image/schema';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

// What `docker inspect`-era configs look like: nulls for empty members, extra fields.
const dockerConfig = {
  architecture: 'amd64',
  os: 'linux',
  created: '2024-01-01T00:00:00Z',
  docker_version: '24.0.0',
  config: {
    Hostname: '',
    User: '',
    ExposedPorts: { '80/tcp': {} },
    Env: ['PATH=/usr/bin:/bin'],
    Entrypoint: null,
    Cmd: ['sh'],
    Volumes: null,
    WorkingDir: '',
    Labels: null,
    OnBuild: null,
  },
  rootfs: { type: 'layers', diff_ids: [D1, D2] },
  history: [{ created: '2024-01-01T00:00:00Z', created_by: 'ADD file', empty_layer: false }],
};

describe('DigestSchema', () => {
  it('accepts only sha256 digests', () => {
    expect(DigestSchema.safeParse(D1).success).toBe(true);
    for (const bad of ['sha256:abc', `sha256:${'A'.repeat(64)}`, `sha512:${'a'.repeat(128)}`, `${'a'.repeat(64)}`, 7]) {
      expect(DigestSchema.safeParse(bad).success).toBe(false);
    }
  });
});

describe('ImageConfigSchema', () => {
  it('accepts a Docker config with nulls and keeps unknown fields', () => {
    const parsed = parseJson(ImageConfigSchema, JSON.stringify(dockerConfig), 'image config');
    expect(parsed.rootfs.diff_ids).toEqual([D1, D2]);
    expect(parsed.config?.Cmd).toEqual(['sh']);
    expect(parsed.config?.Entrypoint).toBeNull();
    expect((parsed as Record<string, unknown>).docker_version).toBe('24.0.0');
    expect((parsed.config as Record<string, unknown>).Hostname).toBe('');
  });

  it('accepts a minimal OCI config', () => {
    const parsed = parseJson(
      ImageConfigSchema,
      Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', variant: 'v8', rootfs: { type: 'layers', diff_ids: [] } })),
      'image config',
    );
    expect(parsed.config).toBeUndefined();
    expect(parsed.variant).toBe('v8');
  });

  it('names the offending field', () => {
    const bad = { ...dockerConfig, rootfs: { type: 'layers', diff_ids: [D1, 'sha256:nothex'] } };
    expect(() => parseJson(ImageConfigSchema, JSON.stringify(bad), 'image config')).toThrow(
      /^invalid image config: rootfs\.diff_ids\[1\]: expected a sha256 digest/,
    );
    const wrongType = { ...dockerConfig, config: { ...dockerConfig.config, Env: 'PATH=/bin' } };
    expect(() => parseJson(ImageConfigSchema, JSON.stringify(wrongType), 'image config')).toThrow(
      /^invalid image config: config\.Env: /,
    );
    const { rootfs: _, ...noRootfs } = dockerConfig;
    expect(() => parseJson(ImageConfigSchema, JSON.stringify(noRootfs), 'image config')).toThrow(
      /^invalid image config: rootfs: /,
    );
    expect(() =>
      parseJson(ImageConfigSchema, JSON.stringify({ ...dockerConfig, rootfs: { type: 'other', diff_ids: [] } }), 'image config'),
    ).toThrow(/rootfs\.type/);
  });
});

describe('manifests and indexes', () => {
  const descriptor = { mediaType: MediaTypes.ociLayerGzip, digest: D1, size: 10 };

  it('parses an OCI manifest', () => {
    const m = parseJson(
      OciManifestSchema,
      JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { ...descriptor, mediaType: MediaTypes.ociConfig }, layers: [descriptor], annotations: { a: 'b' } }),
      'image manifest',
    );
    expect(m.layers[0].size).toBe(10);
  });

  it('refuses negative, fractional and unsafe sizes', () => {
    for (const size of [-1, 1.5, 2 ** 60]) {
      const doc = JSON.stringify({ schemaVersion: 2, config: descriptor, layers: [{ ...descriptor, size }] });
      expect(() => parseJson(OciManifestSchema, doc, 'image manifest'), String(size)).toThrow(
        /^invalid image manifest: layers\[0\]\.size: /,
      );
    }
  });

  it('refuses a wrong schemaVersion', () => {
    expect(() =>
      parseJson(OciManifestSchema, JSON.stringify({ schemaVersion: 1, config: descriptor, layers: [] }), 'image manifest'),
    ).toThrow(/schemaVersion/);
  });

  it('parses an OCI index with platforms and annotations', () => {
    const idx = parseJson(
      OciIndexSchema,
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ ...descriptor, mediaType: MediaTypes.ociManifest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, annotations: { 'org.opencontainers.image.ref.name': '1' } }],
      }),
      'image index',
    );
    expect(idx.manifests[0].platform?.architecture).toBe('arm64');
    expect(idx.manifests[0].annotations?.['org.opencontainers.image.ref.name']).toBe('1');
  });

  it('parses Docker schema2 manifests and lists', () => {
    const m = parseJson(
      DockerManifestSchema,
      JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: { ...descriptor, mediaType: MediaTypes.dockerConfig }, layers: [{ ...descriptor, mediaType: MediaTypes.dockerLayerGzip }] }),
      'image manifest',
    );
    expect(m.config.mediaType).toBe(MediaTypes.dockerConfig);
    const list = {
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifestList,
      manifests: [{ mediaType: MediaTypes.dockerManifest, digest: D2, size: 5, platform: { architecture: 'amd64', os: 'linux' } }],
    };
    expect(parseJson(DockerManifestListSchema, JSON.stringify(list), 'manifest list').manifests).toHaveLength(1);
    const noPlatform = { ...list, manifests: [{ mediaType: MediaTypes.dockerManifest, digest: D2, size: 5 }] };
    expect(() => parseJson(DockerManifestListSchema, JSON.stringify(noPlatform), 'manifest list')).toThrow(
      /manifests\[0\]\.platform/,
    );
  });

  it('parses a docker-archive manifest.json with null RepoTags', () => {
    const m = parseJson(
      DockerArchiveManifestSchema,
      JSON.stringify([
        { Config: 'abc.json', RepoTags: ['busybox:latest'], Layers: ['x/layer.tar'] },
        { Config: 'def.json', RepoTags: null, Layers: [] },
      ]),
      'manifest.json',
    );
    expect(m[1].RepoTags).toBeNull();
    expect(() => parseJson(DockerArchiveManifestSchema, JSON.stringify({ Config: 'x' }), 'manifest.json')).toThrow(
      /^invalid manifest.json: \(document\): /,
    );
  });

  it('parses oci-layout', () => {
    expect(parseJson(OciLayoutSchema, '{"imageLayoutVersion":"1.0.0"}', 'oci-layout').imageLayoutVersion).toBe('1.0.0');
  });
});

describe('parseJson', () => {
  it('reports malformed JSON', () => {
    expect(() => parseJson(OciLayoutSchema, '{"imageLayoutVersion":', 'oci-layout')).toThrow(
      /^invalid oci-layout: malformed JSON: /,
    );
    expect(() => parseJson(OciLayoutSchema, Buffer.from([0xff, 0xfe]), 'oci-layout')).toThrow(DocumentError);
  });

  it('refuses documents over the size cap before parsing', () => {
    const huge = Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 0x20);
    expect(() => parseJson(OciLayoutSchema, huge, 'oci-layout')).toThrow(/over the 4 MiB limit/);
    const justFits = Buffer.alloc(MAX_DOCUMENT_BYTES, 0x20);
    justFits.write('{"imageLayoutVersion":"1.0.0"}');
    expect(parseJson(OciLayoutSchema, justFits, 'oci-layout').imageLayoutVersion).toBe('1.0.0');
  });
});
