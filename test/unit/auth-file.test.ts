import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  authFilePath,
  findCredentials,
  normalizeAuthKey,
  removeAllCredentials,
  removeCredentials,
  storeCredentials,
} from '../../src/image/registry/auth-file';

const VARS = ['HOME', 'XDG_RUNTIME_DIR', 'XDG_CONFIG_HOME', 'REGISTRY_AUTH_FILE', 'DOCKER_CONFIG'] as const;
let saved: Record<string, string | undefined>;
let root: string;
let runtime: string;
let home: string;

const b64 = (s: string) => Buffer.from(s).toString('base64');

function writeJson(path: string, value: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
}

beforeEach(() => {
  saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]));
  root = mkdtempSync(join(tmpdir(), 'selkie-auth-'));
  runtime = join(root, 'run');
  home = join(root, 'home');
  mkdirSync(runtime, { mode: 0o700 });
  mkdirSync(home);
  for (const v of VARS) delete process.env[v];
  process.env.HOME = home;
  process.env.XDG_RUNTIME_DIR = runtime;
});

afterEach(() => {
  for (const v of VARS) {
    if (saved[v] === undefined) delete process.env[v];
    else process.env[v] = saved[v];
  }
  rmSync(root, { recursive: true, force: true });
});

describe('authFilePath', () => {
  it('follows --authfile, then REGISTRY_AUTH_FILE, then XDG_RUNTIME_DIR', () => {
    expect(authFilePath()).toBe(join(runtime, 'containers', 'auth.json'));
    process.env.REGISTRY_AUTH_FILE = join(root, 'env.json');
    expect(authFilePath()).toBe(join(root, 'env.json'));
    expect(authFilePath(join(root, 'flag.json'))).toBe(join(root, 'flag.json'));
    delete process.env.REGISTRY_AUTH_FILE;
    delete process.env.XDG_RUNTIME_DIR;
    expect(authFilePath()).toBe(join(home, '.config', 'containers', 'auth.json'));
  });
});

describe('normalizeAuthKey', () => {
  it('reduces Docker-style URL keys to registries', () => {
    expect(normalizeAuthKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeAuthKey('index.docker.io')).toBe('docker.io');
    expect(normalizeAuthKey('http://localhost:5000')).toBe('localhost:5000');
    expect(normalizeAuthKey('https://quay.io/v2/')).toBe('quay.io');
    expect(normalizeAuthKey('quay.io/v1/')).toBe('quay.io');
    expect(normalizeAuthKey('quay.io/ns/repo')).toBe('quay.io/ns/repo');
    expect(normalizeAuthKey('index.docker.io/library/busybox')).toBe('docker.io/library/busybox');
  });
});

