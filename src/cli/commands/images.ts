// images and rmi: argument handling and output around the engine calls.
import type { EngineContext } from '../../engine/context';
import { NotFoundError } from '../../engine/errors';
import { removeImage } from '../../engine/images';
import { imageRows } from '../../engine/inspect';
import { removeContainer } from '../../engine/remove';
import { recordImageEvent } from '../../state/events';
import { repoDigestsOf } from '../../image/record';
import { ExitError } from '../errors';
import { renderReport } from '../report';
import { humanSize, timeAgo } from '../units';

const IMAGES_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Created}}\t{{.Size}}';
const IMAGES_DIGEST_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.Created}}\t{{.Size}}';

export function listImages(
  ctx: EngineContext,
  o: { quiet: boolean; format?: string; trunc: boolean; noheading: boolean; digests: boolean },
): string {
  const recs = ctx.images.list();
  if (o.quiet) return [...new Set(recs.map((r) => (o.trunc ? r.id.slice(0, 12) : `sha256:${r.id}`)))].join('\n');
  if (o.format === 'json') {
    return JSON.stringify(
      recs.map((r) => ({
        Id: r.id,
        ParentId: '',
        RepoTags: r.names,
        RepoDigests: repoDigestsOf(r),
        Size: r.size,
        SharedSize: 0,
        VirtualSize: r.size,
        Labels: null,
        Containers: ctx.containers.list().filter((c) => c.image.id === r.id).length,
        Names: r.names,
        Digest: r.digest ?? `sha256:${r.id}`,
        Created: Math.floor(Date.parse(r.created) / 1000),
        CreatedAt: r.created,
      })),
      null,
      4,
    );
  }
  const now = new Date();
  const rows = recs.flatMap((r) =>
    imageRows(r).map((row) => ({
      ...row,
      ID: o.trunc ? r.id.slice(0, 12) : `sha256:${r.id}`,
      Created: timeAgo(new Date(r.created), now),
      CreatedSince: timeAgo(new Date(r.created), now),
      Size: humanSize(r.size),
    })),
  );
  return renderReport(rows, {
    format: o.format,
    defaultTable: o.digests ? IMAGES_DIGEST_TABLE : IMAGES_TABLE,
    headers: { ID: 'IMAGE ID' },
    noHeading: o.noheading,
  });
}

export async function removeImages(ctx: EngineContext, refs: string[], o: { all: boolean; force: boolean }): Promise<void> {
  const targets = o.all ? ctx.images.list().map((i) => i.id) : refs;
  if (!o.all && targets.length === 0) throw new ExitError(125, 'Error: image name or ID must be specified');
  let failure: { code: number; message: string } | undefined;
  for (const ref of targets) {
    try {
      const r = await removeImage(ctx, ref, o.force, async (id) => {
        await removeContainer(ctx, id, true);
      });
      for (const n of r.untagged) process.stdout.write(`Untagged: ${n}\n`);
      for (const d of r.deleted) process.stdout.write(`Deleted: ${d}\n`);
    } catch (err) {
      // Podman: 1 when an image does not exist, 2 when one is in use.
      const code = err instanceof NotFoundError ? 1 : ((err as { exitCode?: number }).exitCode ?? 125);
      if (failure) process.stderr.write(`Error: ${failure.message}\n`);
      failure = { code, message: (err as Error).message };
    }
  }
  if (failure) throw new ExitError(failure.code, `Error: ${failure.message}`);
}

const HISTORY_TABLE = 'table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';

/** `image history`: the config's history, newest first, with each layer's size beside the step that made it. */
export function history(ctx: EngineContext, ref: string, o: { format?: string; trunc: boolean; quiet: boolean }): string {
  const rec = ctx.images.lookup(ref);
  if (!rec) throw new ExitError(125, `Error: ${ref}: image not known`);
  const config = ctx.images.config(rec.id);
  const layerSizes = rec.layers.map((d) => ctx.layers.get(d)?.size ?? 0);
  let layer = 0;
  const now = new Date();
  const steps = (config.history ?? []).map((h, i, all) => {
    const size = h.empty_layer ? 0 : (layerSizes[layer++] ?? 0);
    const id = i === all.length - 1 ? rec.id : '<missing>';
    return {
      ID: o.trunc && id !== '<missing>' ? id.slice(0, 12) : id,
      Created: h.created ? timeAgo(new Date(h.created), now) : '',
      CreatedAt: h.created ?? '',
      CreatedBy: o.trunc && (h.created_by ?? '').length > 45 ? `${(h.created_by ?? '').slice(0, 42)}...` : (h.created_by ?? ''),
      Size: humanSize(size),
      Comment: h.comment ?? '',
    };
  });
  steps.reverse();
  if (o.quiet) return steps.map((s) => s.ID).join('\n');
  return renderReport(steps, { format: o.format, defaultTable: HISTORY_TABLE, headers: { CreatedBy: 'CREATED BY' } });
}

/** `image prune`: images without names (all unused ones with -a) that no container uses. */
export function prune(ctx: EngineContext, all: boolean): string {
  const used = new Set(ctx.containers.list().map((c) => c.image.id));
  const removed: string[] = [];
  for (const rec of ctx.images.list()) {
    if (used.has(rec.id) || (!all && rec.names.length > 0)) continue;
    ctx.images.remove(rec.id);
    recordImageEvent(ctx, 'remove', rec.id, rec.names[0] ?? rec.id);
    removed.push(rec.id);
  }
  return removed.join('\n');
}
