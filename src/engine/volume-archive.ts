// volume export / import: a volume's _data as a tar stream and back.  The
// archive holds the IDs as stored, i.e. container IDs (Podman's export is
// likewise the container's view).  Import extracts below the data directory
// only, never through a symlink (storage/tree-extract.ts).
import { closeSync, createReadStream, fstatSync } from 'node:fs';
import { AT_FDCWD, native } from '../native/index';
import { DIR_FLAGS } from '../storage/safe-tree';
import { extractTree } from '../storage/tree-extract';
import { packTree, tarEntries } from '../storage/tree-tar';
import { walkTree, type TreeEntry } from '../storage/tree-walk';
import { OPAQUE_MARKERS } from '../storage/id-tree';
import type { EngineContext } from './context';
import { EngineError } from './errors';
import { requireVolume } from './volumes';

/** A running container's fuse-overlayfs may have left opaque markers: not the volume's content. */
async function* withoutMarkers(entries: AsyncIterable<TreeEntry>): AsyncGenerator<TreeEntry> {
  for await (const e of entries) {
    const base = e.header.name.replace(/\/$/, '').split('/').pop() ?? '';
    if (!OPAQUE_MARKERS.includes(base)) yield e;
    else if (e.body) for await (const _ of e.body) { /* drained */ }
  }
}

export async function exportVolume(ctx: EngineContext, name: string, out: NodeJS.WritableStream): Promise<void> {
  const v = requireVolume(ctx, name);
  const fd = native().openat2(AT_FDCWD, ctx.volumes.dataDir(v.Name), DIR_FLAGS, 0, 0);
  try {
    await packTree(withoutMarkers(walkTree({ fd, st: fstatSync(fd) }, null)), out);
  } finally {
    closeSync(fd);
  }
}

/** Extracts a tar archive (a file, or stdin for "-") into the volume; what is there already stays unless replaced. */
/**
 * Volumes hold container IDs (0..65535), as layers do: a higher ID would be
 * an S ID of some container's block.
 */
function storedIds(uid: number, gid: number): { uid: number; gid: number } {
  if (uid > 65535 || gid > 65535) throw new EngineError(`volume import: owner ${uid}:${gid} is above 65535, which volumes cannot hold`);
  return { uid, gid };
}

export async function importVolume(ctx: EngineContext, name: string, source: string, stdin: NodeJS.ReadableStream): Promise<void> {
  const v = requireVolume(ctx, name);
  let input: NodeJS.ReadableStream;
  if (source === '-') input = stdin;
  else {
    try {
      closeSync(native().openat2(AT_FDCWD, source, 0, 0, 0));
    } catch (err) {
      throw new EngineError(`open ${source}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
    input = createReadStream(source);
  }
  const fd = native().openat2(AT_FDCWD, ctx.volumes.dataDir(v.Name), DIR_FLAGS, 0, 0);
  try {
    await extractTree(tarEntries(input), fd, { owner: storedIds, overwrite: true, where: `volume ${v.Name}` });
    ctx.volumes.locked(() => ctx.volumes.update(v.Name, (x) => delete x.NeedsCopyUp));
  } finally {
    closeSync(fd);
  }
}
