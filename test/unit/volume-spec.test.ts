// -v/--mount parsing, the volume store (atomic create, taken names, removal)
// and the volume filters.
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMountFlag, parseMounts, parseVolumeFlag } from '../../src/engine/mount-spec';
import { volumeFilter } from '../../src/engine/volumes';
import { scrubOpaqueMarkers } from '../../src/storage/id-tree';
import { VolumeExistsError, VolumeStore, type VolumeRecord } from '../../src/state/volumes';

describe('-v', () => {
  it('names, host paths and anonymous volumes', () => {
    expect(parseVolumeFlag('data:/srv')).toMatchObject({ type: 'volume', source: 'data', destination: '/srv', readOnly: false, chown: false });
    expect(parseVolumeFlag('/host/dir:/d:ro,U,z')).toMatchObject({ type: 'bind', source: '/host/dir', destination: '/d', readOnly: true, chown: true, options: [] });
    expect(parseVolumeFlag('./rel:/d')).toMatchObject({ type: 'bind', source: './rel' });
    expect(parseVolumeFlag('/anon')).toMatchObject({ type: 'volume', source: undefined, destination: '/anon' });
    expect(parseVolumeFlag('/anon:ro')).toMatchObject({ type: 'volume', source: undefined, readOnly: true });
    expect(parseVolumeFlag('v:/d/:rw,rshared,Z,nocopy')).toMatchObject({ destination: '/d', options: ['rshared'], noCopy: true });
  });

  it('idmap: the container\'s own mapping only', () => {
    expect(parseVolumeFlag('/h:/d:idmap,ro')).toMatchObject({ type: 'bind', readOnly: true, options: ['idmap'] });
    expect(parseMountFlag('type=bind,src=/h,dst=/c,idmap')).toMatchObject({ options: ['idmap'] });
    expect(() => parseVolumeFlag('/h:/d:idmap=uids=0-1-10')).toThrow(/idmap with a mapping of its own is not supported/);
    expect(() => parseMountFlag('type=bind,src=/h,dst=/c,idmap=uids=0-1-10')).toThrow(/idmap with a mapping of its own is not supported/);
    expect(() => parseMountFlag('type=tmpfs,dst=/t,idmap')).toThrow(/idmap applies to bind mounts and volumes/);
  });

  it('refuses what cannot be mounted', () => {
    expect(() => parseVolumeFlag('v:rel')).toThrow(/must be absolute/);
    expect(() => parseVolumeFlag('v:/d:bogus')).toThrow(/unknown option "bogus"/);
    expect(() => parseVolumeFlag('a:b:c:d')).toThrow(/invalid volume specification/);
    expect(() => parseVolumeFlag('bad$name:/d')).toThrow(/neither an absolute path nor a valid volume name/);
    expect(() => parseVolumeFlag(':/d')).toThrow(/invalid volume specification/);
  });
});

describe('--mount', () => {
  it('bind, volume and tmpfs', () => {
    expect(parseMountFlag('type=bind,src=/h,dst=/c,ro,relabel=private,bind-propagation=rslave')).toMatchObject({
      type: 'bind', source: '/h', destination: '/c', readOnly: true, options: ['rslave'],
    });
    expect(parseMountFlag('type=volume,source=v,target=/c,readonly=false,volume-nocopy')).toMatchObject({ type: 'volume', source: 'v', readOnly: false, noCopy: true });
    expect(parseMountFlag('type=volume,dst=/anon')).toMatchObject({ type: 'volume', source: undefined });
    expect(parseMountFlag('type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777')).toMatchObject({
      type: 'tmpfs', destination: '/t', options: ['rw', 'nosuid', 'nodev', 'size=64m', 'mode=1777'],
    });
    expect(parseMountFlag('type=bind,src=/h,dst=/c,U=true')).toMatchObject({ chown: true });
  });

  it('refuses bad fields', () => {
    expect(() => parseMountFlag('type=nfs,dst=/c')).toThrow(/not supported/);
    expect(() => parseMountFlag('type=bind,dst=/c')).toThrow(/needs src/);
    expect(() => parseMountFlag('type=bind,src=/h')).toThrow(/destination/);
    expect(() => parseMountFlag('type=tmpfs,dst=/t,tmpfs-mode=999')).toThrow(/octal/);
    expect(() => parseMountFlag('type=tmpfs,dst=/t,tmpfs-size=lots')).toThrow(/tmpfs-size/);
    expect(() => parseMountFlag('type=bind,src=/h,dst=/c,ro=maybe')).toThrow(/true or false/);
    expect(() => parseMountFlag('type=bind,src=/h,dst=/c,colour=red')).toThrow(/unknown option "colour"/);
  });

  it('a destination used twice is an error', () => {
    expect(() => parseMounts(['a:/d'], ['type=tmpfs,dst=/d'])).toThrow(/duplicate mount destination/);
    expect(parseMounts(['a:/d'], ['type=tmpfs,dst=/e'])).toHaveLength(2);
  });
});

