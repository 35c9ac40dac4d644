// A tree's entries (tree-walk.ts) as a tar stream, and a tar stream (plain,
// gzip or zstd) as entries for tree-extract.ts: `cp -` in both directions.
import { once } from 'node:events';
import { pipeline, Readable } from 'node:stream';
import { extract as tarExtract, pack as tarPack, type Header } from 'tar-stream';
import { decompressStream } from './layer-apply';
import type { TarHeader } from './tar-entry';
import type { TreeEntry } from './tree-walk';

/** The input is not a tar archive (or is empty). */
export class NotATarError extends Error {}

type TarStreamEntry = AsyncIterable<Buffer> & { header: TarHeader };

export async function* tarEntries(input: NodeJS.ReadableStream): AsyncGenerator<TreeEntry> {
  let bytes = 0;
  const counted = Readable.from(
    (async function* () {
      for await (const chunk of input) {
        bytes += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    })(),
    { objectMode: false },
  );
  const extract = tarExtract();
  pipeline(decompressStream(counted), extract, () => undefined); // errors surface in the loop below
  let entries = 0;
  try {
    for await (const entry of extract as unknown as AsyncIterable<TarStreamEntry>) {
      entries++;
      yield { header: entry.header, body: entry };
      for await (const _ of entry) {
        // what the consumer left unread
      }
    }
  } catch (e) {
    if (entries === 0) throw new NotATarError((e as Error).message);
    throw e;
  }
  if (entries === 0 && bytes === 0) throw new NotATarError('empty input');
}

/** Writes the entries to out as a tar stream (PAX headers where a name or link target needs them). */
export async function packTree(entries: AsyncIterable<TreeEntry>, out: NodeJS.WritableStream): Promise<void> {
  const pack = tarPack();
  // A reader that went away (EPIPE) is the error to report, not what it did to the packer.
  let outErr: Error | undefined;
  const onError = (e: Error) => {
    outErr ??= e;
    pack.destroy(e);
  };
  out.on('error', onError);
  const pump = (async () => {
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) {
      if (!out.write(chunk)) await once(out as unknown as NodeJS.EventEmitter, 'drain');
    }
  })();
  pump.catch(() => undefined); // observed below
  try {
    for await (const { header, body } of entries) {
      // tar-stream writes a PAX header when given one: the only way to a link target longer than 100 bytes.
      const h = { ...header, pax: (header.linkname?.length ?? 0) > 100 ? {} : undefined } as Partial<Header> & { name: string };
      await new Promise<void>((resolve, reject) => {
        const w = pack.entry(h, (err?: Error | null) => (err ? reject(err) : resolve()));
        w.on('error', reject); // the packer destroyed under it
        if (!body) return;
        (async () => {
          for await (const chunk of body) if (!w.write(chunk)) await once(w as unknown as NodeJS.EventEmitter, 'drain');
          w.end(undefined);
        })().catch((e: unknown) => {
          w.destroy(e as Error);
          reject(e);
        });
      });
    }
    pack.finalize();
    await pump;
  } catch (e) {
    pack.destroy(e as Error);
    const pumpErr = await pump.then(() => undefined, (x: unknown) => x);
    throw outErr ?? pumpErr ?? e;
  } finally {
    out.removeListener('error', onError);
  }
}
