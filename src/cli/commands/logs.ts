// `logs`: containers' k8s-file logs, stdout records to our stdout and stderr
// records to our stderr, as Podman prints them.
import type { EngineContext } from '../../engine/context';
import { NotFoundError } from '../../engine/errors';
import { effectiveStatus } from '../../engine/liveness';
import { logPath, streamLogs, type LogStream } from '../../engine/logs';
import { requireContainer } from '../../engine/remove';
import type { ContainerRecord } from '../../state/containers';
import { ExitError } from '../errors';
import { UsageError } from '../parse';
import { parseTimeArg } from '../time-arg';

export interface LogsFlags {
  follow?: boolean;
  since?: string;
  until?: string;
  tail?: string;
  timestamps?: boolean;
  names?: boolean;
  latest?: boolean;
}

/** A --since/--until value, or Podman's error for it. */
export function timeFlag(flag: string, value: string | undefined, since: boolean): bigint | undefined {
  if (value === undefined) return undefined;
  try {
    return parseTimeArg(value, since);
  } catch (err) {
    throw new ExitError(125, `Error: parsing --${flag} "${value}": ${(err as Error).message}`);
  }
}

/** --tail: an integer as Go's strconv.ParseInt reads it; negative means all. */
function tailFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(value)) {
    throw new UsageError(`invalid argument "${value}" for "--tail" flag: strconv.ParseInt: parsing "${value}": invalid syntax`);
  }
  const n = Number(value);
  return n < 0 ? undefined : n;
}

function targets(ctx: EngineContext, refs: string[], latest: boolean): ContainerRecord[] {
  if (latest) {
    if (refs.length) throw new ExitError(125, 'Error: --latest and containers cannot be used together');
    const rec = ctx.containers.list()[0];
    if (!rec) throw new ExitError(125, 'Error: no containers to get logs from: no such container');
    return [rec];
  }
  if (!refs.length) throw new ExitError(125, 'Error: specify at least one container name or ID to log');
  return refs.map((ref) => {
    try {
      return requireContainer(ctx, ref);
    } catch (err) {
      // Podman's logs exits 125 for a missing container (rm uses 1)
      if (err instanceof NotFoundError) throw new ExitError(125, `Error: ${err.message}`);
      throw err;
    }
  });
}

export async function showLogs(ctx: EngineContext, refs: string[], o: LogsFlags): Promise<void> {
  const since = timeFlag('since', o.since, true);
  const until = timeFlag('until', o.until, false);
  const tail = tailFlag(o.tail);
  const recs = targets(ctx, refs, !!o.latest);
  for (const rec of recs) {
    if (rec.config.logDriver === 'none') {
      throw new ExitError(125, "Error: this container is using the 'none' log driver, cannot read logs: this container is not logging output");
    }
  }
  const out = (stream: LogStream, data: Buffer) => (stream === 'stdout' ? process.stdout : process.stderr).write(data);
  const one = (rec: ContainerRecord) =>
    streamLogs(logPath(ctx, rec), {
      follow: !!o.follow,
      since,
      until,
      tail,
      timestamps: !!o.timestamps,
      // several containers: each line says whose it is
      prefix: recs.length > 1 ? `${o.names ? rec.name : rec.id.slice(0, 12)} ` : undefined,
      isRunning: () => {
        const now = ctx.containers.get(rec.id);
        return !!now && effectiveStatus(now) === 'running';
      },
      out,
    });
  if (o.follow) {
    await Promise.all(recs.map(one));
  } else {
    for (const rec of recs) await one(rec);
  }
}
