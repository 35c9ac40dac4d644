// Which driver mounts a container's root: kernel overlay for an image whose
// files all belong to root (no ID shifting needed under the default mapping),
// fuse-overlayfs when owners must be shifted into the container's block.
// Either way, owners inside the container and in a commit are the container's.
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { busyboxEntries } from '../../scripts/fixtures.mjs';
import { ensureBusybox, graphRoot, loadDockerArchive, ok, selkie, sessionMounts } from './helpers';

const ROOT_IMG = 'localhost/itest-rootowned:1';
let OWNERS_IMG: string;

beforeAll(async () => {
  OWNERS_IMG = await ensureBusybox();
  const entries = busyboxEntries().map((e) => ({ ...e, uid: 0, gid: 0 }));
  const r = await loadDockerArchive(ROOT_IMG, [entries]);
  if (r.code !== 0) throw new Error(r.stderr);
});

const driver = (name: string) => ok(['inspect', '-f', '{{.Driver}}', name]).trim();

describe('storage driver per container', () => {
  it('uses kernel overlay for a root-owned image, fuse-overlayfs for several owners, under the default mapping', () => {
    ok(['create', '--name', 'drv-root', ROOT_IMG, 'true']);
    ok(['create', '--name', 'drv-owners', OWNERS_IMG, 'true']);
    ok(['create', '--name', 'drv-auto', '--userns=auto', ROOT_IMG, 'true']);
    expect(driver('drv-root')).toBe('overlay');
    expect(driver('drv-owners')).toBe('fuse-overlayfs');
    // auto: the container's root is not S's root, so root's files need shifting.
    expect(driver('drv-auto')).toBe('fuse-overlayfs');
    ok(['rm', 'drv-root', 'drv-owners', 'drv-auto']);
  });

  it('kernel overlay under a private block: owners right inside, isolated writes, and a commit keeps container IDs', () => {
    const out = ok([
      'run', '--name', 'drv-write', ROOT_IMG, 'sh', '-c',
      'ls -ln /bin/busybox | awk "{print \\$3\\":\\"\\$4}"; sed -n 2p /proc/self/uid_map | awk "{print \\$1}"; echo data > /f33; chown 33:33 /f33; su -s /bin/sh www-data -c "touch /tmp/by33"; stat -c %u:%g /f33 /tmp/by33',
    ]);
    expect(out).toBe('0:0\n1\n33:33\n33:33\n');
    expect(driver('drv-write')).toBe('overlay');
    // The image is untouched by the container's writes.
    expect(ok(['run', '--rm', ROOT_IMG, 'sh', '-c', 'ls /f33 2>&1 || true'])).toMatch(/No such file/);
    ok(['commit', '-q', 'drv-write', 'localhost/itest-rootowned:committed']);
    expect(ok(['run', '--rm', 'localhost/itest-rootowned:committed', 'stat', '-c', '%u:%g', '/f33', '/tmp/by33'])).toBe('33:33\n33:33\n');
    ok(['rm', 'drv-write']);
    ok(['rmi', 'localhost/itest-rootowned:committed']);
  });

  it('a --rm container (volatile upper layer) can be mounted again before it starts', () => {
    // cp mounts and unmounts the root; the kernel marks a volatile upper as used.
    ok(['create', '--rm', '--name', 'drv-volatile', '--network', 'none', ROOT_IMG, 'cat', '/etc/hostname-copy']);
    expect(ok(['cp', 'drv-volatile:/etc/passwd', '-']).length).toBeGreaterThan(0);
    ok(['cp', '/etc/hostname', 'drv-volatile:/etc/hostname-copy']);
    expect(ok(['start', '-a', 'drv-volatile'])).toBe(readFileSync('/etc/hostname', 'utf8'));
    expect(selkie(['container', 'exists', 'drv-volatile']).code).toBe(1);
  });

  it('a fuse-overlayfs mount that fails (its layer gone) is a clear error, and leaves no mount behind', async () => {
    // An image of its own, with several owners, so that moving its layer aside touches nothing else.
    const img = 'localhost/itest-fuse-fail:1';
    const r = await loadDockerArchive(img, [busyboxEntries([{ name: 'fuse-fail', type: 'file', mode: 0o644, uid: 33, gid: 33, content: Buffer.from('x') }])]);
    expect(r.code, r.stderr).toBe(0);
    const layer = join(graphRoot(), 'layers', ok(['image', 'inspect', '-f', '{{index .RootFS.Layers 0}}', img]).trim().replace('sha256:', ''));
    const id = ok(['create', '--network', 'none', img, 'true']).trim();
    expect(driver(id)).toBe('fuse-overlayfs');
    renameSync(layer, `${layer}.aside`);
    try {
      const failed = selkie(['start', '-a', id]);
      expect(failed.code).toBe(125);
      expect(failed.stderr).toContain('fuse-overlayfs failed to mount');
      expect(sessionMounts().some((m) => m.includes(id))).toBe(false);
    } finally {
      renameSync(`${layer}.aside`, layer);
    }
    expect(selkie(['start', '-a', id]).code).toBe(0);
    ok(['rm', id]);
    ok(['rmi', img]);
  });
});
