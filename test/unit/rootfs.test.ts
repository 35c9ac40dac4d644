// Resolving image-controlled paths inside a root: never outside it.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExecutable, resolveUser, RootFs } from '../../src/runtime/rootfs';

let dir: string;
let rootPath: string;
let root: RootFs;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'selkie-rootfs-'));
  rootPath = join(dir, 'root');
  mkdirSync(join(rootPath, 'etc'), { recursive: true });
  mkdirSync(join(rootPath, 'bin'));
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(rootPath, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nweb:x:33:34:web:/var/www:/bin/sh\nbroken:x:abc:1::/:/bin/sh\n');
  writeFileSync(join(rootPath, 'etc/group'), 'root:x:0:\nweb:x:34:\nextra:x:99:web\n');
  writeFileSync(join(rootPath, 'bin/tool'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(rootPath, 'bin/data'), 'x', { mode: 0o644 });
  writeFileSync(join(dir, 'outside/passwd'), 'evil:x:0:0::/:/bin/sh\n');
  writeFileSync(join(dir, 'outside/tool'), '', { mode: 0o755 });
  symlinkSync('/bin/tool', join(rootPath, 'bin/abs-link'));
  symlinkSync('../../outside/tool', join(rootPath, 'bin/escape'));
  symlinkSync(join(dir, 'outside'), join(rootPath, 'evil'));
  execFileSync('mkfifo', [join(rootPath, 'etc/fifo')]);
  root = new RootFs(rootPath);
});
afterAll(() => {
  root.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RootFs', () => {
  it('resolves absolute symlinks inside the root, and ".." stops at the root', () => {
    expect(root.stat('/bin/abs-link')?.isFile()).toBe(true);
    // ../../outside/tool resolves to /outside/tool inside the root: absent
    expect(root.stat('/bin/escape')).toBeUndefined();
    expect(root.readFile('/evil/passwd')).toBeUndefined();
  });
  it('never opens a FIFO', () => {
    expect(root.readFile('/etc/fifo')).toBeUndefined();
  });
  it('refuses files over the cap', () => {
    expect(() => root.readFile('/etc/passwd', 10)).toThrow(/larger than 10 bytes/);
  });
  it('creates directories inside the root only', () => {
    expect(root.ensureDir('/work/a/b')).toBe(true);
    expect(existsSync(join(rootPath, 'work/a/b'))).toBe(true);
    expect(root.ensureDir('/work/a/b')).toBe(false);
    // /evil points at a host directory: inside the root that path does not exist
    expect(() => root.ensureDir('/evil/made-here')).toThrow(/is not a directory/);
    expect(existsSync(join(dir, 'outside/made-here'))).toBe(false);
  });
});

describe('users', () => {
  it('resolves names, numbers, groups and supplementary groups', () => {
    expect(resolveUser(root, '')).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root' });
    expect(resolveUser(root, 'web')).toEqual({ uid: 33, gid: 34, additionalGids: [99], home: '/var/www' });
    expect(resolveUser(root, '33')).toMatchObject({ uid: 33, gid: 34 });
    expect(resolveUser(root, '4242')).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: '/' });
    expect(resolveUser(root, 'web:extra')).toEqual({ uid: 33, gid: 99, additionalGids: [], home: '/var/www' });
    expect(resolveUser(root, '5:6')).toMatchObject({ uid: 5, gid: 6 });
    expect(() => resolveUser(root, 'nobody-here')).toThrow(/unable to find user nobody-here/);
    expect(() => resolveUser(root, 'web:nogroup')).toThrow(/unable to find group nogroup/);
    expect(() => resolveUser(root, '99999999999')).toThrow(/out of range/);
  });
});

describe('executables', () => {
  it('finds commands on PATH and by path; 127 when missing, 126 when not executable', () => {
    expect(checkExecutable(root, 'tool', ['PATH=/usr/bin:/bin'])).toEqual({ ok: true, path: '/bin/tool' });
    expect(checkExecutable(root, '/bin/abs-link', [])).toMatchObject({ ok: true });
    expect(checkExecutable(root, 'nope', ['PATH=/bin'])).toMatchObject({ ok: false, code: 127 });
    expect(checkExecutable(root, '/bin/data', [])).toMatchObject({ ok: false, code: 126 });
    expect(checkExecutable(root, '/etc', [])).toMatchObject({ ok: false, code: 126 });
    expect(checkExecutable(root, 'escape', ['PATH=/bin'])).toMatchObject({ ok: false, code: 127 });
    chmodSync(join(rootPath, 'bin/data'), 0o644);
  });
});
