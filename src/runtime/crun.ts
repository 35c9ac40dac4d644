// Calling the OCI runtime.  crun runs as root of the session namespace and
// creates the container's own user namespace from the spec's mappings: run
// inside a namespace whose root is not the session's root, crun could not
// reach a bundle under the user's private directories (see DESIGN.md).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const RUNTIME = process.env.SELKIE_RUNTIME || '/usr/bin/crun';

/** Global options: cgroups are off (rootless cgroup v1 cannot be used at all). */
export function runtimeArgs(root: string, log?: string): string[] {
  const args = ['--cgroup-manager=disabled', `--root=${root}`];
  if (log) args.push(`--log=${log}`, '--log-format=json');
  return args;
}

export function runArgs(root: string, bundle: string, id: string, pidFile: string, log: string): string[] {
  return [...runtimeArgs(root, log), 'run', `--bundle=${bundle}`, `--pid-file=${pidFile}`, id];
}

/** The error messages crun wrote to its JSON log (one object per line). */
export function runtimeErrors(log: string): string[] {
  if (!existsSync(log)) return [];
  const out: string[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.level === 'error' && entry.msg) out.push(entry.msg);
    } catch {
      out.push(line.trim());
    }
  }
  return out;
}

/** Kills and forgets a container crun may still know (after a killed selkie). */
export function forceDelete(root: string, id: string): void {
  if (!existsSync(`${root}/${id}`)) return;
  spawnSync(RUNTIME, [...runtimeArgs(root), 'delete', '--force', id], { stdio: 'ignore' });
}

export function runtimeVersion(): string | undefined {
  const r = spawnSync(RUNTIME, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0] : undefined;
}

/** `crun start`: runs the process of a created container. */
export function startContainer(root: string, id: string, log: string): { ok: boolean; stderr: string } {
  const r = spawnSync(RUNTIME, [...runtimeArgs(root, log), 'start', id], { encoding: 'utf8' });
  return { ok: r.status === 0, stderr: (r.stderr ?? '').trim() };
}

/** `crun kill`: false when the container is gone already. */
export function killContainer(root: string, id: string, signal: string): boolean {
  const r = spawnSync(RUNTIME, [...runtimeArgs(root), 'kill', id, signal], { stdio: 'ignore' });
  return r.status === 0;
}
