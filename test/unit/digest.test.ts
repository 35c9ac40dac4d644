import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { DigestMismatchError, digestOf, sha256Hex, verifyingStream } from '../../src/image/digest';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

async function drain(chunks: Buffer[], digest: string, size?: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), verifyingStream(digest, size), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

describe('sha256Hex / digestOf', () => {
  it('agrees with node:crypto on larger and non-ASCII input (the addon hashes)', () => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    expect(sha256Hex(big)).toBe(createHash('sha256').update(big).digest('hex'));
    expect(sha256Hex('é✓')).toBe(createHash('sha256').update('é✓', 'utf8').digest('hex'));
  });

  it('hashes buffers and strings', () => {
    expect(sha256Hex(Buffer.alloc(0))).toBe(EMPTY_SHA256);
    expect(digestOf('')).toBe(`sha256:${EMPTY_SHA256}`);
    expect(digestOf('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('verifyingStream', () => {
  const data = Buffer.from('hello, layer');
  const parts = [data.subarray(0, 4), data.subarray(4)];

  it('passes matching content through unchanged', async () => {
    expect(await drain(parts, digestOf(data))).toEqual(data);
    expect(await drain(parts, digestOf(data), data.length)).toEqual(data);
    expect(await drain([], `sha256:${EMPTY_SHA256}`, 0)).toEqual(Buffer.alloc(0));
  });

  it('fails at the end on a digest mismatch', async () => {
    const wrong = digestOf('something else');
    await expect(drain(parts, wrong)).rejects.toThrow(`digest mismatch for ${wrong}: got ${digestOf(data)}`);
    await expect(drain(parts, wrong)).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it('fails on a short blob', async () => {
    await expect(drain(parts, digestOf(data), data.length + 1)).rejects.toThrow(
      `size mismatch for ${digestOf(data)}: expected ${data.length + 1} bytes, got ${data.length}`,
    );
  });

  it('fails as soon as the size is exceeded, without passing the excess on', async () => {
    const out: Buffer[] = [];
    // An endless source: only an early failure lets this test finish.
    const source = Readable.from(
      (function* () {
        for (;;) yield Buffer.alloc(4, 1);
      })(),
    );
    await expect(
      pipeline(source, verifyingStream(digestOf(Buffer.alloc(5)), 5), async (s: AsyncIterable<Buffer>) => {
        for await (const c of s) out.push(c);
      }),
    ).rejects.toThrow(/size mismatch for sha256:[a-f0-9]{64}: expected 5 bytes, got more/);
    expect(Buffer.concat(out).length).toBeLessThanOrEqual(5);
  });

  it('refuses a malformed expected digest or size', () => {
    expect(() => verifyingStream('sha256:abc')).toThrow(/unsupported digest/);
    expect(() => verifyingStream(`sha512:${'a'.repeat(128)}`)).toThrow(/unsupported digest/);
    expect(() => verifyingStream(digestOf(''), -1)).toThrow(/invalid expected size/);
  });
});