describe('volume store', () => {
  const root = mkdtempSync(join(tmpdir(), 'selkie-volstore-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const store = new VolumeStore(root);

  it('creates whole volumes, refuses a taken name, lists and removes', () => {
    const v = store.create({ Name: 'one', Labels: { a: 'b' }, Options: {}, NeedsCopyUp: true });
    expect(v).toMatchObject({ Name: 'one', Driver: 'local', Labels: { a: 'b' } });
    expect(() => store.create({ Name: 'one', Labels: {}, Options: {} })).toThrow(VolumeExistsError);
    store.create({ Name: 'two', Labels: {}, Options: {} });
    expect(store.list().map((x) => x.Name)).toEqual(['one', 'two']);
    store.update('one', (x) => delete x.NeedsCopyUp);
    expect(store.get('one')?.NeedsCopyUp).toBeUndefined();
    store.remove('one');
    store.remove('one');
    expect(store.get('one')).toBeUndefined();
    // No temporary directories left behind.
    expect(store.list().map((x) => x.Name)).toEqual(['two']);
  });
});

describe('volume filters', () => {
  const v = (Name: string, Labels: Record<string, string> = {}, Anonymous = false): VolumeRecord => ({ Name, Driver: 'local', CreatedAt: '', Labels, Options: {}, Anonymous });
  it('name, label, driver, anonymous', () => {
    expect(volumeFilter(['name=web'])(v('myweb'))).toBe(true);
    expect(volumeFilter(['name=^web$'])(v('myweb'))).toBe(false);
    expect(volumeFilter(['label=k'])(v('a', { k: '' }))).toBe(true);
    expect(volumeFilter(['label=k=v'])(v('a', { k: 'w' }))).toBe(false);
    expect(volumeFilter(['driver=local', 'anonymous=true'])(v('a', {}, true))).toBe(true);
    expect(volumeFilter(['dangling=true'], (n) => n === 'used')(v('used'))).toBe(false);
    expect(volumeFilter(['dangling=true'], (n) => n === 'used')(v('free'))).toBe(true);
    expect(() => volumeFilter(['color=red'])).toThrow(/invalid filter/);
  });
});

describe('opaque marker scrub', () => {
  it('removes empty .wh..wh..opq files below the root and follows no link out of it', () => {
    const base = mkdtempSync(join(tmpdir(), 'selkie-scrub-'));
    try {
      const root = join(base, 'data');
      const outside = join(base, 'outside');
      mkdirSync(join(root, 'a', 'b'), { recursive: true });
      mkdirSync(outside);
      writeFileSync(join(root, 'a', '.wh..wh..opq'), '');
      writeFileSync(join(root, 'a', 'b', '.wh..wh..opq'), 'not empty: not a marker');
      writeFileSync(join(outside, '.wh..wh..opq'), '');
      symlinkSync(outside, join(root, 'a', 'link'));
      scrubOpaqueMarkers(root);
      expect(existsSync(join(root, 'a', '.wh..wh..opq'))).toBe(false);
      expect(existsSync(join(root, 'a', 'b', '.wh..wh..opq'))).toBe(true);
      expect(existsSync(join(outside, '.wh..wh..opq'))).toBe(true);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
