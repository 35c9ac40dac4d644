// Content digests: hashing buffers, and checking a blob against its digest
// while it streams, so nothing unverified is trusted once the stream ends.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { native } from '../native/index';

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

export class DigestMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DigestMismatchError';
  }
}

/** From the addon: hashing a manifest or config need not load node:crypto (~5 ms). */
export function sha256Hex(buf: Buffer | string): string {
  return native().sha256Hex(typeof buf === 'string' ? Buffer.from(buf, 'utf8') : buf);
}

export function digestOf(buf: Buffer | string): string {
  return `sha256:${sha256Hex(buf)}`;
}

class VerifyingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private seen = 0;

  constructor(
    private readonly expectedDigest: string,
    private readonly expectedSize?: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    // Fail as soon as the blob is longer than announced: don't keep reading a runaway stream.
    if (this.expectedSize !== undefined && this.seen > this.expectedSize) {
      callback(
        new DigestMismatchError(
          `size mismatch for ${this.expectedDigest}: expected ${this.expectedSize} bytes, got more`,
        ),
      );
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expectedSize !== undefined && this.seen !== this.expectedSize) {
      callback(
        new DigestMismatchError(
          `size mismatch for ${this.expectedDigest}: expected ${this.expectedSize} bytes, got ${this.seen}`,
        ),
      );
      return;
    }
    const actual = `sha256:${this.hash.digest('hex')}`;
    if (actual !== this.expectedDigest) {
      callback(new DigestMismatchError(`digest mismatch for ${this.expectedDigest}: got ${actual}`));
      return;
    }
    callback();
  }
}

/**
 * A pass-through that hashes what flows through it and fails at the end when the
 * content does not have `expectedDigest` (or `expectedSize`, checked as soon as exceeded).
 * Consumers must treat the data as untrusted until the stream ends without error.
 */
export function verifyingStream(expectedDigest: string, expectedSize?: number): Transform {
  if (!SHA256_DIGEST.test(expectedDigest)) {
    throw new Error(`unsupported digest ${JSON.stringify(expectedDigest)}: expected sha256:<64 lowercase hex digits>`);
  }
  if (expectedSize !== undefined && !(Number.isSafeInteger(expectedSize) && expectedSize >= 0)) {
    throw new Error(`invalid expected size ${expectedSize} for ${expectedDigest}`);
  }
  return new VerifyingStream(expectedDigest, expectedSize);
}
