// Commands of the logs area (container logs, the events log); gathered by ../main.ts.
import { bool, engine, FORMAT, str, type CommandDef, type GroupTable } from '../command';

/** A reader that is piped into `head` stops quietly when the pipe closes. */
function quietOnClosedPipe(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}

export const commands: CommandDef[] = [
  {
    name: 'logs',
    usage: 'selkie logs [options] CONTAINER [CONTAINER...]',
    description: 'Fetch the logs of one or more containers',
    options: [
      bool('follow', 'f', 'follow log output until the container stops'),
      str('since', undefined, 'show logs since TIMESTAMP (RFC3339, Unix time or a duration like 10m)'),
      str('until', undefined, 'show logs until TIMESTAMP (RFC3339, Unix time or a duration like 10m)'),
      str('tail', undefined, 'the last LINES lines only (-1: all)'),
      bool('timestamps', 't', 'show the time of each line'),
      bool('names', 'n', 'prefix lines with container names instead of IDs (several containers)'),
      bool('latest', 'l', 'the latest container'),
    ],
    async run(g, o, refs) {
      quietOnClosedPipe();
      const ctx = await engine(g);
      const { showLogs } = await import('../commands/logs');
      await showLogs(ctx, refs, o);
    },
  },
  {
    name: 'events',
    usage: 'selkie events [options]',
    description: 'Show events: past ones with --since/--until, then new ones as they happen',
    options: [
      str('filter', 'f', 'filter output (container=, event=, image=, label=, type=, pod=, volume=)', true),
      FORMAT,
      str('since', undefined, 'show events since TIMESTAMP (RFC3339, Unix time or a duration like 10m)'),
      str('until', undefined, 'show events until TIMESTAMP, then stop'),
      bool('stream', undefined, 'keep printing new events (--stream=false: stop after the past ones)'),
      bool('no-trunc', undefined, 'do not truncate IDs (default true)'),
    ],
    maxArgs: 0,
    async run(g, o) {
      quietOnClosedPipe();
      const ctx = await engine(g);
      const { showEvents } = await import('../commands/events');
      await showEvents(ctx, o);
    },
  },
];

export const groups: GroupTable = {
  container: { logs: { command: 'logs' } },
  system: { events: { command: 'events' } },
};
