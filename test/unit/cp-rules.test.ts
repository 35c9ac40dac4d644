// cp's argument syntax and Docker's documented SRC/DEST rules (engine/cp-rules.ts).
import { describe, expect, it } from 'vitest';
import {
  checkStreamDest,
  containerPath,
  hostPath,
  parseCpArgs,
  parseLocation,
  planCopy,
  sourceName,
  type CpPath,
} from '../../src/engine/cp-rules';

describe('cp arguments', () => {
  it('tells container paths from host paths and streams', () => {
    expect(parseLocation('ctr:/etc/passwd')).toEqual({ kind: 'container', container: 'ctr', path: '/etc/passwd' });
    expect(parseLocation('ctr:rel/x')).toEqual({ kind: 'container', container: 'ctr', path: 'rel/x' });
    expect(parseLocation('ctr:')).toEqual({ kind: 'container', container: 'ctr', path: '' });
    expect(parseLocation('-')).toEqual({ kind: 'stream' });
    expect(parseLocation('file')).toEqual({ kind: 'host', path: 'file' });
    // a colon in a host path needs it to be absolute or "."-relative, as in Podman and Docker
    expect(parseLocation('/path/to/file:name.txt')).toEqual({ kind: 'host', path: '/path/to/file:name.txt' });
    expect(parseLocation('./file:name.txt')).toEqual({ kind: 'host', path: './file:name.txt' });
    expect(() => parseLocation(':x')).toThrow(/no container name/);
  });

  it('wants exactly one container', () => {
    expect(parseCpArgs('c:/a', '/tmp').src).toEqual({ kind: 'container', container: 'c', path: '/a' });
    expect(parseCpArgs('-', 'c:/tmp').dest).toEqual({ kind: 'container', container: 'c', path: '/tmp' });
    expect(() => parseCpArgs('/a', '/b')).toThrow('invalid arguments "/a", "/b": you must use just one container');
    expect(() => parseCpArgs('-', '-')).toThrow(/just one container/);
    expect(() => parseCpArgs('a:/x', 'b:/y')).toThrow(/between containers is not supported/);
    expect(() => parseCpArgs('', 'c:/y')).toThrow(/you must specify paths/);
    let err: unknown;
    try {
      parseCpArgs('/a', '/b');
    } catch (e) {
      err = e;
    }
    expect((err as { exitCode: number }).exitCode).toBe(125);
  });

  it('resolves relative container paths against the working directory, keeping "/" and "/." at the end', () => {
    expect(containerPath('/tmp/x', '/srv')).toEqual({ path: '/tmp/x', suffix: 'none' });
    expect(containerPath('x', '/srv')).toEqual({ path: '/srv/x', suffix: 'none' });
    expect(containerPath('', '/srv')).toEqual({ path: '/srv', suffix: 'none' });
    expect(containerPath('.', '/srv')).toEqual({ path: '/srv', suffix: 'dot' });
    expect(containerPath('./', '/srv')).toEqual({ path: '/srv', suffix: 'slash' });
    expect(containerPath('sub/.', '/srv')).toEqual({ path: '/srv/sub', suffix: 'dot' });
    expect(containerPath('/tmp/', '/')).toEqual({ path: '/tmp', suffix: 'slash' });
    expect(containerPath('/', '/srv')).toEqual({ path: '/', suffix: 'slash' });
    // ".." is lexical and never climbs above the root
    expect(containerPath('../../../etc', '/srv')).toEqual({ path: '/etc', suffix: 'none' });
    expect(containerPath('/tmp//a/./b/', '/')).toEqual({ path: '/tmp/a/b', suffix: 'slash' });
    expect(hostPath('d/.', '/home/u')).toEqual({ path: '/home/u/d', suffix: 'dot' });
    expect(hostPath('/x/', '/home/u')).toEqual({ path: '/x', suffix: 'slash' });
  });

  it('names the copied item by its base name, or copies the contents of "dir/." and "/"', () => {
    expect(sourceName({ path: '/srv/dir', suffix: 'none' })).toBe('dir');
    expect(sourceName({ path: '/srv/dir', suffix: 'slash' })).toBe('dir');
    expect(sourceName({ path: '/srv/dir', suffix: 'dot' })).toBeNull();
    expect(sourceName({ path: '/', suffix: 'slash' })).toBeNull();
    expect(sourceName({ path: '/tmp/dotfile.', suffix: 'none' })).toBe('dotfile.');
  });
});

