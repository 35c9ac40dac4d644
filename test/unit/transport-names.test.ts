import { describe, expect, it } from 'vitest';
import { parseTransportRef, sourceIndex } from '../../src/image/transports/names';

describe('parseTransportRef', () => {
  it('treats bare names as registry images', () => {
    expect(parseTransportRef('busybox')).toEqual({ transport: 'docker', reference: 'busybox' });
    expect(parseTransportRef('busybox:1.36')).toEqual({ transport: 'docker', reference: 'busybox:1.36' });
    expect(parseTransportRef('localhost:5000/a/b:t')).toEqual({ transport: 'docker', reference: 'localhost:5000/a/b:t' });
    expect(parseTransportRef('quay.io/x/y@sha256:' + 'a'.repeat(64))).toEqual({
      transport: 'docker',
      reference: 'quay.io/x/y@sha256:' + 'a'.repeat(64),
    });
  });

  it('reads docker:// and keeps docker:TAG as an image name, as Podman does', () => {
    expect(parseTransportRef('docker://quay.io/a/b:1')).toEqual({ transport: 'docker', reference: 'quay.io/a/b:1' });
    expect(parseTransportRef('docker:latest')).toEqual({ transport: 'docker', reference: 'docker:latest' });
    expect(() => parseTransportRef('docker://')).toThrow(/no image reference/);
    expect(() => parseTransportRef('docker://UPPER')).toThrow(/lowercase/);
  });

  it('splits oci: and oci-archive: at the first colon', () => {
    expect(parseTransportRef('oci:/tmp/lay')).toEqual({ transport: 'oci', path: '/tmp/lay' });
    expect(parseTransportRef('oci:/tmp/lay:1')).toEqual({ transport: 'oci', path: '/tmp/lay', reference: '1' });
    expect(parseTransportRef('oci:lay:quay.io/a/b:2')).toEqual({ transport: 'oci', path: 'lay', reference: 'quay.io/a/b:2' });
    expect(parseTransportRef('oci-archive:/x.tar:@1')).toEqual({ transport: 'oci-archive', path: '/x.tar', reference: '@1' });
    expect(() => parseTransportRef('oci:')).toThrow(/needs a path/);
    expect(() => parseTransportRef('oci::tag')).toThrow(/needs a path/);
    expect(() => parseTransportRef('oci:/x:')).toThrow(/empty reference/);
    expect(() => parseTransportRef('oci:/x:@a')).toThrow(/source index/);
    expect(() => parseTransportRef('oci:/x:a b')).toThrow(/invalid reference/);
  });

  it('reads docker-archive: with a name or an @index', () => {
    expect(parseTransportRef('docker-archive:/t/a.tar')).toEqual({ transport: 'docker-archive', path: '/t/a.tar' });
    expect(parseTransportRef('docker-archive:/t/a.tar:app:1')).toEqual({
      transport: 'docker-archive',
      path: '/t/a.tar',
      reference: 'app:1',
    });
    expect(parseTransportRef('docker-archive:a.tar:@0')).toEqual({ transport: 'docker-archive', path: 'a.tar', reference: '@0' });
    expect(() => parseTransportRef('docker-archive:a.tar:Bad')).toThrow(/lowercase/);
    expect(() => parseTransportRef('docker-archive:a.tar:x@sha256:' + 'a'.repeat(64))).toThrow(/digest/);
    expect(() => parseTransportRef('docker-archive:')).toThrow(/needs a path/);
  });

  it('reads dir: (colons belong to the path) and containers-storage:', () => {
    expect(parseTransportRef('dir:/tmp/a:b')).toEqual({ transport: 'dir', path: '/tmp/a:b' });
    expect(() => parseTransportRef('dir:')).toThrow(/directory path/);
    expect(parseTransportRef('containers-storage:localhost/x:1')).toEqual({
      transport: 'containers-storage',
      reference: 'localhost/x:1',
    });
    expect(() => parseTransportRef('containers-storage:')).toThrow(/image name or ID/);
  });

  it('refuses unknown or unsupported transports clearly', () => {
    expect(() => parseTransportRef('ocii:/tmp/x')).toThrow(/unknown transport "ocii"/);
    expect(() => parseTransportRef('docker-daemon:busybox:latest')).toThrow(/docker-daemon transport is not supported/);
    expect(() => parseTransportRef('docker-daemon:busybox')).toThrow(/not supported/);
    expect(() => parseTransportRef('')).toThrow(/empty/);
  });

  it('sourceIndex', () => {
    expect(sourceIndex('@3')).toBe(3);
    expect(sourceIndex('3')).toBeUndefined();
    expect(sourceIndex(undefined)).toBeUndefined();
  });
});
