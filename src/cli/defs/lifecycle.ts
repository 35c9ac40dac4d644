// Commands of a container's life after create: attach, stop, kill, wait,
// restart, pause, unpause, rename, and conmon's exit command (cleanup).
import { readFileSync } from 'node:fs';
import { bool, engine, print, str, type CommandDef, type GroupTable } from '../command';
import { ExitError } from '../errors';
import { UsageError } from '../parse';

export const TIME = { long: 'time', short: 't', type: 'string' as const, help: 'seconds to wait before killing the container' };

export function seconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text)) throw new UsageError(`invalid argument "${text}" for "-t, --time" flag: strconv.ParseUint: parsing "${text}": invalid syntax`);
  return Math.max(0, Number(text));
}

async function targets(g: Parameters<CommandDef['run']>[0], o: Record<string, any>, refs: string[]): Promise<string[]> {
  if (o.all) {
    const ctx = await engine(g);
    const { effectiveStatus } = await import('../../engine/liveness');
    return ctx.containers.list().filter((c) => effectiveStatus(c) === 'running').map((c) => c.id);
  }
  if (o.latest) {
    const ctx = await engine(g);
    const latest = ctx.containers.list()[0];
    if (!latest) throw new ExitError(125, 'Error: no containers to act on');
    return [latest.id];
  }
  if (refs.length === 0) throw new UsageError('you must provide at least one container name or ID');
  return refs;
}

