import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ParseCache } from '../../src/config/parse-cache';
import { loadRegistriesConfig } from '../../src/config/registries';

let dir: string;
let cacheFile: string;
let parses: string[];

/** A parser that counts its calls: the text upper-cased, or undefined for a missing file. */
function parse(path: string): string | undefined {
  parses.push(path);
  try {
    return readFileSync(path, 'utf8').toUpperCase();
  } catch {
    return undefined;
  }
}

/** What a later command gets: a new cache over the same file. */
function later(path: string): string | undefined {
  const c = new ParseCache(cacheFile);
  const v = c.get(path, parse);
  c.save();
  return v;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'selkie-parse-cache-'));
  cacheFile = join(dir, 'cache.json');
  parses = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('ParseCache', () => {
  it('parses a file once, and gives later commands what it gave', () => {
    const f = join(dir, 'a.conf');
    writeFileSync(f, 'one');
    expect(later(f)).toBe('ONE');
    expect(later(f)).toBe('ONE');
    expect(later(f)).toBe('ONE');
    expect(parses).toEqual([f]);
  });

  it('parses again a file written since, or replaced by another of the same size', () => {
    const f = join(dir, 'a.conf');
    writeFileSync(f, 'one');
    expect(later(f)).toBe('ONE');
    writeFileSync(f, 'three');
    expect(later(f)).toBe('THREE');
    const other = join(dir, 'b.conf');
    writeFileSync(other, 'seven');
    renameSync(other, f); // same size, another inode
    expect(later(f)).toBe('SEVEN');
    expect(parses).toHaveLength(3);
  });

  it('keeps neither a missing file nor a parse that failed', () => {
    const f = join(dir, 'missing.conf');
    expect(later(f)).toBeUndefined();
    writeFileSync(f, 'now');
    expect(later(f)).toBe('NOW');
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, 'x');
    const failing = () => {
      throw new Error('invalid');
    };
    for (let i = 0; i < 2; i++) {
      const c = new ParseCache(cacheFile);
      expect(() => c.get(bad, failing)).toThrow('invalid');
      c.save();
    }
  });

  it('starts empty from a cache it cannot read, one of another build, or none at all', () => {
    const f = join(dir, 'a.conf');
    writeFileSync(f, 'one');
    writeFileSync(cacheFile, '{not json');
    expect(later(f)).toBe('ONE');
    const stored = JSON.parse(readFileSync(cacheFile, 'utf8'));
    stored.build = 'another';
    writeFileSync(cacheFile, JSON.stringify(stored));
    expect(later(f)).toBe('ONE');
    expect(parses).toHaveLength(2);
    // nowhere to keep it (its directory gone): every command parses
    const gone = new ParseCache(join(dir, 'no-such-dir', 'cache.json'));
    expect(gone.get(f, parse)).toBe('ONE');
    gone.save();
    expect(new ParseCache(undefined).get(f, parse)).toBe('ONE');
    expect(parses).toHaveLength(4);
  });
});

describe('registries.conf through the cache', () => {
  it('gives the configuration parsing gives, and sees an edit', () => {
    const home = join(dir, 'home');
    const etc = join(dir, 'etc');
    mkdirSync(join(etc, 'registries.conf.d'), { recursive: true });
    writeFileSync(join(etc, 'registries.conf'), 'unqualified-search-registries = ["docker.io"]\n[[registry]]\nlocation = "127.0.0.1:5000"\ninsecure = true\n');
    writeFileSync(join(etc, 'registries.conf.d', 'shortnames.conf'), '[aliases]\n"alpine" = "docker.io/library/alpine"\n');
    const load = (cache: boolean) => loadRegistriesConfig({ env: {}, home, etcDir: etc, cacheFile: cache ? cacheFile : '' });
    const plain = load(false);
    expect(load(true)).toEqual(plain);
    expect(load(true)).toEqual(plain); // from the cache file now
    expect(JSON.parse(readFileSync(cacheFile, 'utf8')).entries).toHaveProperty([join(etc, 'registries.conf')]);
    writeFileSync(join(etc, 'registries.conf.d', 'shortnames.conf'), '[aliases]\n"alpine" = "quay.io/libpod/alpine"\n');
    expect(load(true).aliases.alpine).toBe('quay.io/libpod/alpine');
    writeFileSync(join(etc, 'registries.conf'), 'short-name-mode = "bogus"\n');
    expect(() => load(true)).toThrow(/registries\.conf/);
  });
});
