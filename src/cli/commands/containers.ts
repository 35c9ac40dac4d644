// run, start, ps, rm: argument handling and output around the engine calls.
import { publishedPorts } from '../../network/config';
import { formatPsPorts } from '../../network/ports';
import type { EngineContext } from '../../engine/context';
import { createContainer, type CreateOptions } from '../../engine/create';
import { NotFoundError } from '../../engine/errors';
import { psRow } from '../../engine/inspect';
import { containerFilter } from '../../engine/container-filter';
import { effectiveStatus } from '../../engine/liveness';
import { removeContainer } from '../../engine/remove';
import { startAttached } from '../../engine/start';
import { renderReport } from '../report';
import { statusText, timeAgo } from '../units';
import { ExitError } from '../errors';
import { trace } from '../../trace';

/** `run`: create, start attached, and with --rm remove; the container's exit code is ours. */
export async function runContainer(ctx: EngineContext, opts: CreateOptions): Promise<number> {
  trace('run: modules loaded');
  const rec = createContainer(ctx, opts);
  trace('created');
  try {
    return await startAttached(ctx, rec.id, { removeAfter: opts.rm });
  } finally {
    trace('exited');
    if (opts.rm) await removeContainer(ctx, rec.id, true, { exited: true, volumes: true });
    trace('removed');
  }
}

const PS_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';
const PS_HEADERS = { ID: 'CONTAINER ID', CreatedHuman: 'CREATED' };

export function listContainers(
  ctx: EngineContext,
  o: { all: boolean; quiet: boolean; format?: string; trunc: boolean; noheading: boolean; latest: boolean; filter?: string[] },
): string {
  const now = new Date();
  let recs = ctx.containers.list();
  // A status filter implies --all, as in Podman.
  const filters = o.filter ?? [];
  if (!o.all && !o.latest && !filters.some((f) => f.startsWith('status=') || f.startsWith('exited='))) recs = recs.filter((r) => effectiveStatus(r) === 'running');
  if (filters.length) recs = recs.filter(containerFilter(filters, now));
  if (o.latest) recs = recs.slice(0, 1);
  if (o.quiet) return recs.map((r) => (o.trunc ? r.id.slice(0, 12) : r.id)).join('\n');
  if (o.format === 'json') {
    return JSON.stringify(
      recs.map((r) => {
        const row = psRow(r, now);
        return { ...row, Id: r.id, Command: r.config.args, Status: statusText({ ...stateOf(r), now }) };
      }),
      null,
      4,
    );
  }
  const rows = recs.map((r) => {
    const row = psRow(r, now);
    return {
      ...row,
      ID: o.trunc ? r.id.slice(0, 12) : r.id,
      Names: r.name,
      Command: r.config.args.join(' '),
      CreatedHuman: timeAgo(new Date(r.created), now),
      Status: statusText({ ...stateOf(r), now }) + (row.Status ? ` (${row.Status})` : ''),
      Ports: formatPsPorts(publishedPorts(r)),
    };
  });
  return renderReport(rows, { format: o.format, defaultTable: PS_TABLE, headers: PS_HEADERS, noHeading: o.noheading });
}

function stateOf(r: import('../../state/containers').ContainerRecord) {
  const status = effectiveStatus(r);
  return {
    status,
    startedAt: r.state.startedAt ? new Date(r.state.startedAt) : undefined,
    finishedAt: r.state.finishedAt ? new Date(r.state.finishedAt) : undefined,
    exitCode: r.state.exitCode ?? (status === 'exited' ? -1 : 0),
  };
}

/** rm; with --force and --time, a running container is stopped (its stop signal, SIGKILL after the time) first, as Podman does. */
export async function removeContainers(
  ctx: EngineContext,
  refs: string[],
  o: { all: boolean; force: boolean; ignore: boolean; volumes?: boolean; time?: number },
): Promise<void> {
  const targets = o.all ? ctx.containers.list().map((c) => c.id) : refs;
  if (!o.all && targets.length === 0) throw new ExitError(125, 'Error: specify one or more containers to remove');
  let failure: { code: number; message: string } | undefined;
  for (const ref of targets) {
    try {
      if (o.force && o.time !== undefined) {
        const rec = ctx.containers.lookup(ref);
        if (rec && effectiveStatus(rec) === 'running') {
          const { stopContainerRef } = await import('../../engine/lifecycle');
          await stopContainerRef(ctx, rec.id, o.time);
        }
      }
      await removeContainer(ctx, ref, o.force, { volumes: o.volumes });
      process.stdout.write(`${o.all ? ref : ref}\n`);
    } catch (err) {
      if (err instanceof NotFoundError && o.ignore) continue;
      const code = (err as { exitCode?: number }).exitCode ?? 125;
      if (failure) process.stderr.write(`Error: ${failure.message}\n`);
      failure = { code, message: (err as Error).message };
    }
  }
  if (failure) throw new ExitError(failure.code, `Error: ${failure.message}`);
}