export const commands: CommandDef[] = [
  {
    name: 'exec',
    usage: 'selkie exec [options] CONTAINER COMMAND [ARG...]',
    description: 'Run a process in a running container',
    options: [
      bool('interactive', 'i', 'keep STDIN open'),
      bool('tty', 't', 'allocate a pseudo-TTY'),
      bool('detach', 'd', 'run the process in the background'),
      str('user', 'u', 'user[:group] to run as (name or ID)'),
      str('env', 'e', 'set environment variables', true),
      str('env-file', undefined, 'read environment variables from a file', true),
      str('workdir', 'w', 'working directory inside the container'),
      bool('privileged', undefined, 'give the process all capabilities'),
      str('detach-keys', undefined, 'key sequence for detaching'),
    ],
    stopAtPositional: true,
    minArgs: 2,
    session: true,
    async run(g, o, [ref, ...args]) {
      const ctx = await engine(g);
      const envFiles = ((o.envFile as string[] | undefined) ?? []).map((file) => {
        try {
          return { text: readFileSync(file, 'utf8'), file };
        } catch (err) {
          throw new ExitError(125, `Error: cannot read env file ${file}: ${(err as Error).message}`);
        }
      });
      const { execInContainer } = await import('../../engine/exec');
      return execInContainer(ctx, ref, {
        args,
        interactive: !!o.interactive,
        tty: !!o.tty,
        detach: !!o.detach,
        user: o.user,
        env: o.env ?? [],
        envFiles,
        workdir: o.workdir,
        privileged: !!o.privileged,
      });
    },
  },
  {
    name: 'attach',
    usage: 'selkie attach [options] CONTAINER',
    description: 'Attach to a running container',
    options: [
      str('detach-keys', undefined, 'key sequence for detaching (default "ctrl-p,ctrl-q")'),
      bool('no-stdin', undefined, 'do not attach STDIN'),
      bool('sig-proxy', undefined, 'proxy received signals to the container', true),
    ],
    minArgs: 1,
    maxArgs: 1,
    session: true,
    async run(g, o, [ref]) {
      const ctx = await engine(g);
      const { attachRef } = await import('../commands/lifecycle');
      return attachRef(ctx, ref, { noStdin: !!o.noStdin, detachKeys: o.detachKeys });
    },
  },
  {
    name: 'stop',
    usage: 'selkie stop [options] CONTAINER [CONTAINER...]',
    description: 'Stop containers: the stop signal, then SIGKILL after the timeout',
    options: [TIME, bool('all', 'a', 'stop all running containers'), bool('ignore', 'i', 'ignore containers that do not exist'), bool('latest', 'l', 'the latest container')],
    session: true,
    async run(g, o, refs) {
      const ctx = await engine(g);
      const t = seconds(o.time);
      const { stopContainerRef } = await import('../../engine/lifecycle');
      const { eachRef } = await import('../commands/lifecycle');
      const { NotFoundError } = await import('../../engine/errors');
      return eachRef(await targets(g, o, refs), async (ref) => {
        try {
          await stopContainerRef(ctx, ref, t);
        } catch (err) {
          if (o.ignore && err instanceof NotFoundError) return ref;
          throw err;
        }
      });
    },
  },
  {
    name: 'kill',
    usage: 'selkie kill [options] CONTAINER [CONTAINER...]',
    description: 'Send a signal to containers (default SIGKILL)',
    options: [str('signal', 's', 'signal to send (default "KILL")'), bool('all', 'a', 'all running containers'), bool('latest', 'l', 'the latest container')],
    session: true,
    async run(g, o, refs) {
      const ctx = await engine(g);
      const { killContainerRef } = await import('../../engine/lifecycle');
      const { eachRef } = await import('../commands/lifecycle');
      return eachRef(await targets(g, o, refs), async (ref) => {
        await killContainerRef(ctx, ref, o.signal ?? 'SIGKILL');
      });
    },
  },
  {
    name: 'wait',
    usage: 'selkie wait [options] CONTAINER [CONTAINER...]',
    description: 'Wait for containers to stop and print their exit codes',
    options: [
      str('condition', undefined, 'condition to wait for: stopped (default), exited, running, created, healthy, unhealthy', true),
      str('interval', 'i', 'time between checks (default 250ms)'),
      bool('latest', 'l', 'the latest container'),
    ],
    async run(g, o, refs) {
      const ctx = await engine(g);
      const { waitContainer } = await import('../../engine/lifecycle');
      const conditions = (o.condition as string[] | undefined)?.length ? o.condition : ['stopped'];
      const valid = ['configured', 'created', 'exited', 'paused', 'running', 'stopped', 'healthy', 'unhealthy'];
      for (const c of conditions) if (!valid.includes(c)) throw new UsageError(`${c} is not a valid container state`);
      let last = 0;
      for (const ref of await targets(g, o, refs)) {
        last = await waitContainer(ctx, ref, conditions);
        print(String(last));
      }
      return 0;
    },
  },
  {
    name: 'restart',
    usage: 'selkie restart [options] CONTAINER [CONTAINER...]',
    description: 'Restart containers',
    options: [TIME, bool('all', 'a', 'restart all running containers'), bool('latest', 'l', 'the latest container')],
    session: true,
    async run(g, o, refs) {
      const ctx = await engine(g);
      const t = seconds(o.time);
      const { restartContainerRef } = await import('../../engine/lifecycle');
      const { eachRef } = await import('../commands/lifecycle');
      return eachRef(await targets(g, o, refs), async (ref) => {
        await restartContainerRef(ctx, ref, t);
      });
    },
  },
  {
    name: 'pause',
    usage: 'selkie pause CONTAINER [CONTAINER...]',
    description: 'Pause all processes in containers (needs the cgroup freezer)',
    options: [bool('all', 'a', 'all running containers')],
    session: true,
    async run(g, o, refs) {
      const ctx = await engine(g);
      const { pauseContainerRef } = await import('../../engine/pause');
      const { eachRef } = await import('../commands/lifecycle');
      return eachRef(await targets(g, o, refs), async (ref) => pauseContainerRef(ctx, ref, true));
    },
  },
  {
    name: 'unpause',
    usage: 'selkie unpause CONTAINER [CONTAINER...]',
    description: 'Unpause paused containers',
    options: [bool('all', 'a', 'all paused containers')],
    session: true,
    async run(g, o, refs) {
      const ctx = await engine(g);
      const { pauseContainerRef } = await import('../../engine/pause');
      const { eachRef } = await import('../commands/lifecycle');
      return eachRef(await targets(g, o, refs), async (ref) => pauseContainerRef(ctx, ref, false));
    },
  },
  {
    name: 'rename',
    usage: 'selkie rename CONTAINER NAME',
    description: 'Rename a container',
    options: [],
    minArgs: 2,
    maxArgs: 2,
    async run(g, _o, [ref, name]) {
      const ctx = await engine(g);
      const { renameContainer } = await import('../../engine/rename');
      renameContainer(ctx, ref, name);
    },
  },
  {
    name: '__healthcheck-run',
    usage: 'selkie healthcheck run CONTAINER',
    description: 'Run a container\'s healthcheck once: exit 0 when healthy, 1 when not',
    options: [],
    minArgs: 1,
    maxArgs: 1,
    hidden: true,
    session: true,
    async run(g, _o, [ref]) {
      const ctx = await engine(g);
      const { runHealthcheck } = await import('../../engine/health');
      const status = runHealthcheck(ctx, ref);
      if (status === 'unhealthy') {
        print('unhealthy');
        return 1;
      }
      return 0;
    },
  },
  {
    name: 'top',
    usage: 'selkie top CONTAINER [DESCRIPTORS...]',
    description: 'Show the processes of a container',
    options: [bool('latest', 'l', 'the latest container')],
    stopAtPositional: true,
    minArgs: 1,
    session: true,
    async run(g, _o, [ref, ...descriptors]) {
      const ctx = await engine(g);
      const { topContainer } = await import('../../engine/top');
      const rows = topContainer(ctx, ref, descriptors);
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
      print(rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n'));
    },
  },
  {
    name: 'stats',
    usage: 'selkie stats [options] [CONTAINER...]',
    description: 'Show resource usage of containers (needs cgroup v2 delegation)',
    options: [bool('no-stream', undefined, 'print one sample and exit'), bool('all', 'a', 'all containers'), str('format', undefined, 'Go template'), bool('no-reset', undefined, 'do not clear the screen')],
    async run() {
      const { detectCgroups } = await import('../../engine/info');
      const cg = detectCgroups();
      throw new ExitError(
        125,
        `Error: stats need the containers' cgroups: ${cg.limitsUsable ? 'selkie does not place containers in cgroups yet' : cg.reason}`,
      );
    },
  },
  {
    name: '__container-prune',
    usage: 'selkie container prune [options]',
    description: 'Remove all stopped containers',
    options: [bool('force', 'f', 'do not ask for confirmation'), str('filter', undefined, 'filter: label, until', true)],
    maxArgs: 0,
    session: true,
    async run(g, o) {
      const { confirmed } = await import('../confirm');
      if (!(await confirmed(o.force, 'WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] '))) return 0;
      const ctx = await engine(g);
      const { effectiveStatus } = await import('../../engine/liveness');
      const { containerFilter } = await import('../../engine/container-filter');
      const { removeContainer } = await import('../../engine/remove');
      const match = containerFilter(o.filter ?? []);
      for (const rec of ctx.containers.list()) {
        const st = effectiveStatus(rec);
        if ((st !== 'exited' && st !== 'created') || !match(rec)) continue;
        try {
          await removeContainer(ctx, rec.id, false);
          print(rec.id);
        } catch (err) {
          process.stderr.write(`Error: ${(err as Error).message}\n`);
        }
      }
    },
  },
  {
    name: 'port',
    usage: 'selkie port [options] CONTAINER [PRIVATE_PORT[/PROTO]]',
    description: 'List the published ports of a container',
    options: [bool('all', 'a', 'all containers'), bool('latest', 'l', 'the latest container')],
    maxArgs: 2,
    async run(g, o, args) {
      const ctx = await engine(g);
      const { requireContainer } = await import('../../engine/remove');
      const recs = o.all ? ctx.containers.list() : [requireContainer(ctx, args[0] ?? (await targets(g, o, []))[0])];
      const { publishedPorts } = await import('../../network/config');
      const { formatPortLines } = await import('../../network/ports');
      const wanted = o.all ? undefined : args[1];
      if (wanted !== undefined) {
        const lines = formatPortLines(publishedPorts(recs[0]), wanted);
        const port = /\//.test(wanted) ? wanted : `${wanted}/tcp`;
        if (!lines.length) throw new ExitError(125, `Error: failed to find published port "${port}"`);
        print(lines.join('\n'));
        return;
      }
      const out: string[] = [];
      for (const rec of recs) {
        const lines = formatPortLines(publishedPorts(rec));
        if (o.all && lines.length) out.push(rec.id.slice(0, 12));
        out.push(...lines);
      }
      if (out.length) print(out.join('\n'));
    },
  },
  {
    name: '__cleanup',
    usage: 'selkie container cleanup CONTAINER',
    description: 'Record a container\'s exit and release what it held (conmon runs this)',
    options: [str('run', undefined, 'the start time of the run whose end conmon reports')],
    minArgs: 1,
    maxArgs: 1,
    hidden: true,
    session: true,
    async run(g, o, [id]) {
      const ctx = await engine(g);
      const { cleanupContainer } = await import('../../engine/cleanup');
      await cleanupContainer(ctx, id, { fromMonitor: true, run: o.run as string | undefined });
    },
  },
];

export const groups: GroupTable = {
  healthcheck: { run: { command: '__healthcheck-run' } },
  container: {
    exec: { command: 'exec' },
    attach: { command: 'attach' },
    stop: { command: 'stop' },
    kill: { command: 'kill' },
    wait: { command: 'wait' },
    restart: { command: 'restart' },
    pause: { command: 'pause' },
    unpause: { command: 'unpause' },
    rename: { command: 'rename' },
    cleanup: { command: '__cleanup' },
    top: { command: 'top' },
    port: { command: 'port' },
    stats: { command: 'stats' },
    prune: { command: '__container-prune' },
  },
};
