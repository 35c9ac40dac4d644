// Where conmon's files for a container are: its exit file, the short link
// to the bundle, the attach socket and control FIFO.  Shared by starting,
// attaching, cleaning up and removing a container.
import { join } from 'node:path';
import type { EngineContext } from './context';

/** Where conmon records exit codes: one file per container, named by its ID. */
export function exitDir(ctx: EngineContext): string {
  return join(ctx.paths.runRoot, 'exits');
}

export function exitFile(ctx: EngineContext, id: string): string {
  return join(exitDir(ctx), id);
}

/** conmon links <socketDir>/<id> to the bundle (short paths for its attach socket). */
export function socketDir(ctx: EngineContext): string {
  return join(ctx.paths.runRoot, 'socket');
}

/** conmon's attach socket and control FIFO live in the bundle (the run directory). */
export function attachSocket(ctx: EngineContext, id: string): string {
  return join(ctx.runDir(id), 'attach');
}

export function controlFifo(ctx: EngineContext, id: string): string {
  return join(ctx.runDir(id), 'ctl');
}
