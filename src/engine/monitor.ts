// Starting a container under conmon, so that it outlives this process:
// mount and write the bundle (start.ts prepare), let conmon create it, hand
// the caller a moment to attach, then `crun start`.  Everything a later
// selkie process needs is in the record: conmon's PID and the container's.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { launcherPath } from '../native/index';
import { spawnConmon } from '../runtime/conmon';
import { forceDelete, runtimeArgs, runtimeBinary, runtimeErrors, startContainer } from '../runtime/crun';
import { processStartTime } from '../state/process';
import type { EngineContext } from './context';
import { EngineError } from './errors';
import { recordContainerEvent } from '../state/events';
import { recordExit } from './cleanup';
import { startHealthTimer } from './health';
import { logPathOf, parseSize } from './log-config';
import { claimStart, classifyStartFailure, prepare } from './start';
import { exitDir, exitFile, socketDir } from './monitor-paths';

export { attachSocket, controlFifo, exitFile } from './monitor-paths';

function readPid(file: string): number {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}

/**
 * Starts a container under conmon.  `beforeStart` runs once the container
 * exists and before its process runs (attach there to miss no output).
 */
export async function startMonitored(
  ctx: EngineContext,
  id: string,
  opts: { beforeStart?: () => Promise<void> | void } = {},
): Promise<void> {
  const rec = claimStart(ctx, id);
  const runDir = ctx.runDir(id);
  const fail = (err: Error, code = 125): never => {
    recordExit(ctx, id, { exitCode: code, error: err.message });
    throw err instanceof EngineError ? err : new EngineError(err.message, code);
  };

  let prepared;
  try {
    prepared = await prepare(ctx, rec);
  } catch (err) {
    return fail(err as Error, err instanceof EngineError ? err.exitCode : 125);
  }
  const log = join(runDir, 'crun.log');
  rmSync(log, { force: true });
  mkdirSync(exitDir(ctx), { recursive: true, mode: 0o700 });
  mkdirSync(socketDir(ctx), { recursive: true, mode: 0o700 });
  rmSync(exitFile(ctx, id), { force: true });
  const driver = rec.config.logDriver ?? 'k8s-file';
  let pid: number;
  try {
    pid = await spawnConmon({
      id,
      name: rec.name,
      bundle: runDir,
      socketDir: socketDir(ctx),
      pidFile: join(runDir, 'pidfile'),
      conmonPidFile: join(runDir, 'conmon.pid'),
      exitDir: exitDir(ctx),
      logPath: driver === 'none' ? undefined : logPathOf(ctx, rec),
      logSizeMax: parseSize(rec.config.logOpts?.['max-size']),
      terminal: rec.config.tty,
      stdin: rec.config.interactive,
      runtime: runtimeBinary(),
      runtimeArgs: runtimeArgs(ctx.runtimeRoot, log),
      // --run: which run's end this reports; a late one from an earlier run must not end this one.
      exitCommand: [launcherPath(), '--root', ctx.paths.graphRoot, '--runroot', ctx.paths.runRoot, 'container', 'cleanup', '--run', rec.state.startedAt!, id],
    });
  } catch (err) {
    const errors = runtimeErrors(log);
    const execFailure = errors.length ? classifyStartFailure(prepared.rootfs, rec, errors) : undefined;
    prepared.cleanup();
    if (execFailure) return fail(execFailure, execFailure.exitCode);
    return fail(new EngineError(`crun: ${errors.join('; ') || (err as Error).message}: OCI runtime error`));
  }
  const conmonPid = readPid(join(runDir, 'conmon.pid'));
  ctx.containers.update(id, (r) => {
    r.state.pid = pid;
    r.state.pidStart = processStartTime(pid);
    r.state.monitorPid = conmonPid || undefined;
    r.state.monitorStart = conmonPid ? processStartTime(conmonPid) : undefined;
    r.state.mounted = true;
    r.state.conmon = true;
    if (r.config.healthcheck) r.state.health = { status: 'starting', failingStreak: 0, log: [] };
  });
  if (opts.beforeStart) await opts.beforeStart();
  const started = startContainer(ctx.runtimeRoot, id, log);
  if (!started.ok) {
    const errors = runtimeErrors(log);
    const execFailure = errors.length ? classifyStartFailure(prepared.rootfs, rec, errors) : undefined;
    // The created container is conmon's child: deleting it makes conmon exit.
    forceDelete(ctx.runtimeRoot, id);
    prepared.cleanup();
    if (execFailure) return fail(execFailure, execFailure.exitCode);
    return fail(new EngineError(`crun: ${errors.join('; ') || started.stderr}: OCI runtime error`));
  }
  recordContainerEvent(ctx, 'start', rec);
  const pidStart = processStartTime(pid);
  if (rec.config.healthcheck && pidStart) startHealthTimer(ctx, rec, pid, pidStart);
}