describe('store / find / remove', () => {
  it('stores atomically with mode 0600 in a 0700 directory and reads it back', () => {
    storeCredentials('127.0.0.1:5000', { username: 'alice', password: 'pa:ss' });
    const path = join(runtime, 'containers', 'auth.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(runtime, 'containers')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
      auths: { '127.0.0.1:5000': { auth: b64('alice:pa:ss') } },
    });
    expect(findCredentials('127.0.0.1:5000', 'a/b')).toEqual({ username: 'alice', password: 'pa:ss' });
    expect(findCredentials('127.0.0.1:5001', 'a/b')).toBeUndefined();
  });

  it('keeps other entries and top-level fields', () => {
    const path = join(runtime, 'containers', 'auth.json');
    writeJson(path, { auths: { 'quay.io': { auth: b64('q:1') } }, credHelpers: { 'x.io': 'foo' } });
    storeCredentials('docker.io', { username: 'd', password: '2' });
    const doc = JSON.parse(readFileSync(path, 'utf8'));
    expect(doc.credHelpers).toEqual({ 'x.io': 'foo' });
    expect(Object.keys(doc.auths).sort()).toEqual(['docker.io', 'quay.io']);
    // replacing rewrites the entry, whatever spelling it had
    writeJson(path, { auths: { 'https://index.docker.io/v1/': { auth: b64('old:x') } } });
    storeCredentials('docker.io', { username: 'new', password: 'y' });
    expect(JSON.parse(readFileSync(path, 'utf8')).auths).toEqual({ 'docker.io': { auth: b64('new:y') } });
  });

  it('picks the most specific key', () => {
    writeJson(join(runtime, 'containers', 'auth.json'), {
      auths: {
        'quay.io': { auth: b64('reg:1') },
        'quay.io/ns': { auth: b64('ns:2') },
        'quay.io/ns/repo': { auth: b64('repo:3') },
      },
    });
    expect(findCredentials('quay.io', 'ns/repo')?.username).toBe('repo');
    expect(findCredentials('quay.io', 'ns/other')?.username).toBe('ns');
    expect(findCredentials('quay.io', 'ns/repo/sub')?.username).toBe('repo');
    expect(findCredentials('quay.io', 'other/x')?.username).toBe('reg');
    expect(findCredentials('quay.io', undefined)?.username).toBe('reg');
    // a prefix that is not a path component boundary does not match
    expect(findCredentials('quay.io', 'nsx/repo')?.username).toBe('reg');
  });

  it('falls back to Docker config.json, DOCKER_CONFIG and identity tokens', () => {
    writeJson(join(home, '.docker', 'config.json'), {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:pw') },
        'registry.example:5000': { identitytoken: 'refresh-me' },
      },
    });
    expect(findCredentials('docker.io', 'library/busybox')).toEqual({ username: 'hub', password: 'pw' });
    expect(findCredentials('index.docker.io', 'library/busybox')?.username).toBe('hub');
    expect(findCredentials('registry.example:5000', 'x')).toEqual({ username: '<token>', password: 'refresh-me' });
    // the primary file wins over Docker's
    storeCredentials('docker.io', { username: 'mine', password: 'p' });
    expect(findCredentials('docker.io', 'library/busybox')?.username).toBe('mine');

    process.env.DOCKER_CONFIG = join(root, 'dockercfg');
    writeJson(join(root, 'dockercfg', 'config.json'), { auths: { 'ghcr.io': { auth: b64('gh:1') } } });
    expect(findCredentials('ghcr.io', 'a/b')?.username).toBe('gh');
    expect(findCredentials('registry.example:5000', 'x')).toBeUndefined(); // $HOME/.docker is no longer read
  });

  it('reads XDG_CONFIG_HOME and legacy .dockercfg', () => {
    process.env.XDG_CONFIG_HOME = join(root, 'cfg');
    writeJson(join(root, 'cfg', 'containers', 'auth.json'), { auths: { 'a.io': { auth: b64('a:1') } } });
    writeJson(join(home, '.dockercfg'), { 'https://b.io': { auth: b64('b:2') } });
    expect(findCredentials('a.io', 'x')?.username).toBe('a');
    expect(findCredentials('b.io', 'x')?.username).toBe('b');
  });

  it('an explicit file is the only one read', () => {
    writeJson(join(home, '.docker', 'config.json'), { auths: { 'docker.io': { auth: b64('hub:pw') } } });
    const explicit = join(root, 'explicit.json');
    expect(findCredentials('docker.io', 'library/x', explicit)).toBeUndefined();
    storeCredentials('docker.io', { username: 'e', password: 'p' }, explicit);
    expect(findCredentials('docker.io', 'library/x', explicit)?.username).toBe('e');
    process.env.REGISTRY_AUTH_FILE = explicit;
    expect(findCredentials('docker.io', 'library/x')?.username).toBe('e');
    expect(authFilePath()).toBe(explicit);
  });

  it('removes one key or all, in the primary file only', () => {
    storeCredentials('quay.io', { username: 'q', password: '1' });
    storeCredentials('quay.io/ns/repo', { username: 'r', password: '2' });
    writeJson(join(home, '.docker', 'config.json'), { auths: { 'ghcr.io': { auth: b64('g:3') } } });
    expect(removeCredentials('quay.io/ns/repo')).toBe(true);
    expect(removeCredentials('quay.io/ns/repo')).toBe(false);
    expect(removeCredentials('ghcr.io')).toBe(false);
    expect(findCredentials('quay.io', 'ns/repo')?.username).toBe('q');
    removeAllCredentials();
    expect(findCredentials('quay.io', 'ns/repo')).toBeUndefined();
    expect(findCredentials('ghcr.io', 'x')?.username).toBe('g');
    const path = join(runtime, 'containers', 'auth.json');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ auths: {} });
    rmSync(path);
    expect(removeCredentials('quay.io')).toBe(false);
    expect(() => removeAllCredentials()).not.toThrow();
  });

  it('never puts secrets in errors', () => {
    const path = join(runtime, 'containers', 'auth.json');
    mkdirSync(join(runtime, 'containers'), { recursive: true });
    writeFileSync(path, '{"auths": {"quay.io": {"auth": "c2VjcmV0LXBhc3N3b3Jk"}} , secret-password');
    let err: Error | undefined;
    try {
      findCredentials('quay.io', 'x');
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toContain(path);
    expect(err?.message).not.toContain('secret');
    // refuses to clobber a file it cannot parse
    expect(() => storeCredentials('quay.io', { username: 'u', password: 'p' })).toThrow(/not valid JSON/);

    writeJson(path, { auths: { 'quay.io': { auth: b64('no-colon-secret') } } });
    expect(() => findCredentials('quay.io', 'x')).toThrow(/invalid credentials for "quay.io"/);
    try {
      findCredentials('quay.io', 'x');
    } catch (e) {
      expect((e as Error).message).not.toContain('secret');
      expect((e as Error).message).not.toContain(b64('no-colon-secret'));
    }
    expect(() => storeCredentials('quay.io', { username: 'a:b', password: 'p' })).toThrow(/username/);
  });

  it('ignores entries it cannot use and odd keys', () => {
    mkdirSync(join(runtime, 'containers'), { recursive: true });
    writeFileSync(
      join(runtime, 'containers', 'auth.json'),
      `{"auths": {"quay.io": {"auth": ""}, "x.io": "nonsense", "__proto__": {"auth": "${b64('p:q')}"}}}`,
    );
    expect(findCredentials('quay.io', 'a')).toBeUndefined();
    expect(findCredentials('x.io', 'a')).toBeUndefined();
    expect(findCredentials('__proto__', undefined)?.username).toBe('p');
    storeCredentials('y.io', { username: 'y', password: 'z' });
    expect(findCredentials('y.io', 'a')?.username).toBe('y');
    expect(findCredentials('__proto__', undefined)?.username).toBe('p');
  });
});
