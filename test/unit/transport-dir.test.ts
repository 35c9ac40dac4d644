import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/image/digest';
import { readDir, writeDir } from '../../src/image/transports/dir';
import { writeOciLayout } from '../../src/image/transports/oci-layout';
import { gzipLayer, makeImage, readAll } from './transport-fixtures';

const SKOPEO = '/usr/bin/skopeo';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'selkie-dir-'));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('dir: transport', () => {
  it('round-trips an image in the containers/image dir layout', async () => {
    const img = makeImage([await gzipLayer({ a: '1' }), await gzipLayer({ b: '2' })]);
    const dir = join(work, 'img');
    await writeDir(dir, img.parts);
    const hex = (d: string) => d.slice(7);
    expect(readdirSync(dir).sort()).toEqual(
      ['manifest.json', 'version', hex(img.parts.configDescriptor.digest), ...img.parts.layers.map((l) => hex(l.descriptor.digest))].sort(),
    );
    expect(readFileSync(join(dir, 'version'), 'utf8')).toBe('Directory Transport Version: 1.1\n');
    expect(readFileSync(join(dir, 'manifest.json')).equals(img.parts.manifest)).toBe(true);

    const got = await readDir(dir);
    expect(got.manifest.equals(img.parts.manifest)).toBe(true);
    expect(got.config.equals(img.parts.config)).toBe(true);
    expect(got.configDescriptor).toEqual(img.parts.configDescriptor);
    expect(got.names).toEqual([]);
    for (let i = 0; i < 2; i++) {
      expect(got.layers[i].descriptor).toEqual(img.parts.layers[i].descriptor);
      expect((await readAll(got.layers[i].open())).equals(img.layers[i].blob)).toBe(true);
    }
  });

  it('replaces an earlier dir: image but refuses an unrelated directory', async () => {
    const a = makeImage([await gzipLayer({ a: '1' })]);
    const b = makeImage([await gzipLayer({ b: '2' })]);
    const dir = join(work, 'img');
    await writeDir(dir, a.parts);
    await writeDir(dir, b.parts);
    expect(readdirSync(dir)).not.toContain(a.parts.layers[0].descriptor.digest.slice(7));
    expect((await readDir(dir)).config.equals(b.parts.config)).toBe(true);

    const other = join(work, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'mine');
    await expect(writeDir(other, a.parts)).rejects.toThrow(/not empty/);
    expect(readdirSync(other)).toEqual(['notes.txt']);
  });

  it('fails clearly on missing or tampered blobs', async () => {
    const img = makeImage([await gzipLayer({ a: 'hello world' })]);
    const dir = join(work, 'img');
    await writeDir(dir, img.parts);
    const layer = join(dir, img.parts.layers[0].descriptor.digest.slice(7));
    const bytes = readFileSync(layer);
    bytes[bytes.length - 2] ^= 0xff;
    writeFileSync(layer, bytes);
    await expect(readAll((await readDir(dir)).layers[0].open())).rejects.toThrow(/digest mismatch/);
    unlinkSync(layer);
    await expect(readDir(dir)).rejects.toThrow(/blob sha256:[0-9a-f]{64} is missing from dir: image/);
    unlinkSync(join(dir, 'version'));
    await expect(readDir(dir)).rejects.toThrow(/no version file/);
    await expect(readDir(join(work, 'none'))).rejects.toThrow(/does not exist/);
  });

  it.skipIf(!existsSync(SKOPEO))('interoperates with skopeo', async () => {
    const img = makeImage([await gzipLayer({ a: 'x' })]);
    const ours = join(work, 'ours');
    await writeDir(ours, img.parts);
    const env = { ...process.env, TMPDIR: work };
    const raw = spawnSync(SKOPEO, ['inspect', '--raw', `dir:${ours}`], { env });
    expect(raw.status, raw.stderr.toString()).toBe(0);
    expect(raw.stdout.equals(img.parts.manifest)).toBe(true);

    // And we read a dir: image skopeo wrote.
    const lay = join(work, 'lay');
    await writeOciLayout(lay, [{ parts: img.parts, refName: 'a' }]);
    const theirs = join(work, 'theirs');
    const copy = spawnSync(SKOPEO, ['copy', '--insecure-policy', `oci:${lay}:a`, `dir:${theirs}`], { env });
    expect(copy.status, copy.stderr.toString()).toBe(0);
    const got = await readDir(theirs);
    expect(digestOf(got.manifest)).toBe(digestOf(img.parts.manifest));
    expect((await readAll(got.layers[0].open())).equals(img.layers[0].blob)).toBe(true);
  });
});
