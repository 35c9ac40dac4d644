// Content-addressed blobs (compressed layers as pulled or built, manifests,
// configs) kept beside the extracted layers, so that a push or save sends
// exactly the bytes that were received and digests stay identical.  A blob
// is written to a temporary file, verified, then renamed into place: a
// reader never sees a partial or unverified blob.
import { closeSync, createReadStream, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../state/atomic';
import { randomHex } from '../state/random';
import { createHash } from 'node:crypto';

function hexOf(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new Error(`invalid digest "${digest}"`);
  return m[1];
}

export class BlobStore {
  readonly dir: string;

  constructor(graphRoot: string) {
    this.dir = join(graphRoot, 'blobs', 'sha256');
  }

  path(digest: string): string {
    return join(this.dir, hexOf(digest));
  }

  has(digest: string): boolean {
    return existsSync(this.path(digest));
  }

  size(digest: string): number {
    return statSync(this.path(digest)).size;
  }

  open(digest: string): NodeJS.ReadableStream {
    return createReadStream(this.path(digest));
  }

  read(digest: string): Buffer {
    return readFileSync(this.path(digest));
  }

  /** Stores small bytes under their digest (computed by the caller). */
  putBytes(digest: string, bytes: Buffer): void {
    if (this.has(digest)) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(this.path(digest), bytes, 0o600);
  }

  /**
   * Streams a blob in.  `verify` is a Transform that checks digest and size
   * as bytes pass (image/digest.ts verifyingStream); nothing is kept unless
   * it passes.
   */
  async putStream(digest: string, source: NodeJS.ReadableStream, verify: NodeJS.ReadWriteStream): Promise<void> {
    if (this.has(digest)) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomHex(6)}`);
    try {
      await pipeline(source, verify, createWriteStream(tmp, { mode: 0o600 }));
      renameSync(tmp, this.path(digest));
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** The first bytes of a blob (to tell its compression). */
  head(digest: string, n = 8): Buffer {
    const fd = openSync(this.path(digest), 'r');
    try {
      const buf = Buffer.alloc(n);
      const got = readSync(fd, buf, 0, n, 0);
      return buf.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  }

  /** Streams in a blob whose digest is learnt as it is written (import). */
  async putUnknown(source: NodeJS.ReadableStream): Promise<{ digest: string; size: number }> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomHex(6)}`);
    const hash = createHash('sha256');
    let size = 0;
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer | string>) {
          for await (const chunk of chunks) {
            const c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
            hash.update(c);
            size += c.length;
            yield c;
          }
        },
        createWriteStream(tmp, { mode: 0o600 }),
      );
      const digest = `sha256:${hash.digest('hex')}`;
      if (this.has(digest)) rmSync(tmp, { force: true });
      else renameSync(tmp, this.path(digest));
      return { digest, size };
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Streams a blob in and, in the same pass, hands its verified bytes to
   * `consume` (a layer extraction), so a pulled layer is read from the
   * network once.  The blob is kept only when its digest matched and
   * consume succeeded; either failure fails both.
   */
  async putStreamAndConsume<T>(
    digest: string,
    source: NodeJS.ReadableStream,
    verify: NodeJS.ReadWriteStream,
    consume: (stream: NodeJS.ReadableStream) => Promise<T>,
  ): Promise<T> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomHex(6)}`);
    const file = createWriteStream(tmp, { mode: 0o600 });
    const branch = new PassThrough();
    // A failed verification ends both branches; a failed consumer keeps
    // draining its branch, so the download still reaches its verdict.
    const verified = pipeline(source, verify).catch((err) => {
      branch.destroy(err as Error);
      file.destroy(err as Error);
      throw err;
    });
    verify.pipe(file);
    verify.pipe(branch);
    const consumed = consume(branch).then(
      (value) => ({ value }),
      (err: unknown) => {
        branch.resume();
        return { err };
      },
    );
    // Settle everything before deciding, so nothing is still writing after we return.
    const [v, f] = await Promise.allSettled([verified, finished(file)]);
    const c = await consumed;
    const failure = v.status === 'rejected' ? v.reason : 'err' in c ? c.err : f.status === 'rejected' ? f.reason : undefined;
    if (failure !== undefined) {
      rmSync(tmp, { force: true });
      throw failure;
    }
    renameSync(tmp, this.path(digest));
    return (c as { value: T }).value;
  }

  /**
   * Moves a finished file (on the same filesystem) in as the blob `digest`,
   * which the caller computed while writing it; no second copy of a large
   * layer.  The file is removed when the blob is already here.
   */
  adopt(digest: string, file: string): void {
    if (this.has(digest)) {
      rmSync(file, { force: true });
      return;
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    renameSync(file, this.path(digest));
  }

  /** Removes temporary files of writers that died (their PID is gone). */
  sweep(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const n of names) {
      // streamed blobs (.tmp-PID-...) and small ones written by writeFileAtomic (HEX.PID.N.tmp)
      const m = /^\.tmp-(\d+)-/.exec(n) ?? /^[0-9a-f]{64}\.(\d+)\.\d+\.tmp$/.exec(n);
      if (m && !existsSync(`/proc/${m[1]}`)) rmSync(join(this.dir, n), { force: true });
    }
  }

  remove(digest: string): void {
    rmSync(this.path(digest), { force: true });
  }
}
