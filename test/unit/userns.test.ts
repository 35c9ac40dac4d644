import { describe, expect, it } from 'vitest';
import { parseSubIds, sessionMap, mapToArgs, userName } from '../../src/userns/subid';
import {
  BLOCK_SIZE,
  blockBase,
  blockCount,
  containerMapping,
  fuseMappingOption,
  lowestFreeBlock,
  parseUsernsMode,
  toSessionId,
} from '../../src/userns/mapping';

describe('subordinate ID files', () => {
  const text = '# comment\nalice:100000:65536\n1001:300000:10\nbob:200000:65536\nalice:500000:1000\nbroken\nalice:x:1\nalice:1:0\n';
  it('finds the ranges of a user by name and by UID, in file order', () => {
    expect(parseSubIds(text, 'alice', 1001)).toEqual([
      { start: 100000, count: 65536 },
      { start: 300000, count: 10 },
      { start: 500000, count: 1000 },
    ]);
    expect(parseSubIds(text, 'carol', 4242)).toEqual([]);
  });
  it('maps the session namespace: 0 to the user, then the ranges back to back', () => {
    const m = sessionMap(1001, [{ start: 100000, count: 65536 }, { start: 500000, count: 1000 }]);
    expect(m.entries).toEqual([
      { inner: 0, outer: 1001, count: 1 },
      { inner: 1, outer: 100000, count: 65536 },
      { inner: 65537, outer: 500000, count: 1000 },
    ]);
    expect(m.size).toBe(66537);
    expect(mapToArgs(m.entries)).toBe('0 1001 1 1 100000 65536 65537 500000 1000');
  });
  it('looks user names up in passwd text', () => {
    expect(userName(1001, 'root:x:0:0::/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n')).toBe('alice');
  });
});

describe('container ID blocks and mappings', () => {
  it('places blocks after the image ID space and counts what fits', () => {
    expect(blockBase(0)).toBe(65536);
    expect(blockBase(2)).toBe(65536 * 3);
    expect(blockCount(1 + 65536)).toBe(0);
    expect(blockCount(1 + 1048576)).toBe(15);
    expect(blockCount(1 + 4194304)).toBe(63);
    expect(lowestFreeBlock([0, 1, 3], 5)).toBe(2);
    expect(lowestFreeBlock([0, 1], 2)).toBeUndefined();
  });
  const host = { uid: 1001, gid: 1002 };
  it('private: root is the user, the rest is the block', () => {
    const m = containerMapping('private', 1, host);
    expect(m.uid).toEqual([
      { inner: 0, outer: 0, count: 1 },
      { inner: 1, outer: blockBase(1) + 1, count: BLOCK_SIZE - 1 },
    ]);
    expect(fuseMappingOption(m.uid!)).toBe(`0:0:1:1:${blockBase(1) + 1}:65535`);
    expect(toSessionId(m.uid, 33)).toBe(blockBase(1) + 33);
    expect(toSessionId(m.uid, 65536)).toBeUndefined();
  });
  it('auto and nomap: the whole block, root included', () => {
    expect(containerMapping('auto', 0, host).uid).toEqual([{ inner: 0, outer: 65536, count: 65536 }]);
    expect(containerMapping('nomap', 0, host).gid).toEqual([{ inner: 0, outer: 65536, count: 65536 }]);
  });
  it('keep-id: my own ID maps to me, the others into the block, and I am the default user', () => {
    const m = containerMapping('keep-id', 0, host);
    expect(m.uid).toEqual([
      { inner: 0, outer: 65536, count: 1001 },
      { inner: 1001, outer: 0, count: 1 },
      { inner: 1002, outer: 65536 + 1002, count: 65536 - 1002 },
    ]);
    expect(m.gid![1]).toEqual({ inner: 1002, outer: 0, count: 1 });
    expect(m.defaultUser).toEqual({ uid: 1001, gid: 1002 });
    const big = containerMapping('keep-id', 0, { uid: 70000, gid: 70000 });
    expect(big.uid).toEqual([
      { inner: 0, outer: 65536, count: 65536 },
      { inner: 70000, outer: 0, count: 1 },
    ]);
  });
  it('host: no namespace of its own', () => {
    expect(containerMapping('host', undefined, host)).toEqual({});
    expect(toSessionId(undefined, 12345)).toBe(12345);
  });
  it('parses --userns values and refuses others', () => {
    expect(parseUsernsMode(undefined)).toBe('private');
    expect(parseUsernsMode('keep-id')).toBe('keep-id');
    expect(() => parseUsernsMode('bogus')).toThrow(/invalid --userns "bogus"/);
    expect(() => parseUsernsMode('auto:size=10')).toThrow(/not supported yet/);
  });
});
