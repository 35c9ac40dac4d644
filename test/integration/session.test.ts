// The session namespace: created on first use, rejoined, re-created when its
// pause process dies; and a user without subordinate IDs.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxEntries, tarOf } from '../../scripts/fixtures.mjs';
import { ensureBusybox, hostUid, ok, pausePid, runRoot, selkie, selkieAsync, tempDir, waitFor } from './helpers';

let IMG: string;
let dir: string;
beforeAll(async () => {
  IMG = await ensureBusybox();
  dir = tempDir();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('session namespace', () => {
  it('is held by a pause process of mine that maps 0 to me and my subordinate range after it', () => {
    ok(['run', '--rm', IMG, 'true']);
    const pid = pausePid()!;
    expect(pid).toBeGreaterThan(0);
    const status = execFileSync('ps', ['-o', 'uid=,comm=', '-p', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/);
    expect(Number(status[0])).toBe(hostUid());
    expect(status[1]).toBe('selkie-pause');
    const map = execFileSync('cat', [`/proc/${pid}/uid_map`], { encoding: 'utf8' }).trim().split('\n')[0].trim().split(/\s+/).map(Number);
    expect(map).toEqual([0, hostUid(), 1]);
  });

  it('runs the runtime from a read-only bind mount of its own, made again when the runtime is replaced', () => {
    // crun skips copying itself at every call when it runs from a read-only mount (see src/runtime/crun.ts).
    const pid = () => pausePid()!;
    const bound = () => `/proc/${pid()}/root${runRoot()}/runtime/crun`;
    const mountOf = () => readFileSync(`/proc/${pid()}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === `${runRoot()}/runtime/crun`);
    ok(['run', '--rm', IMG, 'true']);
    expect(mountOf()?.split(' ')[5].split(',')).toContain('ro');
    expect(statSync(bound()).ino).toBe(statSync('/usr/bin/crun').ino);
    // Another runtime binary (an upgrade): a new inode, bound in its place.
    const copy = join(dir, 'crun');
    copyFileSync('/usr/bin/crun', copy);
    chmodSync(copy, 0o755);
    expect(ok(['run', '--rm', IMG, 'echo', 'copy'], { env: { SELKIE_RUNTIME: copy } })).toBe('copy\n');
    expect(statSync(bound()).ino).toBe(statSync(copy).ino);
    ok(['run', '--rm', IMG, 'true']);
    expect(statSync(bound()).ino).toBe(statSync('/usr/bin/crun').ino);
    expect(mountOf()?.split(' ')[5].split(',')).toContain('ro');
  });

  it('is re-created when its pause process was killed', () => {
    ok(['run', '--rm', IMG, 'true']);
    const old = pausePid()!;
    process.kill(old, 'SIGKILL');
    expect(ok(['run', '--rm', IMG, 'echo', 'again'])).toBe('again\n');
    const fresh = pausePid()!;
    expect(fresh).not.toBe(old);
    expect(ok(['images', '-q']).length).toBeGreaterThan(0);
  });

  it("is joined again through a running container's conmon when its pause process died, so that the container stays reachable", () => {
    const name = `held-${process.pid}`;
    ok(['run', '-d', '--name', name, IMG, 'sleep', '1000']);
    try {
      const old = pausePid()!;
      const ns = readlinkSync(`/proc/${old}/ns/user`);
      process.kill(old, 'SIGKILL');
      // A new namespace would not see the container's mounts: exec would find no `echo`.
      expect(ok(['exec', name, 'echo', 'still here'])).toBe('still here\n');
      const fresh = pausePid()!;
      expect(fresh).not.toBe(old);
      expect(readlinkSync(`/proc/${fresh}/ns/user`)).toBe(ns);
      expect(ok(['ps', '--format', '{{.Names}} {{.Status}}']).split('\n')).toContainEqual(expect.stringMatching(new RegExp(`^${name} Up`)));
    } finally {
      selkie(['rm', '-f', name]);
    }
  });

  it('is joined again through a foreground run when its pause process died (no conmon holds it then)', async () => {
    const name = `fg-${process.pid}`;
    const fg = selkieAsync(['run', '--rm', '--name', name, IMG, 'sleep', '30']);
    try {
      await waitFor(() => ok(['ps', '--format', '{{.Names}}']).split('\n').includes(name));
      const old = pausePid()!;
      const ns = readlinkSync(`/proc/${old}/ns/user`);
      process.kill(old, 'SIGKILL');
      // Held by the foreground selkie, its crun and fuse-overlayfs only.
      expect(ok(['exec', name, 'echo', 'still here'])).toBe('still here\n');
      expect(readlinkSync(`/proc/${pausePid()!}/ns/user`)).toBe(ns);
    } finally {
      selkie(['kill', name]);
      await fg;
    }
  });

  it('runs with a single-ID mapping, and says so, when the user has no subordinate IDs', async () => {
    const empty = join(dir, 'empty-subid');
    writeFileSync(empty, '');
    const runtime = join(dir, 'runtime');
    execFileSync('mkdir', ['-m', '700', runtime]);
    const env = {
      SELKIE_SUBUID_FILE: empty,
      SELKIE_SUBGID_FILE: empty,
      XDG_RUNTIME_DIR: runtime,
      XDG_DATA_HOME: join(dir, 'data'),
    };
    // an image whose files all belong to root: the only ID there is
    const tar = join(dir, 'root-only.tar');
    writeFileSync(tar, await tarOf(busyboxEntries().filter((e) => !e.uid && !e.gid)));
    const imp = selkie(['import', tar, 'localhost/rootonly:1'], { env });
    expect(imp.code).toBe(0);
    expect(imp.stderr).toMatch(/no subordinate UIDs .* single-ID mapping/);
    const out = selkie(['run', '--rm', 'localhost/rootonly:1', 'cat', '/proc/self/uid_map'], { env });
    expect(out.code).toBe(0);
    expect(out.stdout.trim().split(/\s+/).map(Number)).toEqual([0, hostUid(), 1]);
    // files owned by other IDs cannot be stored: a clear error, not a silent change of owner
    const full = join(dir, 'full.tar');
    writeFileSync(full, await tarOf(busyboxEntries()));
    const bad = selkie(['import', full, 'localhost/full:1'], { env });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/33/);
    const pause = Number(execFileSync('cut', ['-d', ' ', '-f1', join(runtime, 'selkie', 'pause.pid')], { encoding: 'utf8' }).trim());
    process.kill(pause, 'SIGKILL');
  });
});
