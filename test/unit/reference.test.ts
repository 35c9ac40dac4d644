import { describe, expect, it } from 'vitest';
import {
  InvalidReferenceError,
  formatReference,
  localName,
  matchesStoredName,
  parseReference,
} from '../../src/image/reference';

const HEX = 'a'.repeat(64);
const DIGEST = `sha256:${HEX}`;

describe('parseReference', () => {
  it('normalizes a Docker Hub short name', () => {
    expect(parseReference('busybox')).toEqual({
      registry: 'docker.io',
      repository: 'library/busybox',
      tag: 'latest',
      qualified: false,
    });
    expect(parseReference('team/app:2')).toEqual({
      registry: 'docker.io',
      repository: 'team/app',
      tag: '2',
      qualified: false,
    });
  });

  it('keeps a named registry', () => {
    expect(parseReference('localhost/mini:1')).toEqual({
      registry: 'localhost',
      repository: 'mini',
      tag: '1',
      qualified: true,
    });
    expect(parseReference('127.0.0.1:5000/team/app:1.2')).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'team/app',
      tag: '1.2',
      qualified: true,
    });
    expect(parseReference('localhost:5000/app').tag).toBe('latest');
    expect(parseReference('quay.io/podman/hello').repository).toBe('podman/hello');
    expect(parseReference('[::1]:5000/app:x').registry).toBe('[::1]:5000');
  });

  it('normalizes docker.io and index.docker.io names', () => {
    expect(formatReference(parseReference('docker.io/busybox'))).toBe('docker.io/library/busybox:latest');
    expect(formatReference(parseReference('index.docker.io/library/busybox:1'))).toBe(
      'docker.io/library/busybox:1',
    );
    expect(parseReference('docker.io/busybox').qualified).toBe(true);
  });

  it('parses digests, with and without a tag', () => {
    expect(parseReference(`busybox@${DIGEST}`)).toEqual({
      registry: 'docker.io',
      repository: 'library/busybox',
      digest: DIGEST,
      qualified: false,
    });
    const both = parseReference(`quay.io/a/b:1@${DIGEST}`);
    expect(both.tag).toBe('1');
    expect(both.digest).toBe(DIGEST);
    expect(formatReference(both)).toBe(`quay.io/a/b:1@${DIGEST}`);
  });

  it('treats a bare host:port as name:tag, as Docker does', () => {
    expect(formatReference(parseReference('localhost:5000'))).toBe('docker.io/library/localhost:5000');
  });

  it('accepts the separators of the grammar', () => {
    for (const ok of ['a.b', 'a_b', 'a__b', 'a-b', 'a---b', 'a/b/c/d', 'x1/y2']) {
      expect(() => parseReference(ok)).not.toThrow();
    }
  });

  it('refuses uppercase in the repository with Docker\'s message', () => {
    expect(() => parseReference('Busybox')).toThrow('invalid reference format: repository name (Busybox) must be lowercase');
    expect(() => parseReference('library/BusyBox:1')).toThrow(/must be lowercase/);
    expect(() => parseReference('Busybox')).toThrow(InvalidReferenceError);
  });

  it('refuses malformed names, tags and digests', () => {
    const bad = [
      '',
      'busybox:',
      ':tag',
      'a//b',
      'a/',
      '/a',
      '-a',
      'a-',
      'a..b',
      'a___b',
      'a b',
      'busybox:-x',
      'busybox:.x',
      `busybox:${'x'.repeat(129)}`,
      'busybox@',
      'busybox@sha256:abc',
      `busybox@sha256:${'A'.repeat(64)}`,
      `busybox@md5:${'a'.repeat(32)}`,
      `busybox@${DIGEST}@${DIGEST}`,
      `@${DIGEST}`,
      'exa_mple.com:5000/x',
      HEX,
      `${'a'.repeat(256)}`,
    ];
    for (const text of bad) {
      expect(() => parseReference(text), text).toThrow(/^invalid reference format: /);
    }
  });

  it('names the faulty part', () => {
    expect(() => parseReference('busybox:a+b')).toThrow(/invalid tag "a\+b"/);
    expect(() => parseReference('busybox@sha256:abc')).toThrow(/invalid digest "sha256:abc"/);
    expect(() => parseReference(HEX)).toThrow(/cannot specify 64-byte hexadecimal strings/);
  });
});

describe('formatReference', () => {
  it('prints full names', () => {
    expect(formatReference(parseReference('busybox'))).toBe('docker.io/library/busybox:latest');
    expect(formatReference(parseReference('localhost/mini:1'))).toBe('localhost/mini:1');
    expect(formatReference(parseReference(`mini@${DIGEST}`))).toBe(`docker.io/library/mini@${DIGEST}`);
  });
});

describe('localName', () => {
  it('stores unqualified names under localhost/', () => {
    expect(localName('mini:1')).toBe('localhost/mini:1');
    expect(localName('mini')).toBe('localhost/mini:latest');
    expect(localName('team/app:2')).toBe('localhost/team/app:2');
    expect(localName(`mini@${DIGEST}`)).toBe(`localhost/mini@${DIGEST}`);
  });

  it('keeps qualified names (normalized)', () => {
    expect(localName('quay.io/a/b:1')).toBe('quay.io/a/b:1');
    expect(localName('docker.io/busybox')).toBe('docker.io/library/busybox:latest');
    expect(localName('localhost/mini')).toBe('localhost/mini:latest');
  });

  it('refuses invalid names', () => {
    expect(() => localName('Mini')).toThrow(/lowercase/);
  });
});

describe('matchesStoredName', () => {
  const cases: Array<[string, string, boolean]> = [
    ['localhost/mini:1', 'mini:1', true],
    ['localhost/mini:1', 'mini', false],
    ['localhost/mini:latest', 'mini', true],
    ['localhost/mini:latest', 'localhost/mini', true],
    ['localhost/mini:1', 'localhost/mini:1', true],
    ['localhost/mini:1', 'localhost/mini:2', false],
    ['docker.io/library/busybox:latest', 'busybox', true],
    ['docker.io/library/busybox:latest', 'library/busybox', true],
    ['docker.io/library/busybox:latest', 'docker.io/busybox', true],
    ['docker.io/library/busybox:latest', 'docker.io/library/busybox:latest', true],
    ['docker.io/library/busybox:latest', 'quay.io/busybox', false],
    ['docker.io/library/busybox:latest', 'box', false], // suffix, but not on a '/' boundary
    ['quay.io/team/app:1', 'app:1', true],
    ['quay.io/team/app:1', 'team/app:1', true],
    ['quay.io/team/app:1', 'eam/app:1', false],
    ['quay.io/team/app:1', 'other/app:1', false],
    ['localhost/mini:1', 'docker.io/mini:1', false],
    [`quay.io/team/app@${DIGEST}`, `app@${DIGEST}`, true],
    [`quay.io/team/app@${DIGEST}`, `app:1@${DIGEST}`, true],
    [`quay.io/team/app@${DIGEST}`, `app@sha256:${'b'.repeat(64)}`, false],
    ['quay.io/team/app:1', `app@${DIGEST}`, false],
    ['not a name', 'mini', false],
    ['localhost/mini:1', 'Not Valid', false],
  ];
  for (const [stored, query, expected] of cases) {
    it(`${query} ${expected ? 'matches' : 'does not match'} ${stored}`, () => {
      expect(matchesStoredName(stored, query)).toBe(expected);
    });
  }
});
