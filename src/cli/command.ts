// One command of selkie's command line, and the small pieces every command
// table uses.  Tables live in ./defs/*.ts (one per area) and are gathered by
// main.ts; a command loads its engine modules only when it runs.
import { ExitError } from './errors';
import type { OptionSpec } from './parse';

export type Opts = Record<string, any>;
export interface Globals { root?: string; runroot?: string }

export interface CommandDef {
  name: string;
  usage: string;
  description: string;
  options: OptionSpec[];
  /** run/create: the first positional is the image, the rest its command */
  stopAtPositional?: boolean;
  minArgs?: number;
  maxArgs?: number;
  /** changes storage: runs inside the session namespace */
  session?: boolean;
  hidden?: boolean;
  run(g: Globals, o: Opts, args: string[]): Promise<number | void>;
}

export const bool = (long: string, short: string | undefined, help: string, hidden = false): OptionSpec => ({ long, short, type: 'boolean', help, hidden });
export const str = (long: string, short: string | undefined, help: string, multiple = false): OptionSpec => ({ long, short, type: 'string', help, multiple });

export async function engine(g: Globals) {
  const { EngineContext } = await import('../engine/context');
  return new EngineContext({ graphRoot: g.root, runRoot: g.runroot });
}

/** Runs fn for every name (rm of volumes, networks, ...); the first failure's exit code is the command's (Podman: 1 missing, 2 in use). */
export async function eachName(names: string[], fn: (name: string) => Promise<void> | void): Promise<void> {
  let failure: { code: number; message: string } | undefined;
  for (const n of names) {
    try {
      await fn(n);
    } catch (err) {
      if (failure) process.stderr.write(`Error: ${failure.message}\n`);
      failure = { code: (err as { exitCode?: number }).exitCode ?? 125, message: (err as Error).message };
    }
  }
  if (failure) throw new ExitError(failure.code, `Error: ${failure.message}`);
}

export function print(text: string): void {
  if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

/** Commands that change storage run inside the session namespace. */
export async function needSession(): Promise<void> {
  const { inSession, createSession, reexecInSession } = await import('../userns/session');
  if (inSession()) {
    // Not handed on to what we start (conmon's exit command re-enters on its own).
    delete process.env.SELKIE_REEXECED;
    return;
  }
  createSession((msg) => process.stderr.write(`WARN[0000] ${msg}\n`));
  throw new ExitError(await reexecInSession());
}

export const FORMAT = str('format', undefined, 'pretty-print with a Go template, or json');
export const FORMAT_F = str('format', 'f', 'pretty-print with a Go template, or json');


/** `selkie image X`, `selkie container X`: Podman's group names for commands. */
export type GroupTable = Record<string, Record<string, { command: string; extra?: string[] }>>;
