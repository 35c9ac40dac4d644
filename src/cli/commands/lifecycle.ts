// run -d, foreground runs under conmon, start, attach, stop, kill, wait,
// restart: argument handling and output around the engine calls.
import { existsSync } from 'node:fs';
import { attach, type Attachment } from '../../engine/attach';
import { cleanupContainer, readExitCode } from '../../engine/cleanup';
import type { EngineContext } from '../../engine/context';
import { createContainer, type CreateOptions } from '../../engine/create';
import { effectiveStatus, isActive } from '../../engine/liveness';
import { attachSocket, controlFifo, exitFile, startMonitored } from '../../engine/monitor';
import { requireContainer } from '../../engine/remove';
import { killContainer } from '../../runtime/crun';
import { ExitError } from '../errors';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';
const PROXIED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** After the attach socket closed: the exit code, with the container cleaned up (and removed with --rm). */
async function exitCodeAfterAttach(ctx: EngineContext, id: string): Promise<number> {
  const file = exitFile(ctx, id);
  for (;;) {
    // conmon writes the exit file before it runs the cleanup command, which removes it.
    const code = readExitCode(file);
    if (code !== undefined) {
      await cleanupContainer(ctx, id);
      return code;
    }
    const rec = ctx.containers.get(id);
    if (!rec) return 0;
    if (rec.state.status === 'exited') return rec.state.exitCode ?? 0;
    if (!isActive(rec)) return (await cleanupContainer(ctx, id)).exitCode ?? rec.state.exitCode ?? -1;
    await sleep(existsSync(file) ? 1 : 10);
  }
}

export interface AttachFlags {
  stdin: boolean;
  detachKeys?: string;
}

/** Starts a container under conmon with our stdio attached; resolves with its exit code (0 when detached). */
export async function startAttachedMonitored(ctx: EngineContext, id: string, f: AttachFlags): Promise<number> {
  const rec = requireContainer(ctx, id);
  let att: Attachment | undefined;
  try {
    await startMonitored(ctx, rec.id, {
      beforeStart: () => {
        att = attach({
          socket: attachSocket(ctx, rec.id),
          controlFifo: controlFifo(ctx, rec.id),
          stdin: f.stdin,
          tty: rec.config.tty,
          detachKeys: f.detachKeys ?? DEFAULT_DETACH_KEYS,
        });
      },
    });
  } catch (err) {
    att?.close();
    throw err;
  }
  // --sig-proxy (Podman's default): signals sent to us go to the container.
  const proxy = (sig: NodeJS.Signals) => killContainer(ctx.runtimeRoot, rec.id, sig);
  for (const s of PROXIED) process.on(s, proxy);
  const how = await att!.done;
  for (const s of PROXIED) process.off(s, proxy);
  if (how === 'detached') return 0;
  const code = await exitCodeAfterAttach(ctx, rec.id);
  // --rm: gone when we return, whichever process (we or conmon's cleanup) removes it.
  for (let i = 0; rec.autoRemove && i < 500 && ctx.containers.get(rec.id); i++) await sleep(10);
  return code;
}

/** run: -d prints the ID; otherwise attached (under conmon, so logs and attach work later). */
export async function runMonitored(ctx: EngineContext, opts: CreateOptions & { detach: boolean; detachKeys?: string }): Promise<number> {
  const rec = createContainer(ctx, opts);
  if (opts.detach) {
    try {
      await startMonitored(ctx, rec.id);
    } catch (err) {
      if (opts.rm) await (await import('../../engine/remove')).removeContainer(ctx, rec.id, true, { volumes: true }).catch(() => undefined);
      throw err;
    }
    process.stdout.write(`${rec.id}\n`);
    return 0;
  }
  return startAttachedMonitored(ctx, rec.id, { stdin: opts.interactive, detachKeys: opts.detachKeys });
}

/** start: in the background, or attached to one container. */
export async function startRefs(ctx: EngineContext, refs: string[], o: { attach: boolean; interactive: boolean; detachKeys?: string }): Promise<number> {
  if (o.attach) {
    if (refs.length > 1) throw new ExitError(125, 'Error: you cannot start and attach multiple containers at once');
    const rec = requireContainer(ctx, refs[0]);
    if (effectiveStatus(rec) === 'running') throw new ExitError(125, `Error: container ${rec.id} is already running`);
    return startAttachedMonitored(ctx, rec.id, { stdin: o.interactive || rec.config.interactive, detachKeys: o.detachKeys });
  }
  return eachRef(refs, async (ref) => {
    const rec = requireContainer(ctx, ref);
    // Starting a running container is not an error (Podman and Docker).
    if (effectiveStatus(rec) !== 'running') await startMonitored(ctx, rec.id);
  });
}

export async function attachRef(ctx: EngineContext, ref: string, o: { noStdin: boolean; detachKeys?: string }): Promise<number> {
  const rec = requireContainer(ctx, ref);
  if (effectiveStatus(rec) !== 'running') {
    throw new ExitError(125, `Error: you can only attach to running containers`);
  }
  if (!rec.state.conmon) throw new ExitError(125, `Error: container ${rec.name} was started in the foreground by another selkie process: it has no attach socket`);
  const att = attach({
    socket: attachSocket(ctx, rec.id),
    controlFifo: controlFifo(ctx, rec.id),
    stdin: !o.noStdin && rec.config.interactive,
    tty: rec.config.tty,
    detachKeys: o.detachKeys ?? DEFAULT_DETACH_KEYS,
  });
  if ((await att.done) === 'detached') return 0;
  return exitCodeAfterAttach(ctx, rec.id);
}

/** Runs fn for each reference, printing what Podman prints; the last error decides the exit code. */
export async function eachRef(refs: string[], fn: (ref: string) => Promise<string | void>): Promise<number> {
  let failure: ExitError | undefined;
  for (const ref of refs) {
    try {
      const out = await fn(ref);
      process.stdout.write(`${out ?? ref}\n`);
    } catch (err) {
      if (failure) process.stderr.write(`${failure.message}\n`);
      failure = new ExitError((err as { exitCode?: number }).exitCode ?? 125, `Error: ${(err as Error).message}`);
    }
  }
  if (failure) throw failure;
  return 0;
}
