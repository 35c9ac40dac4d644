// The built bundles (npm ci builds them before the tests run): what the
// start-up of every command depends on.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import Module from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');
const dist = (name: string) => readFileSync(join(root, 'dist', name), 'utf8');

describe('bundles', () => {
  it('load heavy built-ins on first use, not at start-up', () => {
    for (const name of ['selkie-main.js', 'selkie-extra.js']) {
      const eager = dist(name).match(/\brequire\("(node:)?(child_process|net|dgram|stream|os|tls|https|crypto)"\)/g);
      expect(eager, name).toBeNull();
    }
    expect(dist('selkie-main.js').includes('__lazy("node:child_process")')).toBe(true);
  });

  it('are ASCII, as the boot script reads them (latin1, no UTF-8 decoding)', () => {
    for (const name of ['selkie-main.js', 'selkie-extra.js']) {
      expect(/[^\x00-\x7f]/.exec(dist(name))?.index, name).toBeUndefined();
    }
    expect(readFileSync(join(root, 'scripts', 'boot.cjs'), 'utf8')).toContain("readFileSync(file, 'latin1')");
  });

  it('name their sources in their source maps, past the wrapper line', () => {
    for (const name of ['selkie-main.js', 'selkie-extra.js']) {
      const map = JSON.parse(dist(`${name}.map`)) as { sources: string[]; mappings: string };
      expect(map.mappings.startsWith(';'), name).toBe(true); // line 1 is the CommonJS wrapper
      const ours = map.sources.filter((s) => s.startsWith('../src/'));
      expect(ours.length, name).toBeGreaterThan(10);
      for (const s of ours) expect(existsSync(join(root, 'dist', s)), s).toBe(true);
    }
    // Node's own CommonJS wrapper, its first line alone.
    const head = Module.wrap('').slice(0, Module.wrap('').indexOf('{') + 1);
    expect(head).toMatch(/^\(function \(exports, require, module, __filename, __dirname\) \{$/);
    expect(dist('selkie-main.js').split('\n')[0].trim()).toBe(head);
  });

  it('keep lines and columns for the source maps', () => {
    // Each replaced call is padded to the length of the require() it replaced.
    for (const m of dist('selkie-main.js').matchAll(/__lazy\("([^"]+)"\)( *)/g)) {
      expect(m[0].length).toBeGreaterThanOrEqual(`require("${m[1]}")`.length);
    }
  });

  it('give a lazy built-in all of the real module', () => {
    const script = `
      const { lazyBuiltin } = require(${JSON.stringify(join(root, 'scripts', 'boot.cjs'))});
      const os = lazyBuiltin('node:os');
      const before = process.moduleLoadList.includes('NativeModule os');
      const ok = typeof os.homedir === 'function' && 'constants' in os && Object.keys(os).includes('platform') && os.constants.signals.SIGTERM === 15;
      process.stdout.write(JSON.stringify({ before, ok }));
    `;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ before: false, ok: true });
  });

  it('start Node with no V8 flags, under which Node loads its built-ins from its own code cache (native/launcher.c)', () => {
    // SELKIE_NODE=echo: the launcher's exec prints the command line it would start Node with.
    const argv = (...args: string[]) => {
      const r = spawnSync(join(root, 'bin', 'selkie'), args, { encoding: 'utf8', env: { ...process.env, SELKIE_NODE: 'echo' } });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const boot = join(root, 'dist', 'selkie.js');
    expect(argv('run', '--rm', 'img', 'true')).toBe(`${boot} run --rm img true`);
    expect(argv('--root', '/r', 'pull', 'alpine')).toBe(`${boot} --root /r pull alpine`);
  });

  it('find a code cache V8 accepts', () => {
    for (const args of [['version'], ['pull', '--help']]) {
      const r = spawnSync(join(root, 'bin', 'selkie'), args, { encoding: 'utf8', env: { ...process.env, SELKIE_TRACE: '1', SELKIE_NO_WARM: '1' } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(/selkie-main\.js compiled \((build|kind) cache(, mapped)?\)/);
    }
  });

  it('are handed to V8 mapped from their files, or read where the small addon is missing', () => {
    const { mapFile } = require(join(root, 'build', 'Release', 'selkie_map.node'));
    const file = join(root, 'dist', 'selkie-main.js');
    expect(mapFile(file, true)).toBe(readFileSync(file, 'latin1'));
    expect(Buffer.compare(mapFile(`${file}.cache`, false), readFileSync(`${file}.cache`))).toBe(0);
    expect(() => mapFile(join(root, 'no-such-file'), true)).toThrow(/ENOENT/);
    const env = { ...process.env, SELKIE_TRACE: '1', SELKIE_NO_WARM: '1' };
    const mapped = spawnSync(process.execPath, [join(root, 'dist', 'selkie.js'), 'version'], { encoding: 'utf8', env });
    expect(mapped.status, mapped.stderr).toBe(0);
    expect(mapped.stderr).toMatch(/selkie-main\.js compiled \((build|kind) cache, mapped\)/);
    // A copy of dist/ with no build/ beside it: the same bundle, read.
    const copy = mkdtempSync(join(tmpdir(), 'selkie-dist-'));
    try {
      cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
      const read = spawnSync(process.execPath, [join(copy, 'dist', 'selkie.js'), 'version'], { encoding: 'utf8', env });
      expect(read.status, read.stderr).toBe(0);
      expect(read.stderr).toMatch(/selkie-main\.js compiled \((build|kind) cache\)/);
      expect(read.stdout).toBe(mapped.stdout);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
