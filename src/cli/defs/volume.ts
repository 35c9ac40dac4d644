// Commands of the volume area (`selkie volume ...`); gathered by ../main.ts.
import { bool, eachName, engine, FORMAT, FORMAT_F, print, str, type CommandDef, type GroupTable } from '../command';
import { createWriteStream, type WriteStream } from 'node:fs';
import { ExitError } from '../errors';

const LS_TABLE = 'table {{.Driver}}\t{{.Name}}';

export const commands: CommandDef[] = [
  {
    name: '__volume-create',
    usage: 'selkie volume create [options] [NAME]',
    description: 'Create a volume (a random name when none is given)',
    options: [
      str('label', 'l', 'set metadata on the volume (KEY=VALUE)', true),
      str('driver', 'd', 'volume driver (only local)'),
      str('opt', 'o', 'driver options', true),
      bool('ignore', undefined, 'do not fail when the volume exists'),
    ],
    maxArgs: 1,
    hidden: true,
    session: true,
    async run(g, o, [name]) {
      if (o.driver !== undefined && o.driver !== 'local') throw new ExitError(125, `Error: volume driver "${o.driver}" is not supported: only local`);
      const ctx = await engine(g);
      const { parseLabels } = await import('../../engine/create');
      const { createVolume } = await import('../../engine/volumes');
      const opts: Record<string, string> = parseLabels(o.opt ?? []);
      print(createVolume(ctx, { name, labels: parseLabels(o.label ?? []), options: opts, ignoreExisting: !!o.ignore }).Name);
    },
  },
  {
    name: '__volume-ls',
    usage: 'selkie volume ls [options]',
    description: 'List volumes',
    options: [
      FORMAT,
      bool('quiet', 'q', 'print only the volume names'),
      str('filter', 'f', 'filter output: name, label, driver, anonymous, dangling', true),
      bool('noheading', 'n', 'do not print column headings'),
    ],
    maxArgs: 0,
    hidden: true,
    async run(g, o) {
      const ctx = await engine(g);
      const { inspectVolume, volumeFilter, volumeUsers } = await import('../../engine/volumes');
      const all = ctx.containers.list();
      const keep = volumeFilter(o.filter ?? [], (n) => volumeUsers(ctx, n, all).length > 0);
      const rows = ctx.volumes.list().filter(keep).map((v) => inspectVolume(ctx, v, all));
      if (o.quiet) return print(rows.map((r) => r.Name).join('\n'));
      const { renderReport } = await import('../report');
      print(renderReport(rows, { format: o.format, defaultTable: LS_TABLE, headers: { Name: 'VOLUME NAME' }, noHeading: !!o.noheading }));
    },
  },
  {
    name: '__volume-inspect',
    usage: 'selkie volume inspect [options] VOLUME [VOLUME...]',
    description: 'Show details of volumes',
    options: [FORMAT_F, bool('all', 'a', 'inspect all volumes')],
    hidden: true,
    async run(g, o, names) {
      const ctx = await engine(g);
      const { inspectVolume, requireVolume } = await import('../../engine/volumes');
      const { inspectNamed } = await import('../report');
      const all = ctx.containers.list();
      const targets = o.all ? ctx.volumes.list().map((v) => v.Name) : names;
      if (!targets.length) throw new ExitError(125, 'Error: provide one or more volume names or use --all');
      const { output, missing } = inspectNamed(targets, (n) => inspectVolume(ctx, requireVolume(ctx, n), all), o.format);
      print(output);
      if (missing) throw new ExitError(125, `Error: ${missing}`);
    },
  },
  {
    name: '__volume-rm',
    usage: 'selkie volume rm [options] VOLUME [VOLUME...]',
    description: 'Remove volumes (in use: refused unless --force, which removes the containers using them)',
    options: [bool('force', 'f', 'remove the containers using the volume first'), bool('all', 'a', 'remove all volumes')],
    hidden: true,
    session: true,
    async run(g, o, names) {
      const ctx = await engine(g);
      const { removeVolume } = await import('../../engine/volumes');
      const targets = o.all ? ctx.volumes.list().map((v) => v.Name) : names;
      if (!o.all && !targets.length) throw new ExitError(125, 'Error: choose either one or more volumes or all');
      await eachName(targets, async (n) => {
        await removeVolume(ctx, n, !!o.force);
        print(n);
      });
    },
  },
  {
    name: '__volume-prune',
    usage: 'selkie volume prune [options]',
    description: 'Remove all volumes no container uses',
    options: [bool('force', 'f', 'do not ask for confirmation'), str('filter', undefined, 'filter: name, label, driver, anonymous', true)],
    maxArgs: 0,
    hidden: true,
    session: true,
    async run(g, o) {
      const { confirmed } = await import('../confirm');
      if (!(await confirmed(o.force, 'WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:\nAre you sure you want to continue? [y/N] '))) return 0;
      const ctx = await engine(g);
      const { pruneVolumes, volumeFilter } = await import('../../engine/volumes');
      print(pruneVolumes(ctx, volumeFilter(o.filter ?? [])).join('\n'));
    },
  },
  {
    name: '__volume-exists',
    usage: 'selkie volume exists VOLUME',
    description: 'Exit 0 if the volume exists, 1 if not',
    options: [],
    minArgs: 1,
    maxArgs: 1,
    hidden: true,
    async run(g, _o, [name]) {
      const ctx = await engine(g);
      const { VOLUME_NAME } = await import('../../engine/mount-spec');
      return VOLUME_NAME.test(name) && ctx.volumes.get(name) ? 0 : 1;
    },
  },
  {
    name: '__volume-export',
    usage: 'selkie volume export [options] VOLUME',
    description: 'Write the content of a volume as a tar archive (to stdout, or --output)',
    options: [str('output', 'o', 'write to this file instead of stdout')],
    minArgs: 1,
    maxArgs: 1,
    hidden: true,
    session: true,
    async run(g, o, [name]) {
      const ctx = await engine(g);
      const { exportVolume } = await import('../../engine/volume-archive');
      if (!o.output && process.stdout.isTTY) throw new ExitError(125, 'Error: expected --output or a redirection of stdout');
      const out = o.output ? createWriteStream(o.output, { mode: 0o644 }) : process.stdout;
      await exportVolume(ctx, name, out);
      if (o.output) await new Promise<void>((res, rej) => (out as WriteStream).end((e?: Error | null) => (e ? rej(e) : res())));
    },
  },
  {
    name: '__volume-import',
    usage: 'selkie volume import VOLUME SOURCE',
    description: 'Extract a tar archive (a file, or - for stdin) into a volume',
    options: [],
    minArgs: 2,
    maxArgs: 2,
    hidden: true,
    session: true,
    async run(g, _o, [name, source]) {
      const ctx = await engine(g);
      const { importVolume } = await import('../../engine/volume-archive');
      await importVolume(ctx, name, source, process.stdin);
    },
  },
];

export const groups: GroupTable = {
  volume: {
    create: { command: '__volume-create' },
    ls: { command: '__volume-ls' },
    list: { command: '__volume-ls' },
    inspect: { command: '__volume-inspect' },
    rm: { command: '__volume-rm' },
    remove: { command: '__volume-rm' },
    prune: { command: '__volume-prune' },
    exists: { command: '__volume-exists' },
    export: { command: '__volume-export' },
    import: { command: '__volume-import' },
  },
};
