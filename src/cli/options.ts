// Option helpers shared by the command definitions.
import type { Command } from 'commander';

/** Collects a repeatable option (-e A -e B) into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The global options every command sees (selkie --root X run ...). */
export interface GlobalOptions {
  root?: string;
  runroot?: string;
}

export function globals(cmd: Command): GlobalOptions {
  let top: Command = cmd;
  while (top.parent) top = top.parent;
  return top.opts() as GlobalOptions;
}
