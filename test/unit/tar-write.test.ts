import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { entryMeta } from '../../src/storage/tar-entry';
import { encodeTarHeader, paxRecord, TAR_END, tarPadding, type TarHeaderFields } from '../../src/storage/tar-write';

interface Read {
  header: import('tar-stream').Header;
  body: Buffer;
}

/** Reads entries back with tar-stream, the reader the layer store uses. */
async function readBack(entries: { h: TarHeaderFields; body?: Buffer }[]): Promise<Read[]> {
  const parts: Buffer[] = [];
  for (const { h, body } of entries) {
    parts.push(encodeTarHeader(h));
    if (body) parts.push(body, tarPadding(body.length));
  }
  parts.push(TAR_END);
  const out: Read[] = [];
  const x = extract();
  Readable.from([Buffer.concat(parts)]).pipe(x);
  for await (const e of x as unknown as AsyncIterable<AsyncIterable<Buffer> & { header: import('tar-stream').Header }>) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c);
    out.push({ header: e.header, body: Buffer.concat(chunks) });
  }
  return out;
}

const base = { mode: 0o644, uid: 33, gid: 1000, mtime: 1700000000 };

describe('tar header encoding', () => {
  it('writes ustar headers that a reader checks and decodes', async () => {
    const [f, d, l, s, c, p] = await readBack([
      { h: { ...base, name: 'dir/file', type: 'file', size: 5 }, body: Buffer.from('hello') },
      { h: { ...base, name: 'dir', type: 'directory', mode: 0o755 } },
      { h: { ...base, name: 'dir/hard', type: 'link', linkname: 'dir/file' } },
      { h: { ...base, name: 'sym', type: 'symlink', linkname: '../../etc/passwd', mode: 0o777 } },
      { h: { ...base, name: 'null', type: 'char', devmajor: 1, devminor: 3 } },
      { h: { ...base, name: 'pipe', type: 'fifo' } },
    ]);
    expect(f.header).toMatchObject({ name: 'dir/file', type: 'file', size: 5, uid: 33, gid: 1000, mode: 0o644 });
    expect(f.header.mtime).toEqual(new Date(1700000000 * 1000));
    expect(f.body.toString()).toBe('hello');
    expect(d.header).toMatchObject({ name: 'dir/', type: 'directory', mode: 0o755 });
    expect(l.header).toMatchObject({ name: 'dir/hard', type: 'link', linkname: 'dir/file', size: 0 });
    expect(s.header).toMatchObject({ name: 'sym', type: 'symlink', linkname: '../../etc/passwd' });
    expect(c.header).toMatchObject({ type: 'character-device', devmajor: 1, devminor: 3 });
    expect(p.header.type).toBe('fifo');
  });

  it('splits long names into prefix and name, and falls back to PAX for what ustar cannot hold', async () => {
    const deep = `${'a'.repeat(90)}/${'b'.repeat(90)}/file`;
    const longComponent = `dir/${'c'.repeat(150)}`;
    const longTarget = `/${'t'.repeat(200)}`;
    const utf8 = 'dïr/fïlé-😀';
    const [a, b, c, d] = await readBack([
      { h: { ...base, name: deep, type: 'file', size: 0 } },
      { h: { ...base, name: longComponent, type: 'directory' } },
      { h: { ...base, name: 'link', type: 'symlink', linkname: longTarget } },
      { h: { ...base, name: utf8, type: 'file', size: 0 } },
    ]);
    expect(a.header.name).toBe(deep);
    expect(a.header.pax).toBeFalsy(); // prefix + name sufficed
    expect(b.header.name).toBe(`${longComponent}/`);
    expect(c.header.linkname).toBe(longTarget);
    expect(d.header.name).toBe(utf8);
  });

  it('carries binary xattr values intact through the layer applier\'s reader', async () => {
    const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0xfe, 0x00, 0x80]);
    const [f] = await readBack([
      { h: { ...base, name: 'ping', type: 'file', size: 1, xattrs: [{ name: 'security.capability', value: cap }, { name: 'user.note', value: Buffer.from('plain') }] }, body: Buffer.from('x') },
    ]);
    const meta = entryMeta(f.header as never);
    expect(meta.xattrs).toEqual(
      expect.arrayContaining([
        { name: 'security.capability', value: cap },
        { name: 'user.note', value: Buffer.from('plain') },
      ]),
    );
    expect(f.body.toString()).toBe('x');
  });

  it('PAX records count their own length, across a digit boundary', () => {
    for (let n = 0; n < 120; n++) {
      const r = paxRecord('path', Buffer.from('x'.repeat(n)));
      const len = Number(r.toString().split(' ')[0]);
      expect(len).toBe(r.length);
      expect(r.at(-1)).toBe(0x0a);
    }
  });

  it('refuses IDs that do not fit the header rather than writing a wrong one', () => {
    expect(() => encodeTarHeader({ ...base, uid: 0o10000000, name: 'x', type: 'file', size: 0 })).toThrow(RangeError);
  });
});
