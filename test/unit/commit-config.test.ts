import { describe, expect, it } from 'vitest';
import { commitConfig, layerMediaTypeFor, parseCommitFormat } from '../../src/engine/commit';
import type { ImageConfig } from '../../src/image/schema';
import { MEDIA } from '../../src/image/types';

const D0 = `sha256:${'a'.repeat(64)}`;
const D1 = `sha256:${'b'.repeat(64)}`;
const NOW = '2025-05-06T07:08:09.000Z';

const parent = {
  architecture: 'amd64',
  os: 'linux',
  created: '2024-01-01T00:00:00Z',
  author: 'parent author',
  config: { Env: ['PATH=/bin'], Cmd: ['sh'], ExposedPorts: { '80/tcp': {} }, Labels: { from: 'image' }, StopSignal: 'SIGQUIT' },
  rootfs: { type: 'layers', diff_ids: [D0] },
  history: [{ created: '2024-01-01T00:00:00Z', created_by: 'selkie import' }],
  container_config: { Cmd: ['build', 'step'] },
  container: 'abc',
} as unknown as ImageConfig;

const container = {
  env: ['PATH=/bin', 'FROM_RUN=1'],
  cmd: ['sh', '-c', 'echo hi > /hello'],
  entrypoint: [],
  workingDir: '/srv',
  user: '33',
  labels: { from: 'image', run: 'label' },
  stopSignal: 'SIGQUIT',
  args: ['sh', '-c', 'echo hi > /hello'],
};

describe('the committed image config', () => {
  it('is the parent config with the container\'s run settings, one more layer and history entry', () => {
    const c = commitConfig(parent, container, { author: 'me', message: 'msg', format: 'oci', diffID: D1, now: NOW }) as Record<string, any>;
    expect(c.architecture).toBe('amd64');
    expect(c.created).toBe(NOW);
    expect(c.author).toBe('me');
    expect(c.config).toEqual({
      Env: ['PATH=/bin', 'FROM_RUN=1'],
      Cmd: ['sh', '-c', 'echo hi > /hello'],
      ExposedPorts: { '80/tcp': {} },
      Labels: { from: 'image', run: 'label' },
      StopSignal: 'SIGQUIT',
      WorkingDir: '/srv',
      User: '33',
    });
    expect(c.rootfs).toEqual({ type: 'layers', diff_ids: [D0, D1] });
    expect(c.history).toEqual([
      { created: '2024-01-01T00:00:00Z', created_by: 'selkie import' },
      { created: NOW, created_by: 'sh -c echo hi > /hello', author: 'me', comment: 'msg' },
    ]);
    // the parent's build container is not this image's
    expect(c.container_config).toBeUndefined();
    expect(c.container).toBeUndefined();
    // the parent itself is untouched
    expect(parent.rootfs.diff_ids).toEqual([D0]);
    expect(parent.history).toHaveLength(1);
  });

  it('applies --change last, and keeps the parent\'s author when none is given', () => {
    const c = commitConfig(parent, container, {
      changes: ['CMD ["cat","/hello"]', 'ENV EXTRA=1', 'LABEL run=changed', 'ENTRYPOINT ["/bin/env"]'],
      format: 'oci',
      diffID: D1,
      now: NOW,
    }) as Record<string, any>;
    expect(c.config.Cmd).toEqual(['cat', '/hello']);
    expect(c.config.Entrypoint).toEqual(['/bin/env']);
    expect(c.config.Env).toEqual(['PATH=/bin', 'FROM_RUN=1', 'EXTRA=1']);
    expect(c.config.Labels).toEqual({ from: 'image', run: 'changed' });
    expect(c.author).toBe('parent author');
    expect(c.history.at(-1)).toEqual({ created: NOW, created_by: 'sh -c echo hi > /hello' });
  });

  it('drops an empty command, entrypoint and user instead of writing empty values', () => {
    const c = commitConfig(
      { ...parent, config: { Entrypoint: ['/old'], User: 'app' } } as ImageConfig,
      { ...container, cmd: [], entrypoint: [], user: '', labels: {} },
      { format: 'oci', diffID: D1, now: NOW },
    ) as Record<string, any>;
    expect(c.config.Cmd).toBeUndefined();
    expect(c.config.Entrypoint).toBeUndefined();
    expect(c.config.User).toBeUndefined();
    expect(c.config.Labels).toBeUndefined();
  });

  it('ONBUILD: kept in the docker format, dropped with a warning in OCI', () => {
    const warnings: string[] = [];
    const oci = commitConfig(parent, container, { changes: ['ONBUILD RUN x'], format: 'oci', diffID: D1, now: NOW, warn: (m) => warnings.push(m) }) as Record<string, any>;
    expect(oci.config.OnBuild).toBeUndefined();
    expect(warnings[0]).toMatch(/ONBUILD is not supported for OCI image format/);
    const docker = commitConfig(parent, container, { changes: ['ONBUILD RUN x'], format: 'docker', diffID: D1, now: NOW }) as Record<string, any>;
    expect(docker.config.OnBuild).toEqual(['RUN x']);
  });

  it('refuses a bad --change', () => {
    expect(() => commitConfig(parent, container, { changes: ['FROM x'], format: 'oci', diffID: D1, now: NOW })).toThrow(/FROM is not one of/);
  });
});

describe('formats', () => {
  it('parses --format', () => {
    expect(parseCommitFormat(undefined)).toBe('oci');
    expect(parseCommitFormat('docker')).toBe('docker');
    expect(() => parseCommitFormat('v2s1')).toThrow(/unrecognized image type "v2s1"/);
  });

  it('names the parent\'s layer blobs in the chosen format', () => {
    expect(layerMediaTypeFor('oci', MEDIA.dockerLayerGzip)).toBe(MEDIA.ociLayerGzip);
    expect(layerMediaTypeFor('docker', MEDIA.ociLayerGzip)).toBe(MEDIA.dockerLayerGzip);
    expect(layerMediaTypeFor('docker', MEDIA.ociLayer)).toBe(MEDIA.dockerLayer);
    expect(layerMediaTypeFor('oci', MEDIA.ociLayerZstd)).toBe(MEDIA.ociLayerZstd);
    expect(() => layerMediaTypeFor('docker', MEDIA.ociLayerZstd)).toThrow(/use --format oci/);
  });
});
