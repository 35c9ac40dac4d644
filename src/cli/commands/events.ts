// `events`: the events log, filtered and printed as Podman's events command.
// Podman's semantics: with --since or --until the log is read from its start;
// without --until it then streams new events until interrupted, unless
// --stream=false; with --until it streams until that time has come.
import type { EngineContext } from '../../engine/context';
import { matchEvent, parseEventFilters } from '../../engine/events';
import { readEvents } from '../../state/events-read';
import { nowNs } from '../../state/nanotime';
import { ExitError } from '../errors';
import { humanEvent, jsonEvent, templateEvent } from '../event-format';
import { isJsonFormat } from '../report';
import { compileTemplate, normalizeFormat } from '../template';
import { parseTimeArg } from '../time-arg';

export interface EventsFlags {
  filter?: string[];
  format?: string;
  since?: string;
  until?: string;
  stream?: boolean;
  noTrunc?: boolean;
}

function timeBound(which: 'since' | 'until', value: string): bigint {
  try {
    return parseTimeArg(value, which === 'since');
  } catch (err) {
    throw new ExitError(125, `Error: unable to convert ${which} time of ${value}: ${(err as Error).message}`);
  }
}

function printer(o: EventsFlags): (e: import('../../state/events').SelkieEvent) => string {
  if (o.format === undefined || o.format === '') return (e) => humanEvent(e, o.noTrunc === false) + '\n';
  if (isJsonFormat(o.format)) return (e) => jsonEvent(e) + '\n';
  const render = compileTemplate(normalizeFormat(o.format));
  return (e) => {
    const s = render(templateEvent(e));
    return s.endsWith('\n') ? s : s + '\n';
  };
}

export async function showEvents(ctx: EngineContext, o: EventsFlags): Promise<void> {
  // since= and until= filters are the flags by another name (Docker's clients use them)
  let since = o.since;
  let until = o.until;
  const rest: string[] = [];
  for (const f of o.filter ?? []) {
    const m = /^(since|until)=(.*)$/i.exec(f);
    if (!m) rest.push(f);
    else if (m[1].toLowerCase() === 'since') since = m[2];
    else until = m[2];
  }
  const filters = parseEventFilters(rest);
  if (since !== undefined) filters.since = timeBound('since', since);
  if (until !== undefined) filters.until = timeBound('until', until);
  const print = printer(o);
  const stream = o.stream !== false;
  const end = filters.until;
  await readEvents(ctx.paths.runRoot, {
    fromStart: since !== undefined || until !== undefined || !stream,
    follow: stream && (end === undefined || end > nowNs()),
    stop: end === undefined ? undefined : () => nowNs() >= end,
    onEvent: (e) => {
      if (matchEvent(filters, e)) process.stdout.write(print(e));
    },
  });
}