const p = (path: string, suffix: CpPath['suffix'] = 'none'): CpPath => ({ path, suffix });
const file = (path: string, suffix: CpPath['suffix'] = 'none') => ({ ...p(path, suffix), isDir: false });
const dir = (path: string, suffix: CpPath['suffix'] = 'none') => ({ ...p(path, suffix), isDir: true });
const missing = (path: string, suffix: CpPath['suffix'] = 'none') => ({ ...p(path, suffix), exists: false, isDir: false });
const existingFile = (path: string) => ({ ...p(path), exists: true, isDir: false });
const existingDir = (path: string, suffix: CpPath['suffix'] = 'none') => ({ ...p(path, suffix), exists: true, isDir: true });
const plan = (src: Parameters<typeof planCopy>[0], dest: Parameters<typeof planCopy>[1]) => planCopy(src, dest, dest.path, 'container c');

describe("Docker's cp rules", () => {
  describe('SRC is a file', () => {
    it('DEST does not exist: saved to a file created at DEST', () => {
      expect(plan(file('/a/f'), missing('/b/new'))).toEqual({ into: 'parent', name: 'new' });
    });
    it('DEST does not exist and ends with "/": error, the directory must exist', () => {
      expect(() => plan(file('/a/f'), missing('/b/new', 'slash'))).toThrow('"/b/new" could not be found on container c: no such file or directory');
      expect(() => plan(file('/a/f'), missing('/b/new', 'dot'))).toThrow(/could not be found/);
    });
    it('DEST exists and is a file: overwritten', () => {
      expect(plan(file('/a/f'), existingFile('/b/old'))).toEqual({ into: 'parent', name: 'old' });
    });
    it('DEST exists and is a directory: copied into it under its own name', () => {
      expect(plan(file('/a/f'), existingDir('/b'))).toEqual({ into: 'dest', name: 'f' });
      expect(plan(file('/a/f'), existingDir('/b', 'slash'))).toEqual({ into: 'dest', name: 'f' });
      expect(plan(file('/a/f'), existingDir('/b', 'dot'))).toEqual({ into: 'dest', name: 'f' });
    });
    it('a name ending in a dot is just a name for a file', () => {
      expect(plan(file('/tmp/dotfile.'), existingDir('/x'))).toEqual({ into: 'dest', name: 'dotfile.' });
    });
  });

  describe('SRC is a directory', () => {
    it('DEST does not exist: created as a directory with the contents', () => {
      expect(plan(dir('/a/d'), missing('/b/new'))).toEqual({ into: 'parent', name: 'new' });
      expect(plan(dir('/a/d', 'slash'), missing('/b/new'))).toEqual({ into: 'parent', name: 'new' });
      // "dir/." to a new DEST: the same, the new directory holds the contents
      expect(plan(dir('/a/d', 'dot'), missing('/b/new'))).toEqual({ into: 'parent', name: 'new' });
    });
    it('DEST exists and is a file: error', () => {
      expect(() => plan(dir('/a/d'), existingFile('/b/f'))).toThrow('destination must be a directory when copying a directory');
      expect(() => plan(dir('/a/d', 'dot'), existingFile('/b/f'))).toThrow('destination must be a directory when copying a directory');
    });
    it('DEST exists and is a directory: SRC copied into it, or with "/." its contents', () => {
      expect(plan(dir('/a/d'), existingDir('/b'))).toEqual({ into: 'dest', name: 'd' });
      expect(plan(dir('/a/d', 'slash'), existingDir('/b'))).toEqual({ into: 'dest', name: 'd' });
      expect(plan(dir('/a/d', 'dot'), existingDir('/b'))).toEqual({ into: 'dest', name: null });
      expect(plan(dir('/', 'slash'), existingDir('/b'))).toEqual({ into: 'dest', name: null });
    });
    it('a directory whose name ends in a dot is copied whole', () => {
      expect(plan(dir('/a/dir.'), existingDir('/b'))).toEqual({ into: 'dest', name: 'dir.' });
    });
  });

  it('DEST given as "file/" when it is a file: not a directory', () => {
    expect(() => plan(file('/a/f'), { ...existingFile('/b/f'), suffix: 'slash' })).toThrow('"/b/f" could not be found on container c: not a directory');
  });

  it('a tar stream goes into an existing directory only', () => {
    expect(() => checkStreamDest({ exists: true, isDir: true })).not.toThrow();
    expect(() => checkStreamDest({ exists: true, isDir: false })).toThrow('destination must be a directory when copying from stdin');
    expect(() => checkStreamDest({ exists: false, isDir: false })).toThrow('destination must be a directory when copying from stdin');
  });
});
