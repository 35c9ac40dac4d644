// The layer store: each layer's files extracted once, keyed by its diffID (the
// digest of the uncompressed tar), and shared read-only by every image and
// container that uses it.  A layer exists once its metadata file exists; the
// directory is renamed into place before that, so a process killed halfway
// leaves only a tmp-* directory that the next writer sweeps.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic';
import { withLock } from '../state/lock';
import { randomHex } from '../state/random';
import type { ApplyOptions } from './layer-apply';

export interface LayerInfo {
  diffID: string;
  size: number;
  created: string;
  /** every file is owned by 0:0: absent on layers stored before this was recorded */
  rootOwned?: boolean;
}

function hexOf(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new Error(`invalid layer digest "${digest}"`);
  return m[1];
}

export class LayerStore {
  readonly dir: string;
  /** Held while layers appear or disappear (not while they are extracted). */
  readonly lockPath: string;

  constructor(graphRoot: string) {
    this.dir = join(graphRoot, 'layers');
    this.lockPath = join(graphRoot, 'storage.lock');
  }

  /** The directory holding the layer's files. */
  path(diffID: string): string {
    return join(this.dir, hexOf(diffID));
  }

  get(diffID: string): LayerInfo | undefined {
    return readJsonIfExists<LayerInfo>(join(this.dir, `${hexOf(diffID)}.json`));
  }

  has(diffID: string): boolean {
    return this.get(diffID) !== undefined;
  }

  /**
   * Extracts a (possibly compressed) layer stream into a fresh directory and
   * moves it into place under its diffID.  When `expectDiffID` is given, a
   * stream whose uncompressed digest differs is refused and nothing is kept.
   */
  async put(stream: NodeJS.ReadableStream, expectDiffID: string | undefined, opts: ApplyOptions = {}): Promise<LayerInfo> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (expectDiffID && this.has(expectDiffID)) {
      // Already here: drain the stream so the producer's own checks still run.
      for await (const _ of stream as AsyncIterable<unknown>) { /* discard */ }
      return this.get(expectDiffID)!;
    }
    // tar-stream and the applier load only when a layer is written, never on `run`.
    const { applyLayer, decompressStream } = await import('./layer-apply');
    const tmp = join(this.dir, `tmp-${process.pid}-${randomHex(6)}`);
    mkdirSync(tmp, { mode: 0o755 });
    try {
      const result = await applyLayer(decompressStream(stream), tmp, opts);
      if (expectDiffID && result.diffID !== expectDiffID) {
        throw new Error(`layer diffID mismatch: the image config says ${expectDiffID}, the layer's content is ${result.diffID}`);
      }
      const info: LayerInfo = { diffID: result.diffID, size: result.size, created: new Date().toISOString(), rootOwned: result.rootOwned };
      return withLock(this.lockPath, () => {
        const existing = this.get(result.diffID);
        if (existing) {
          rmSync(tmp, { recursive: true, force: true });
          return existing;
        }
        const final = this.path(result.diffID);
        rmSync(final, { recursive: true, force: true }); // an unfinished earlier attempt
        renameSync(tmp, final);
        writeJsonAtomic(join(this.dir, `${hexOf(result.diffID)}.json`), info);
        return info;
      });
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Deletes a layer (metadata first, so a crash leaves an unreferenced directory, never a half layer). */
  remove(diffID: string): void {
    rmSync(join(this.dir, `${hexOf(diffID)}.json`), { force: true });
    rmSync(this.path(diffID), { recursive: true, force: true });
  }

  /** All complete layers. */
  list(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => /^[0-9a-f]{64}\.json$/.test(f))
      .map((f) => `sha256:${f.slice(0, 64)}`);
  }

  /** Removes leftovers of killed writers: tmp dirs of dead PIDs and directories without metadata.  Call with the lock held. */
  sweep(): void {
    if (!existsSync(this.dir)) return;
    for (const name of readdirSync(this.dir)) {
      // extraction directories (tmp-PID-...) and metadata being written (HEX.json.PID.N.tmp)
      const tmp = /^tmp-(\d+)-/.exec(name) ?? /^[0-9a-f]{64}\.json\.(\d+)\.\d+\.tmp$/.exec(name);
      if (tmp) {
        if (!existsSync(`/proc/${tmp[1]}`)) rmSync(join(this.dir, name), { recursive: true, force: true });
      } else if (/^[0-9a-f]{64}$/.test(name) && !existsSync(join(this.dir, `${name}.json`))) {
        rmSync(join(this.dir, name), { recursive: true, force: true });
      }
    }
  }
}
