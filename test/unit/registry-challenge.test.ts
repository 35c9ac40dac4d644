import { describe, expect, it } from 'vitest';
import { parseChallenges } from '../../src/image/registry/challenge';

describe('parseChallenges', () => {
  it('parses a registry Bearer challenge', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/busybox:pull',
        },
      },
    ]);
  });

  it('parses Basic with spaces around "=" and commas', () => {
    expect(parseChallenges('Basic realm = "Registry Realm" ,  charset=UTF-8')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm', charset: 'UTF-8' } },
    ]);
  });

  it('splits several challenges in one header (the RFC 7235 example)', () => {
    const got = parseChallenges('Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"');
    expect(got).toEqual([
      { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
      { scheme: 'basic', params: { realm: 'simple' } },
    ]);
  });

  it('handles quoted commas, escapes and scope lists', () => {
    const got = parseChallenges('Bearer realm="http://a/t?x=1,2",scope="repository:a/b:pull,push",error="insufficient_scope"');
    expect(got[0].params).toEqual({
      realm: 'http://a/t?x=1,2',
      scope: 'repository:a/b:pull,push',
      error: 'insufficient_scope',
    });
    expect(parseChallenges('Basic realm="a\\\\b\\q"')[0].params.realm).toBe('a\\bq');
  });

  it('keeps scheme case-insensitive and parameter names lower-cased', () => {
    expect(parseChallenges('BEARER Realm="r", SERVICE="s"')).toEqual([
      { scheme: 'bearer', params: { realm: 'r', service: 's' } },
    ]);
  });

  it('parses bare schemes and token68 challenges', () => {
    expect(parseChallenges('Negotiate, Basic realm="x"')).toEqual([
      { scheme: 'negotiate', params: {} },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
    expect(parseChallenges('Negotiate abc+/d==, Basic realm="x"')).toEqual([
      { scheme: 'negotiate', params: {}, token68: 'abc+/d==' },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
    expect(parseChallenges('Foo abc=')).toEqual([{ scheme: 'foo', params: {}, token68: 'abc=' }]);
  });

  it('keeps the first of duplicated parameters', () => {
    expect(parseChallenges('Bearer realm="one",realm="two"')[0].params.realm).toBe('one');
  });

  it('survives malformed and hostile input without throwing', () => {
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges(' , ,, ')).toEqual([]);
    expect(parseChallenges('Bearer realm="unterminated')).toEqual([
      { scheme: 'bearer', params: { realm: 'unterminated' } },
    ]);
    expect(parseChallenges('Bearer realm="r" junk, service="s"')).toEqual([
      { scheme: 'bearer', params: { realm: 'r', service: 's' } },
    ]);
    expect(parseChallenges('=== , Basic realm="x"')).toEqual([{ scheme: 'basic', params: { realm: 'x' } }]);
    const proto = parseChallenges('Bearer __proto__="x", constructor="y"')[0];
    expect(Object.getPrototypeOf(proto.params)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(proto.params, '__proto__')).toBe(true);
    expect(proto.params.constructor).toBe('y');
    // linear time on long garbage
    const t = Date.now();
    parseChallenges('Bearer ' + 'a=",'.repeat(50_000));
    parseChallenges('"'.repeat(200_000));
    expect(Date.now() - t).toBeLessThan(2000);
  });
});
